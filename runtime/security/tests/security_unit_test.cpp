// Unit tests for the security module: parsing, validation and seccomp filter building. Nothing
// here changes the test process (filters are exported as text, never loaded), so no root needed.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "common/child.hpp"
#include "runtime/security/capabilities.hpp"
#include "runtime/security/rlimits.hpp"
#include "runtime/security/seccomp.hpp"
#include "runtime/security/security.hpp"

using namespace ctb;
using namespace ctb::security;

namespace {

// The PFC text of one architecture's section, from its header to its default action.
std::string arch_section(const std::string& pfc, const std::string& arch) {
    auto start = pfc.find("# filter for arch " + arch + " (");
    if (start == std::string::npos) return {};
    auto end = pfc.find("# default action", start);
    return pfc.substr(start, end - start);
}

bool mentions_syscall(const std::string& section, const std::string& name) {
    return section.find("# filter for syscall \"" + name + "\"") != std::string::npos;
}

// The action line that follows the syscall's header, e.g. "action ERRNO(38);".
std::string first_action_of(const std::string& section, const std::string& name) {
    auto at = section.find("# filter for syscall \"" + name + "\"");
    if (at == std::string::npos) return {};
    auto action = section.find("action ", at);
    return section.substr(action, section.find(';', action) - action);
}

std::string pfc_of(const spec::Seccomp& profile) {
    auto filter = build_seccomp_filter(profile);
    if (!filter) return "build failed: " + filter.error().message();
    auto pfc = export_seccomp_pfc(*filter);
    return pfc ? *pfc : "export failed: " + pfc.error().message();
}

spec::Seccomp allow_all_but(spec::SeccompSyscall rule) {
    spec::Seccomp profile;
    profile.default_action = "SCMP_ACT_ALLOW";
    profile.syscalls.push_back(std::move(rule));
    return profile;
}

std::string build_error(const spec::Seccomp& profile) {
    auto filter = build_seccomp_filter(profile);
    return filter ? std::string("no error") : filter.error().object;
}

}  // namespace

TEST(Capabilities, ParsesSpecNames) {
    auto caps = parse_capabilities({"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"}, "f");
    ASSERT_TRUE(caps) << caps.error().message();
    EXPECT_EQ(*caps, (std::vector<cap_value_t>{CAP_CHOWN, CAP_SYS_ADMIN, CAP_NET_BIND_SERVICE}));
}

TEST(Capabilities, UnknownNameNamesFieldAndIndex) {
    auto caps = parse_capabilities({"CAP_CHOWN", "CAP_NOT_A_THING"}, "process.capabilities.bounding");
    ASSERT_FALSE(caps);
    EXPECT_EQ(caps.error().object, "process.capabilities.bounding[1]");
    EXPECT_NE(caps.error().message().find("CAP_NOT_A_THING"), std::string::npos);
}

TEST(Capabilities, RejectsNumbersAndLowerCase) {
    EXPECT_FALSE(parse_capabilities({"12"}, "f"));
    EXPECT_FALSE(parse_capabilities({"cap_chown"}, "f"));
    EXPECT_FALSE(parse_capabilities({"CHOWN"}, "f"));
    // The built-in spellings are libcap's names, upper case.
    for (std::size_t cap = 0; cap < kCapabilityNames.size(); ++cap) {
        char* name = ::cap_to_name(static_cast<cap_value_t>(cap));
        ASSERT_NE(name, nullptr);
        std::string upper(name);
        ::cap_free(name);
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        EXPECT_EQ(kCapabilityNames[cap], upper) << cap;
    }
    // libcap's cap_from_name takes these as CAP_CHOWN / CAP_SYS_ADMIN: the spec's spelling only.
    EXPECT_FALSE(parse_capabilities({"CAP_CHOWN,CAP_KILL"}, "f"));
    EXPECT_FALSE(parse_capabilities({"CAP_SYS_ADMIN2"}, "f"));
    EXPECT_FALSE(parse_capabilities({"CAP_CHOWN+e"}, "f"));
}

TEST(Capabilities, SetErrorsNameTheSet) {
    spec::Capabilities caps;
    caps.ambient = {"CAP_KILL", "CAP_BOGUS"};
    auto sets = parse_capability_sets(caps);
    ASSERT_FALSE(sets);
    EXPECT_EQ(sets.error().object, "process.capabilities.ambient[1]");
}

TEST(Capabilities, DefaultIsDockers14) {
    auto caps = default_capabilities();
    EXPECT_EQ(caps.bounding.size(), 14u);
    EXPECT_EQ(caps.effective, caps.bounding);
    EXPECT_EQ(caps.permitted, caps.bounding);
    EXPECT_TRUE(caps.inheritable.empty());
    EXPECT_TRUE(caps.ambient.empty());
    auto sets = parse_capability_sets(caps);
    ASSERT_TRUE(sets) << sets.error().message();
    EXPECT_EQ(std::ranges::count(sets->bounding, CAP_SYS_ADMIN), 0);
    EXPECT_EQ(std::ranges::count(sets->bounding, CAP_NET_BIND_SERVICE), 1);
}

TEST(Rlimits, AllSixteenNamesMap) {
    const std::vector<std::pair<std::string, int>> expected{
        {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},     {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK}};
    ASSERT_EQ(expected.size(), static_cast<std::size_t>(RLIMIT_NLIMITS));
    for (const auto& [name, value] : expected) {
        auto resource = rlimit_resource(name);
        ASSERT_TRUE(resource) << name;
        EXPECT_EQ(*resource, value) << name;
    }
    EXPECT_FALSE(rlimit_resource("RLIMIT_BOGUS"));
    EXPECT_FALSE(rlimit_resource("nofile"));
}

TEST(Rlimits, CheckNamesTheEntry) {
    auto unknown = check_rlimits({{"RLIMIT_NOFILE", 10, 10}, {"RLIMIT_FOO", 1, 1}});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().object, "process.rlimits[1]");
    EXPECT_NE(unknown.error().message().find("RLIMIT_FOO"), std::string::npos);

    auto duplicate = check_rlimits({{"RLIMIT_NOFILE", 10, 10}, {"RLIMIT_CPU", 1, 1}, {"RLIMIT_NOFILE", 5, 5}});
    ASSERT_FALSE(duplicate);
    EXPECT_EQ(duplicate.error().object, "process.rlimits[2]");

    auto inverted = check_rlimits({{"RLIMIT_NOFILE", 10, 20}});  // hard 10 < soft 20
    ASSERT_FALSE(inverted);
    EXPECT_NE(inverted.error().message().find("soft 20 exceeds hard 10"), std::string::npos);

    EXPECT_TRUE(check_rlimits({{"RLIMIT_NOFILE", 1024, 512}, {"RLIMIT_CORE", UINT64_MAX, 0}}));
}

TEST(Rlimits, OomScoreAdjOutOfRangeIsRejectedBeforeWriting) {
    EXPECT_FALSE(set_oom_score_adj(0, 1001));
    EXPECT_FALSE(set_oom_score_adj(0, -1001));
}

TEST(SeccompActions, Parse) {
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_KILL", std::nullopt, "f"), SCMP_ACT_KILL_THREAD);
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_KILL_PROCESS", std::nullopt, "f"), SCMP_ACT_KILL_PROCESS);
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_KILL_THREAD", std::nullopt, "f"), SCMP_ACT_KILL_THREAD);
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_TRAP", std::nullopt, "f"), SCMP_ACT_TRAP);
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_ALLOW", std::nullopt, "f"), SCMP_ACT_ALLOW);
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_LOG", std::nullopt, "f"), SCMP_ACT_LOG);
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_ERRNO", std::nullopt, "f"), SCMP_ACT_ERRNO(EPERM));
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_ERRNO", 42u, "f"), SCMP_ACT_ERRNO(42));
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_TRACE", std::nullopt, "f"), SCMP_ACT_TRACE(EPERM));
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_TRACE", 7u, "f"), SCMP_ACT_TRACE(7));
    EXPECT_EQ(*parse_seccomp_action("SCMP_ACT_NOTIFY", std::nullopt, "f"), SCMP_ACT_NOTIFY);
}

TEST(SeccompActions, ErrorsNameTheField) {
    // Every later system call of the runtime would wait for the agent: never the default.
    spec::Seccomp notify_all{"SCMP_ACT_NOTIFY", std::nullopt, {}, {}, {}, "/run/agent.sock", ""};
    auto notify = build_seccomp_filter(notify_all);
    ASSERT_FALSE(notify);
    EXPECT_EQ(notify.error().object, "linux.seccomp.defaultAction");
    EXPECT_NE(notify.error().detail.find("cannot be the default action"), std::string::npos);
    auto notify_errno = parse_seccomp_action("SCMP_ACT_NOTIFY", 1u, "linux.seccomp.syscalls[0]");
    ASSERT_FALSE(notify_errno);
    EXPECT_EQ(notify_errno.error().object, "linux.seccomp.syscalls[0].errnoRet");

    auto stray_errno = parse_seccomp_action("SCMP_ACT_ALLOW", 1u, "linux.seccomp.syscalls[2]");
    ASSERT_FALSE(stray_errno);
    EXPECT_EQ(stray_errno.error().object, "linux.seccomp.syscalls[2].errnoRet");

    EXPECT_FALSE(parse_seccomp_action("SCMP_ACT_ERRNO", 70000u, "f"));
}

TEST(SeccompBuild, UnknownActionNamesTheRule) {
    auto profile = allow_all_but({{"getpid"}, "SCMP_ACT_ERRNO", std::nullopt, {}});
    for (int i = 0; i < 2; ++i) profile.syscalls.push_back({{"getppid"}, "SCMP_ACT_ERRNO", std::nullopt, {}});
    profile.syscalls.push_back({{"gettid"}, "SCMP_ACT_EXPLODE", std::nullopt, {}});
    EXPECT_EQ(build_error(profile), "linux.seccomp.syscalls[3].action");
}

TEST(SeccompBuild, BadDefaultActionAndErrnoNameTheirFields) {
    spec::Seccomp profile;
    profile.default_action = "SCMP_ACT_NOPE";
    EXPECT_EQ(build_error(profile), "linux.seccomp.defaultAction");
    profile.default_action = "SCMP_ACT_ALLOW";
    profile.default_errno_ret = 1;
    EXPECT_EQ(build_error(profile), "linux.seccomp.defaultErrnoRet");
}

TEST(SeccompBuild, BadArgumentsNameTheirFields) {
    spec::SeccompSyscall rule{{"personality"}, "SCMP_ACT_ERRNO", std::nullopt,
                              {{0, 1, 0, "SCMP_CMP_EQ"}, {1, 2, 0, "SCMP_CMP_SOMETIMES"}}};
    EXPECT_EQ(build_error(allow_all_but(rule)), "linux.seccomp.syscalls[0].args[1].op");
    rule.args = {{6, 1, 0, "SCMP_CMP_EQ"}};
    EXPECT_EQ(build_error(allow_all_but(rule)), "linux.seccomp.syscalls[0].args[0].index");
}

TEST(SeccompBuild, BadArchitectureAndFlagNameTheirFields) {
    auto profile = allow_all_but({{"getpid"}, "SCMP_ACT_ERRNO", std::nullopt, {}});
    profile.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
    EXPECT_EQ(build_error(profile), "linux.seccomp.architectures[1]");
    profile.architectures.clear();
    profile.flags = {"SECCOMP_FILTER_FLAG_MAGIC"};
    EXPECT_EQ(build_error(profile), "linux.seccomp.flags[0]");
}

TEST(SeccompBuild, KnownFlagsAndArchitecturesBuild) {
    auto profile = allow_all_but({{"getpid"}, "SCMP_ACT_ERRNO", std::nullopt, {}});
    profile.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
#if defined(__x86_64__)
    profile.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#endif
    auto pfc = pfc_of(profile);
    EXPECT_NE(pfc.find("# filter for arch"), std::string::npos) << pfc;
#if defined(__x86_64__)
    EXPECT_NE(pfc.find("# filter for arch x86 ("), std::string::npos);
    EXPECT_NE(pfc.find("# filter for arch x32 ("), std::string::npos);
#endif
}

TEST(SeccompBuild, UnknownSyscallsAreSkipped) {
    auto pfc = pfc_of(allow_all_but({{"ctb_no_such_syscall", "getcwd"}, "SCMP_ACT_ERRNO", 42u, {}}));
    EXPECT_EQ(pfc.find("ctb_no_such_syscall"), std::string::npos) << pfc;
    EXPECT_EQ(first_action_of(pfc, "getcwd"), "action ERRNO(42)") << pfc;
}

TEST(SeccompBuild, RuleEqualToDefaultIsSkipped) {
    auto pfc = pfc_of(allow_all_but({{"getpid"}, "SCMP_ACT_ALLOW", std::nullopt, {}}));
    EXPECT_FALSE(mentions_syscall(pfc, "getpid")) << pfc;
}

TEST(SeccompBuild, ConditionsOnOneArgumentAreOred) {
    // AND of "a0 == 1" and "a0 == 2" could never match; as separate rules both values are allowed.
    spec::SeccompSyscall rule{{"personality"}, "SCMP_ACT_ALLOW", std::nullopt,
                              {{0, 1, 0, "SCMP_CMP_EQ"}, {0, 2, 0, "SCMP_CMP_EQ"}}};
    spec::Seccomp profile;
    profile.default_action = "SCMP_ACT_ERRNO";
    profile.syscalls = {rule};
    auto pfc = pfc_of(profile);
    EXPECT_NE(pfc.find("== 1)"), std::string::npos) << pfc;
    EXPECT_NE(pfc.find("== 2)"), std::string::npos) << pfc;
}

TEST(DefaultProfile, IsAnAllowListReturningEperm) {
    auto profile = default_seccomp_profile();
    EXPECT_EQ(profile.default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(profile.default_errno_ret, std::optional<std::uint32_t>(EPERM));
}

TEST(DefaultProfile, NeverAllowsTheDeniedSyscalls) {
    const std::vector<std::string> denied{
        "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module", "finit_module",
        "init_module", "kexec_load", "kexec_file_load", "keyctl", "lookup_dcookie", "mount", "umount2",
        "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "perf_event_open", "pivot_root",
        "ptrace", "process_vm_readv", "process_vm_writev", "reboot", "request_key", "setns", "settimeofday",
        "swapon", "swapoff", "syslog", "unshare", "userfaultfd", "acct", "quotactl", "sethostname",
        "open_by_handle_at", "io_uring_setup", "clone3"};
    for (const auto& rule : default_seccomp_profile().syscalls) {
        if (rule.action != "SCMP_ACT_ALLOW") continue;
        for (const auto& name : denied) EXPECT_EQ(std::ranges::count(rule.names, name), 0) << name;
    }
    auto pfc = pfc_of(default_seccomp_profile());
#if defined(__x86_64__)
    auto native = arch_section(pfc, "x86_64");
    ASSERT_FALSE(native.empty()) << pfc.substr(0, 400);
    for (const auto& name : denied) {
        if (name == "clone3") continue;  // it has its own ERRNO(ENOSYS) rule
        EXPECT_FALSE(mentions_syscall(native, name)) << name;
    }
#endif
}

#if defined(__x86_64__)
TEST(DefaultProfile, FilterHasThePromisedShape) {
    auto pfc = pfc_of(default_seccomp_profile());
    auto native = arch_section(pfc, "x86_64");
    ASSERT_FALSE(native.empty()) << pfc.substr(0, 400);
    for (const char* name : {"read", "write", "openat", "execve", "getpid", "mmap", "futex", "wait4", "arch_prctl"})
        EXPECT_EQ(first_action_of(native, name), "action ALLOW") << name;
    EXPECT_EQ(first_action_of(native, "clone3"), "action ERRNO(38)");
    EXPECT_NE(native.find("if ($a0.lo32 & 0x7e020000 == 0)"), std::string::npos);  // clone
    EXPECT_NE(native.find("if ($a0.lo32 == 40)"), std::string::npos);               // socket(AF_VSOCK)
    for (const char* persona : {"== 0)", "== 8)", "== 131072)", "== 131080)", "== 4294967295)"})
        EXPECT_NE(native.find(persona), std::string::npos) << persona;
    EXPECT_NE(pfc.find("# filter for arch x86 ("), std::string::npos);
    EXPECT_NE(pfc.find("# filter for arch x32 ("), std::string::npos);
    EXPECT_NE(pfc.find("action ERRNO(1);"), std::string::npos);  // the default action
}
#endif

TEST(ProcessSecurity, RejectsBadConfigBeforeChangingAnything) {
    // In a child, so that even a bug could not change this process's credentials or limits.
    auto seen = run_in_child([] {
        spec::Process process;
        process.user.uid = 12345;
        process.rlimits = {{"RLIMIT_NOFILE", 8, 8}};
        spec::Seccomp profile = allow_all_but({{"getpid"}, "SCMP_ACT_BOGUS", std::nullopt, {}});
        auto st = apply_process_security(process, profile);
        rlimit limit{};
        ::getrlimit(RLIMIT_NOFILE, &limit);
        return (st ? std::string("applied") : st.error().object) + " uid=" + std::to_string(::getuid()) +
               " nofile=" + std::to_string(limit.rlim_cur);
    });
    ASSERT_TRUE(seen) << seen.error().message();
    auto before = ::getuid();
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    EXPECT_EQ(*seen, "linux.seccomp.syscalls[0].action uid=" + std::to_string(before) +
                         " nofile=" + std::to_string(limit.rlim_cur));
}
