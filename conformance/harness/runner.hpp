// Runs selected conformance cases. Each case body runs in its own child process with a deadline,
// so a hung or crashing case becomes an `error` outcome instead of taking the run down.
//
// A case killed at its deadline (or dying without a verdict) cannot clean up after itself: what
// it started is swept at once, before the next case runs. While a case runs, this process is a
// child subreaper, so whatever the case child leaves behind (a runtime CLI, a container init it
// was subreaper of) is reparented here; the runner kills and reaps those, then calls
// RunSettings::sweep_after_error for the host objects (cgroups, state, mounts, links...).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "conformance/harness/registry.hpp"

namespace ctb::conformance {

struct Selection {
    std::vector<std::string> areas;  // empty: every area
    std::optional<std::regex> filter;
    std::optional<std::regex> skip;
};

std::vector<const Case*> select(const Selection& selection);

struct RunSettings {
    std::optional<std::chrono::milliseconds> timeout;  // overrides each case's own deadline
    std::string runtime = "ctbench";
    // Called when a case body ended without a verdict (killed at its deadline, crashed, exited
    // or threw without one), after the runner killed the processes it left: removes what the
    // case left on the host and describes each removal as "<kind> <object>[: <why it failed>]"
    // (e.g. "cgroup /sys/fs/cgroup/pids/ctbench/ctbc-12-0"). Those descriptions and the killed
    // processes go into the case's evidence ("swept") and, counted by kind, into its reason.
    // Unset: only the processes are killed.
    std::function<std::vector<std::string>()> sweep_after_error;
    // Progress: called before each case (its id) and after it (its result). Optional.
    std::function<void(const std::string&)> on_start;
    std::function<void(const report::CaseResult&)> on_result;
};

report::CaseResult run_case(const Case& c, const report::HostProbe& host, const RunSettings& settings);
std::vector<report::CaseResult> run_cases(const std::vector<const Case*>& cases, const report::HostProbe& host,
                                          const RunSettings& settings);

}  // namespace ctb::conformance
