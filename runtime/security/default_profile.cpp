// The default seccomp profile: Docker's default (moby profiles/seccomp/default.json) as it
// applies to a container with Docker's default capabilities, made static so that it can be
// handed as plain OCI linux.seccomp to any runtime (runc, crun, ours) and behave the same.
//
// What it promises (the conformance suite tests exactly this):
//   1. Allow-list: any syscall not listed below fails with EPERM (defaultAction SCMP_ACT_ERRNO,
//      defaultErrnoRet 1). Among those, by name: add_key, request_key, keyctl, bpf,
//      perf_event_open, clock_adjtime, clock_settime, settimeofday, create_module, init_module, finit_module, delete_module, kexec_load, kexec_file_load,
//      lookup_dcookie, mount, umount2, move_mount, open_tree, fsopen, fsconfig, fsmount, fspick,
//      mount_setattr, pivot_root, ptrace, process_vm_readv, process_vm_writev, kcmp,
//      pidfd_getfd, reboot, setns, unshare, sethostname, setdomainname, swapon, swapoff, syslog,
//      userfaultfd, acct, quotactl, open_by_handle_at, iopl, ioperm, vhangup,
//      io_uring_setup/enter/register (as Docker since 25.0: io_uring work escapes seccomp).
//      adjtimex stays allowed (libc's ntp_gettime reads through it; the kernel itself refuses
//      changes without CAP_SYS_TIME).
//   2. clone3 fails with ENOSYS, so libc falls back to clone(2), whose flags a filter can see.
//   3. clone with any of CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
//      (mask 0x7e020000) fails with EPERM; clone without them (fork, threads) works.
//      CLONE_NEWTIME cannot be filtered on clone (it shares bits with the exit signal) but needs
//      clone3 or unshare, both refused.
//   4. personality(p) is allowed only for p in {0 (PER_LINUX), 8 (PER_LINUX32), 0x20000
//      (UNAME26), 0x20008, 0xffffffff (query)}; any other persona fails with EPERM.
//   5. socket(AF_VSOCK, ...) fails with EPERM; other families reach the kernel.
//   6. Everyday syscalls work: read, write, openat, close, mmap, brk, futex, getpid, execve,
//      wait4, pipe2, dup3, poll, socket(AF_INET/AF_UNIX), setuid/capset (for su-like tools) ...
//   7. Architectures: on x86_64 the filter covers x86_64, x86 and x32; on aarch64, aarch64 and
//      arm. A syscall from any other ABI kills the thread.
// Choice about ptrace: Docker allows ptrace on kernels >= 4.8 (where seccomp re-checks after a
// tracer changes a syscall). We deny it, with process_vm_readv/writev: ctbench workloads never
// trace, and the promise then does not depend on the kernel version.
// Syscall names this libseccomp does not know are skipped when the filter is built (seccomp.hpp),
// so the list may name newer syscalls (fchmodat2, futex_wait, ...).
#include <cerrno>

#include "runtime/security/seccomp.hpp"

namespace ctb::security {
namespace {

// Docker's unconditional allow list, minus clock_adjtime(64) and io_uring_*, plus chroot
// (Docker allows it with CAP_SYS_CHROOT, one of the default capabilities) and a few newer,
// harmless syscalls.
const std::vector<std::string>& allowed_syscalls() {
    static const std::vector<std::string> names{
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset",
        "chdir", "chmod", "chown", "chown32", "chroot", "clock_getres", "clock_getres_time64", "clock_gettime",
        "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
        "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
        "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
        "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
        "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
        "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
        "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
        "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
        "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
        "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
        "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
        "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
        "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
        "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
        "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
        "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
        "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2",
        "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl",
        "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at",
        "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
        "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
        "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
        "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat",
        "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
        "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
        "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
        "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
        "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
        "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
        "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
        "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
        "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32",
        "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
        "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
        "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee",
        "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
        "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
        "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
        "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
        "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
    };
    return names;
}

// Syscalls that exist only on some architectures (Docker's "includes.arches" entries).
std::vector<std::string> arch_syscalls() {
#if defined(__x86_64__) || defined(__i386__)
    return {"arch_prctl", "modify_ldt"};
#elif defined(__aarch64__) || defined(__arm__)
    return {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"};
#elif defined(__powerpc64__)
    return {"sync_file_range2", "swapcontext"};
#elif defined(__s390x__)
    return {"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"};
#elif defined(__riscv)
    return {"riscv_flush_icache"};
#else
    return {};
#endif
}

std::vector<std::string> architectures() {
#if defined(__x86_64__)
    return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
    return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
    return {};  // the native architecture only
#endif
}

spec::SeccompSyscall allow(std::vector<std::string> names, std::vector<spec::SeccompArg> args = {}) {
    return spec::SeccompSyscall{std::move(names), "SCMP_ACT_ALLOW", std::nullopt, std::move(args)};
}

spec::SeccompArg arg(unsigned index, std::uint64_t value, const char* op, std::uint64_t value_two = 0) {
    return spec::SeccompArg{index, value, value_two, op};
}

// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
constexpr std::uint64_t kCloneNamespaceFlags = 0x7e020000;
constexpr std::uint64_t kAfVsock = 40;

#if defined(__s390__) || defined(__s390x__)
constexpr unsigned kCloneFlagsArg = 1;  // s390 swaps clone's first two arguments
#else
constexpr unsigned kCloneFlagsArg = 0;
#endif

}  // namespace

spec::Seccomp default_seccomp_profile() {
    spec::Seccomp profile;
    profile.default_action = "SCMP_ACT_ERRNO";
    profile.default_errno_ret = EPERM;
    profile.architectures = architectures();
    profile.syscalls.push_back(allow(allowed_syscalls()));
    if (auto names = arch_syscalls(); !names.empty()) profile.syscalls.push_back(allow(std::move(names)));
    profile.syscalls.push_back(allow({"socket"}, {arg(0, kAfVsock, "SCMP_CMP_NE")}));
    // One entry per persona, as Docker writes it, so every runtime reads the same meaning.
    for (std::uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
        profile.syscalls.push_back(allow({"personality"}, {arg(0, persona, "SCMP_CMP_EQ")}));
    // MASKED_EQ: (flags & value) == valueTwo, i.e. no namespace flag set.
    profile.syscalls.push_back(allow({"clone"}, {arg(kCloneFlagsArg, kCloneNamespaceFlags, "SCMP_CMP_MASKED_EQ", 0)}));
    profile.syscalls.push_back(spec::SeccompSyscall{{"clone3"}, "SCMP_ACT_ERRNO", ENOSYS, {}});
    return profile;
}

}  // namespace ctb::security
