// The bench runner, mirroring the conformance runner: select by area and --filter/--skip, decide
// skips from declared requirements before anything runs, run each bench in its own child under a
// deadline (common/isolated.hpp), and sweep what a killed or crashed bench left on the host.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "benches/registry.hpp"

namespace ctb::bench {

struct Selection {
    std::vector<std::string> areas;  // empty: every area
    std::optional<std::regex> filter;
    std::optional<std::regex> skip;
};

// Selected benches in registry order.
std::vector<const Bench*> select(const Selection& selection);

struct RunSettings {
    std::string runtime = "ctbench";
    int repetitions = 0;                               // 0: each bench's own default
    std::optional<std::chrono::milliseconds> timeout;  // overrides each bench's own deadline
    bool thorough = false;                             // the --thorough profile (real hardware sizes)
    std::string state_fs = "tmpfs";                    // BenchContext::state_fs
    // As in conformance::RunSettings: removes what a bench that delivered nothing left behind.
    std::function<std::vector<std::string>()> sweep_after_error;
    // Progress: called before each bench with its name, after it with how many series it gave
    // and, when it did not run, why.
    std::function<void(const std::string&)> on_start;
    std::function<void(const std::string& name, std::size_t series, const std::string& not_run)> on_done;
};

struct Outcome {
    std::vector<report::BenchResult> results;
    std::vector<report::BenchSkip> not_run;  // skipped up front (error=false) or broken (error=true)
};

Outcome run_benches(const std::vector<const Bench*>& benches, const report::HostProbe& host,
                    const RunSettings& settings);

}  // namespace ctb::bench
