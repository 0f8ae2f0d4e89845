// What each system call means for a container start: the phase it belongs to, whether it only
// waits for another task, whether the dynamic loader and language runtimes make it at start-up,
// and which calls take or return a file descriptor (so the kernel side looks up the file behind
// it). Syscall numbers are the build's own (<sys/syscall.h>), i.e. those of the traced kernel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ctb::bpf {

// Buckets of the start attribution, in report order. Every nanosecond of a sample's wall time
// ends in exactly one of them (or in `unattributed`, reported separately).
enum class Phase {
    startup,           // a runtime binary's exec, dynamic loader and language-runtime init
    runtime_user,      // runtime code on-CPU outside system calls (parsing, JSON, logic)
    runtime_syscalls,  // other kernel work of the runtime: files, state, pipes, memory
    process,           // fork/vfork/clone without new namespaces (helpers, threads)
    namespaces,        // clone/clone3/unshare/setns with namespace flags
    cgroups,           // cgroupfs mkdir/rmdir/writes/opens, cgroup attach, device programs
    mounts,            // mount, the new mount API, pivot_root, chroot, umount2
    security,          // seccomp, prctl, capset, setgroups/setuid..., keyrings
    network,           // netlink sockets and their traffic (links, addresses, routes)
    exec,              // execve of the container's process
    container,         // the container's process running (and exiting)
    wait,              // wait4/waitid for the container's process
};
inline constexpr int kPhaseCount = 12;
const char* phase_name(Phase p);
const std::vector<Phase>& all_phases();

// Phase of syscall `nr` before anything else is known (its arguments and files refine it).
Phase syscall_phase(long nr);
// Whether blocking in `nr` only means waiting for another task (wait4, futex, poll, pipe reads):
// such a task is the last candidate for the wall time when others are busy.
bool waits_for_others(long nr);
// Calls made by the dynamic loader and language runtimes before a program's own code runs.
bool startup_syscall(long nr);
bool is_exec(long nr);
bool is_clone(long nr);  // clone, clone3 (namespace or process by their flags)
long syscall_number(const std::string& name);  // -1 when unknown
std::string syscall_name(long nr);

// For the kernel side: which calls take a descriptor as first argument / return one.
std::vector<long> fd_first_argument_syscalls();
std::vector<long> fd_returning_syscalls();

// Filesystem magics (linux/magic.h) the attribution cares about.
inline constexpr std::uint64_t kCgroupMagic = 0x27e0eb;
inline constexpr std::uint64_t kCgroup2Magic = 0x63677270;
inline constexpr std::uint32_t kAfNetlink = 16;

// "pid,net,mnt" for the CLONE_NEW* bits of `flags` ("" when none).
std::string namespace_flags_text(std::uint64_t flags);
bool has_namespace_flags(std::uint64_t flags);

}  // namespace ctb::bpf
