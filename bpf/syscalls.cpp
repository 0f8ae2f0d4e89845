#include "bpf/syscalls.hpp"

#include <sched.h>
#include <sys/syscall.h>

#include <algorithm>
#include <array>
#include <map>

namespace ctb::bpf {
namespace {

struct Known {
    const char* name;
    long nr;
    Phase phase;
};

// Only the calls that matter for a start; everything else is runtime_syscalls.
const std::vector<Known>& known() {
    static const std::vector<Known> all{
        {"clone", SYS_clone, Phase::process}, {"clone3", SYS_clone3, Phase::process},
        {"fork", SYS_fork, Phase::process}, {"vfork", SYS_vfork, Phase::process},
        {"unshare", SYS_unshare, Phase::namespaces}, {"setns", SYS_setns, Phase::namespaces},
        {"mount", SYS_mount, Phase::mounts}, {"umount2", SYS_umount2, Phase::mounts},
        {"pivot_root", SYS_pivot_root, Phase::mounts}, {"chroot", SYS_chroot, Phase::mounts},
        {"open_tree", SYS_open_tree, Phase::mounts}, {"move_mount", SYS_move_mount, Phase::mounts},
        {"fsopen", SYS_fsopen, Phase::mounts}, {"fsconfig", SYS_fsconfig, Phase::mounts},
        {"fsmount", SYS_fsmount, Phase::mounts}, {"fspick", SYS_fspick, Phase::mounts},
        {"mount_setattr", SYS_mount_setattr, Phase::mounts},
        {"seccomp", SYS_seccomp, Phase::security}, {"prctl", SYS_prctl, Phase::security},
        {"capset", SYS_capset, Phase::security}, {"capget", SYS_capget, Phase::security},
        {"setgroups", SYS_setgroups, Phase::security}, {"setuid", SYS_setuid, Phase::security},
        {"setgid", SYS_setgid, Phase::security}, {"setreuid", SYS_setreuid, Phase::security},
        {"setregid", SYS_setregid, Phase::security}, {"setresuid", SYS_setresuid, Phase::security},
        {"setresgid", SYS_setresgid, Phase::security}, {"setfsuid", SYS_setfsuid, Phase::security},
        {"setfsgid", SYS_setfsgid, Phase::security}, {"keyctl", SYS_keyctl, Phase::security},
        {"add_key", SYS_add_key, Phase::security},
        {"landlock_create_ruleset", SYS_landlock_create_ruleset, Phase::security},
        // Container runtimes call bpf() for the cgroup v2 device filter.
        {"bpf", SYS_bpf, Phase::cgroups},
        {"execve", SYS_execve, Phase::exec}, {"execveat", SYS_execveat, Phase::exec},
        {"wait4", SYS_wait4, Phase::wait}, {"waitid", SYS_waitid, Phase::wait},
    };
    return all;
}

constexpr std::array<long, 24> kWaitingCalls{
    SYS_wait4, SYS_waitid, SYS_read, SYS_readv, SYS_recvfrom, SYS_recvmsg, SYS_poll, SYS_ppoll,
    SYS_select, SYS_pselect6, SYS_epoll_wait, SYS_epoll_pwait, SYS_futex, SYS_nanosleep,
    SYS_clock_nanosleep, SYS_pause, SYS_rt_sigsuspend, SYS_rt_sigtimedwait, SYS_accept, SYS_accept4,
    SYS_epoll_pwait2, SYS_recvmmsg, SYS_msgrcv, SYS_semop};

// ld.so (openat/read/mmap/mprotect of every library), libc init (set_tid_address, rseq, ...),
// and the signal set-up language runtimes (Go) do before main.
constexpr std::array<long, 27> kStartupCalls{
    SYS_execve, SYS_execveat, SYS_brk, SYS_arch_prctl, SYS_mmap, SYS_mprotect, SYS_munmap, SYS_openat,
    SYS_open, SYS_read, SYS_pread64, SYS_close, SYS_fstat, SYS_newfstatat, SYS_statx, SYS_access,
    SYS_faccessat2, SYS_set_tid_address, SYS_set_robust_list, SYS_rseq, SYS_prlimit64, SYS_getrandom,
    SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_sigaltstack, SYS_sched_getaffinity, SYS_gettid};

}  // namespace

const std::map<long, std::string>& generated_syscall_names();  // syscall_names.cpp, generated

const char* phase_name(Phase p) {
    switch (p) {
        case Phase::startup: return "startup";
        case Phase::runtime_user: return "runtime_user";
        case Phase::runtime_syscalls: return "runtime_syscalls";
        case Phase::process: return "process";
        case Phase::namespaces: return "namespaces";
        case Phase::cgroups: return "cgroups";
        case Phase::mounts: return "mounts";
        case Phase::security: return "security";
        case Phase::network: return "network";
        case Phase::exec: return "exec";
        case Phase::container: return "container";
        case Phase::wait: return "wait";
    }
    return "?";
}

const std::vector<Phase>& all_phases() {
    static const std::vector<Phase> all{Phase::startup,  Phase::runtime_user, Phase::runtime_syscalls,
                                        Phase::process,  Phase::namespaces,   Phase::cgroups,
                                        Phase::mounts,   Phase::security,     Phase::network,
                                        Phase::exec,     Phase::container,    Phase::wait};
    return all;
}

Phase syscall_phase(long nr) {
    for (const auto& k : known())
        if (k.nr == nr) return k.phase;
    return Phase::runtime_syscalls;
}

bool waits_for_others(long nr) { return std::find(kWaitingCalls.begin(), kWaitingCalls.end(), nr) != kWaitingCalls.end(); }
bool startup_syscall(long nr) { return std::find(kStartupCalls.begin(), kStartupCalls.end(), nr) != kStartupCalls.end(); }
bool is_exec(long nr) { return nr == SYS_execve || nr == SYS_execveat; }
bool is_clone(long nr) { return nr == SYS_clone || nr == SYS_clone3; }

long syscall_number(const std::string& name) {
    for (const auto& [nr, n] : generated_syscall_names())
        if (n == name) return nr;
    return -1;
}

std::string syscall_name(long nr) {
    const auto& names = generated_syscall_names();
    auto it = names.find(nr);
    return it == names.end() ? "sys_" + std::to_string(nr) : it->second;
}

std::vector<long> fd_first_argument_syscalls() {
    return {SYS_read, SYS_write, SYS_close, SYS_fstat, SYS_lseek, SYS_pread64, SYS_pwrite64, SYS_readv,
            SYS_writev, SYS_ioctl, SYS_fcntl, SYS_fsync, SYS_fdatasync, SYS_ftruncate, SYS_getdents64,
            SYS_fchmod, SYS_fchown, SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg, SYS_bind,
            SYS_connect, SYS_setsockopt, SYS_getsockopt, SYS_sendmmsg, SYS_recvmmsg, SYS_mkdirat,
            SYS_unlinkat, SYS_openat, SYS_fchdir, SYS_newfstatat, SYS_fchmodat, SYS_fchownat, SYS_renameat2,
            SYS_openat2, SYS_fsconfig, SYS_statx};
}

std::vector<long> fd_returning_syscalls() {
    return {SYS_open, SYS_openat, SYS_openat2, SYS_socket, SYS_accept4, SYS_fsopen, SYS_fsmount, SYS_open_tree};
}

bool has_namespace_flags(std::uint64_t flags) {
    constexpr std::uint64_t all = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                  CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME;
    return (flags & all) != 0;
}

std::string namespace_flags_text(std::uint64_t flags) {
    static const std::vector<std::pair<std::uint64_t, const char*>> names{
        {CLONE_NEWUSER, "user"}, {CLONE_NEWNS, "mnt"},  {CLONE_NEWUTS, "uts"},       {CLONE_NEWIPC, "ipc"},
        {CLONE_NEWPID, "pid"},   {CLONE_NEWNET, "net"}, {CLONE_NEWCGROUP, "cgroup"}, {CLONE_NEWTIME, "time"}};
    std::string out;
    for (const auto& [bit, name] : names)
        if (flags & bit) {
            if (!out.empty()) out += ",";
            out += name;
        }
    return out;
}

}  // namespace ctb::bpf
