// Internal to runtime/spec: the closed sets of names config.json may use. A name outside them is a
// parse error, so a typo ("CAP_SYS_ADMN") fails at load time instead of silently granting less.
#pragma once

#include <array>
#include <string_view>

namespace ctb::spec::detail {

// In kernel order (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40), so index == capability number.
inline constexpr std::array<std::string_view, 41> kCapabilities = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",    "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",         "CAP_KILL",            "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",      "CAP_NET_RAW",         "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",       "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",   "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",          "CAP_AUDIT_WRITE",     "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",   "CAP_MAC_ADMIN",       "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",      "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

inline constexpr std::array<std::string_view, 8> kNamespaceTypes = {
    "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time",
};

inline constexpr std::array<std::string_view, 16> kRlimits = {
    "RLIMIT_AS",     "RLIMIT_CORE",       "RLIMIT_CPU",   "RLIMIT_DATA",   "RLIMIT_FSIZE",
    "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE",
    "RLIMIT_NPROC",  "RLIMIT_RSS",        "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING",
    "RLIMIT_STACK",
};

// clock_gettime(2) clocks a time namespace can offset (time_namespaces(7)).
inline constexpr std::array<std::string_view, 2> kTimeOffsetClocks = {"monotonic", "boottime"};

inline constexpr std::array<std::string_view, 8> kRootfsPropagation = {
    "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable",
};

inline constexpr std::array<std::string_view, 4> kDeviceTypes = {"c", "b", "u", "p"};
inline constexpr std::array<std::string_view, 3> kDeviceRuleTypes = {"a", "c", "b"};

inline constexpr std::array<std::string_view, 9> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
};

inline constexpr std::array<std::string_view, 7> kSeccompOperators = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

inline constexpr std::array<std::string_view, 23> kSeccompArchitectures = {
    "SCMP_ARCH_X86",      "SCMP_ARCH_X86_64",  "SCMP_ARCH_X32",        "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",  "SCMP_ARCH_MIPS",    "SCMP_ARCH_MIPS64",     "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",    "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",       "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",   "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",   "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",     "SCMP_ARCH_SH",      "SCMP_ARCH_SHEB",
};

inline constexpr std::array<std::string_view, 4> kSeccompFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

}  // namespace ctb::spec::detail
