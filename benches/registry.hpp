// The benchmark registry: each bench declares its area, what the host must offer, and a body that
// measures its own baseline in the same run and returns results with ratios against it.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "reports/model.hpp"
#include "reports/requirements.hpp"

namespace ctb::bench {

struct BenchContext {
    const report::HostProbe& host;
    std::string runtime;  // runtime under test
    int repetitions = 0;  // 0: the bench's own default
    bool thorough = false;  // sizes for real hardware instead of the quick profile
    // Where the start benches keep the runtimes' state, bundles and overlay dirs: "tmpfs" (a
    // private tmpfs, as /run is on systemd hosts) or "host" (the host's /run/ctbench as it is).
    std::string state_fs = "tmpfs";
};

struct Bench {
    std::string name;  // "start.lifecycle"; the area is the first component
    std::string description;
    std::vector<Requirement> needs;
    // Returns every measured series (the subject and its baselines) or the reason it could not run.
    // Runs in its own child (benches/harness/runner.hpp): it may unshare, mount and fork freely.
    std::function<Result<std::vector<report::BenchResult>>(const BenchContext&)> body;
    std::chrono::milliseconds timeout{std::chrono::minutes(10)};
    // Uses the eBPF start tracer when the host can (Requirement::Kind::bpf_tracing); runs
    // untraced otherwise, and `--list` says why.
    bool traced = false;

    std::string area() const { return name.substr(0, name.find('.')); }
};

std::vector<Bench>& registry();
// Bench areas, in report order, whether or not any bench is registered yet.
const std::vector<std::string>& areas();

#define CTB_BENCH_CONCAT_INNER(a, b) a##b
#define CTB_BENCH_CONCAT(a, b) CTB_BENCH_CONCAT_INNER(a, b)

struct Registrar {
    explicit Registrar(Bench b) { registry().push_back(std::move(b)); }
};

}  // namespace ctb::bench

#define CTB_BENCH(...) \
    static ::ctb::bench::Registrar CTB_BENCH_CONCAT(ctb_bench_, __LINE__){::ctb::bench::Bench{__VA_ARGS__}}
