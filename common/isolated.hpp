// One body in its own child, with a deadline, and a sweep of whatever it leaves when it dies
// without finishing. The conformance runner (one case per child) and the bench runner (one bench
// per child) share this, so a hung or crashing case or bench never takes the run down and never
// leaves host objects behind.
//
// While the body runs, this process is a child subreaper: what the dead child leaves running (a
// runtime CLI, a container init it was subreaper of) is reparented here and killed by pid; then
// `sweep` removes host objects (cgroups, state, mounts, links...) by the naming rules.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb {

struct IsolatedRun {
    Result<std::string> output;       // what the body returned, or why it delivered nothing
    std::vector<std::string> swept;   // "process 12 (runc)", "cgroup /sys/fs/...", ...: what was removed
};

// `sweep` is called only when the body delivered nothing (killed at the deadline, crashed, threw);
// it returns one "<kind> <object>[: <why removal failed>]" per object it removed. May be empty.
IsolatedRun run_isolated(const std::function<std::string()>& body, std::chrono::milliseconds timeout,
                         const std::function<std::vector<std::string>()>& sweep);

// "2 processes, 5 cgroups, 1 state" (counted by the first word of each entry, in order).
std::string summarize_swept(const std::vector<std::string>& swept);

}  // namespace ctb
