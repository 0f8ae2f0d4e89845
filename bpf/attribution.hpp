// Start attribution: turns the start tracer's event stream for one sample into phase buckets.
//
// The model. Between two consecutive events every traced task is in a known state: alive or
// gone; on-CPU or off it (blocked, or preempted and waiting for a CPU); inside a system call
// (which one, classified into a phase by its number, arguments, the file behind its descriptor
// and the cgroup tracepoints that fired in it) or in user space. The wall time of each such
// interval goes to the tasks that hold the start up, in this order of preference:
//   1. tasks on a CPU;
//   2. tasks off-CPU in a call that does real work (blocked in mount, rmdir, exec, preempted...);
//   3. tasks blocked only waiting for another task (wait4, futex, poll, pipe reads).
// Tasks tied at the best level share the interval equally, so the buckets sum to the window.
// Time with no traced task in a known state is `unattributed`.
//
// Which phase a task's time is in: after the exec of the container's process (an exec by a task
// in a deeper pid namespace than the traced root), everything the task and its children do is
// `container`, except the rest of that exec itself (`exec`). Before: the phase of its current
// system call, or `runtime_user` in user space; from the exec of a runtime binary until its first
// system call the loader would not make, everything is `startup`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bpf/start_trace.h"
#include "bpf/syscalls.hpp"

namespace ctb::bpf {

// Now on CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns: what Window's bounds are measured in.
std::uint64_t monotonic_ns();

struct Window {
    std::uint64_t begin_ns = 0, end_ns = 0;  // CLOCK_MONOTONIC, as bpf_ktime_get_ns
    std::uint32_t root_tid = 0;              // on-CPU in user space at begin_ns
};

struct Bucket {
    double on_cpu_ns = 0, blocked_ns = 0;
    std::map<int, double> blocked_by_stack;  // stack id (in the tracer's stack map) -> ns; -1 unknown
    double total() const { return on_cpu_ns + blocked_ns; }
};

struct Attribution {
    std::map<Phase, Bucket> phases;
    double unattributed_ns = 0;
    double window_ns = 0;
    std::map<std::string, double> namespace_ops;  // "clone3(pid,net)" -> ns spent in such calls
    std::map<std::string, double> blocked_reasons;  // "preempted", "sleep", "disk" -> ns
    std::map<std::string, double> runtime_calls;    // runtime_syscalls by call name: "openat" -> ns
    std::uint64_t events = 0;  // events inside the window
    int tasks = 0;             // traced tasks seen in the window

    double attributed_ns() const;
};

// `events` in any order (they are sorted by time); events outside the window are ignored.
Attribution attribute(std::vector<ctb_event> events, const Window& window);

}  // namespace ctb::bpf
