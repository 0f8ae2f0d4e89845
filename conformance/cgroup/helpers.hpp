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
#include "conformance/harness/adapter.hpp"
#include "conformance/harness/registry.hpp"
#include "runtime/cgroups/manager.hpp"

namespace ctb::conformance::cgroup_cases {

using json = nlohmann::json;
using K = Requirement::Kind;

inline constexpr const char* kAgent = "/usr/bin/ctbench-agent";
// What a script prints once its measurements are done (the container then stays alive).
inline constexpr const char* kDoneMarker = "ctbench-script-done";

// A request for `s` with the adapter's defaults (timeout, no extra layers).
RunRequest request_for(spec::Spec s);
// The spec's linux.resources, created if absent.
spec::Resources& resources(spec::Spec& s);
// A container whose process is /bin/sh -c SCRIPT (busybox of the embedded image).
spec::Spec shell_spec(const std::string& script);
// SCRIPT, then the done marker, then the init stays alive (an agent sleep) so that the cgroup
// and its counters exist until the case deletes the container.
std::string script_then_hold(const std::string& script);

// A runtime failure as a verdict: skip when the runtime says the host lacks (or has not
// delegated) a controller, error otherwise (the case's setup broke).
Verdict runtime_failure(const std::string& step, const Error& e);

// "" when the host can run a case that uses one of `names` (v1 name, v2 name: "blkio", "io"),
// else the probe's reason for the first name.
std::string any_controller_gap(const report::HostProbe& host, const std::vector<std::string>& names);
// "v1", "v2" or "none": where the probe found the controller.
std::string hierarchy_of(const report::HostProbe& host, const std::string& controller);

// The container's cgroup directory on the host for `controller` (for a v2 controller, or
// controller "", the unified directory), found from /proc/<pid>/cgroup: whatever path the
// runtime chose, this is where the kernel put the process.
Result<std::string> cgroup_dir(const report::HostProbe& host, pid_t pid, const std::string& controller);
// The container's cgroup through the reference runtime's manager (freeze, memory events).
// Refuses a cgroup outside a ctbench directory: the case never touches what it did not create.
Result<std::unique_ptr<cgroup::Manager>> open_cgroup(pid_t pid);

// Waits (bounded) until the container's stdout contains `marker` or its init exits, and returns
// the output so far (status -1 while the init still runs).
Result<RunOutput> wait_for_output(RunningContainer& c, const std::string& marker, std::chrono::milliseconds timeout);

// "key value" lines (memory.events, memory.oom_control, cpu.stat).
std::map<std::string, std::uint64_t> parse_keyed(const std::string& text);
// The value of a "key=value" line of a script's output.
std::optional<std::string> line_value(const std::string& text, const std::string& key);
std::optional<long> line_int(const std::string& text, const std::string& key);
// Every line of text that parses as a JSON object, in order.
std::vector<json> json_lines(const std::string& text);

// CPU time a host process has used, in seconds (ns precision from /proc/<pid>/schedstat, clock
// ticks from /proc/<pid>/stat when schedstats are not built).
Result<double> cpu_seconds(pid_t pid);

}  // namespace ctb::conformance::cgroup_cases
