// /proc/<pid>/stat, parsed once for everyone: cleanup, the conformance runner, runtime state and
// proxies all ask "is it alive, who is its parent, is it still the process we started?".
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace ctb {

struct ProcStat {
    std::string comm;                   // field 2, without the parentheses
    char state = '?';                   // field 3: R, S, D, Z, X ...
    pid_t ppid = 0;                     // field 4
    unsigned long long start_time = 0;  // field 22, clock ticks since boot: tells a recycled pid apart
    // A zombie (or dead) task has exited; only its parent's wait is left.
    bool exited() const { return state == 'Z' || state == 'X'; }
};

// nullopt when the process is gone (or the file cannot be parsed).
std::optional<ProcStat> read_proc_stat(pid_t pid);

}  // namespace ctb
