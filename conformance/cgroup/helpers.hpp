// Shared by the cgroup conformance cases: containers that run a shell script and stay alive (so
// their cgroup can be read on the host after the interesting part), finding a container's cgroup
// from /proc/<pid>/cgroup (works for any runtime), and small parsers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "conformance/harness/kit.hpp"

namespace ctb::conformance::cgroup_cases {

// What a script prints once its measurements are done (the container then stays alive).
inline constexpr const char* kDoneMarker = "ctbench-script-done";

// A request for `s` with the adapter's defaults (timeout, no extra layers).
RunRequest request_for(spec::Spec s);
// The spec's linux.resources, created if absent.
spec::Resources& resources(spec::Spec& s);
// SCRIPT, then the done marker, then the init stays alive (an agent sleep) so that the cgroup
// and its counters exist until the case deletes the container.
std::string script_then_hold(const std::string& script);

// A runtime failure as a verdict: skip when the runtime says the host lacks (or has not
// delegated) a controller, error otherwise (the case's setup broke).
Verdict runtime_failure(const std::string& step, const Error& e);

// "v1", "v2" or "none": where the probe found the controller.
std::string hierarchy_of(const report::HostProbe& host, const std::string& controller);

// The container's cgroup directory on the host for `controller` (for a v2 controller, or
// controller "", the unified directory), found from /proc/<pid>/cgroup: whatever path the
// runtime chose, this is where the kernel put the process.
Result<std::string> cgroup_dir(const report::HostProbe& host, pid_t pid, const std::string& controller);

// Waits (bounded) until the container's stdout contains `marker` or its init exits, and returns
// the output so far (status -1 while the init still runs).
Result<RunOutput> wait_for_output(RunningContainer& c, const std::string& marker, std::chrono::milliseconds timeout);

// "key value" lines (memory.events, memory.oom_control, cpu.stat).
std::map<std::string, std::uint64_t> parse_keyed(const std::string& text);
// The value of a "key=value" line of a script's output.
std::optional<std::string> line_value(const std::string& text, const std::string& key);
std::optional<long> line_int(const std::string& text, const std::string& key);

// CPU time a host process has used, in seconds (ns precision from /proc/<pid>/schedstat, clock
// ticks from /proc/<pid>/stat when schedstats are not built).
Result<double> cpu_seconds(pid_t pid);

}  // namespace ctb::conformance::cgroup_cases
