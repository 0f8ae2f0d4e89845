// Enforcement tests for the security module: each test applies settings in a forked child
// (run_in_child), then has the child try things and report what happened. The test process keeps
// its root credentials, limits and filters. Needs root (the main exits 77 otherwise).
//
// Claims are proven by what the kernel refuses or allows (chown, sethostname, bind to port 80,
// setuid exec, mount, unshare ...), with a control run without the setting where the outcome
// would otherwise be ambiguous.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include "common/child.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "runtime/security/capabilities.hpp"
#include "runtime/security/rlimits.hpp"
#include "runtime/security/seccomp.hpp"
#include "runtime/security/security.hpp"

using namespace ctb;
using namespace ctb::security;
namespace fs = std::filesystem;

namespace {

using Observations = std::map<std::string, std::string>;
constexpr std::uint32_t kUser = 1000;
constexpr const char* kHelperEnv = "CTB_SECURITY_HELPER";

// "ok" when a syscall-like return value says success, else the errno's name ("EPERM").
std::string outcome(long rc) { return rc >= 0 ? "ok" : errno_name(errno); }

// "CapEff:\t0000000000000400" lines (and the like) as key -> value.
Observations status_fields(const std::string& text) {
    Observations out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto value = line.substr(colon + 1);
        out[line.substr(0, colon)] = trim(value);  // trim: "Groups:\t1001 1002 \n"
    }
    return out;
}

std::string status(const std::string& key) {
    auto text = read_file("/proc/self/status");
    return text ? status_fields(*text)[key] : "unreadable";
}

// The /proc/<pid>/status spelling of a capability set.
std::string mask(std::initializer_list<int> caps) {
    std::uint64_t bits = 0;
    for (int cap : caps) bits |= 1ULL << cap;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(bits));
    return buf;
}

std::string bind_port_80() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return "socket:" + errno_name(errno);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(80);
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    std::string result = outcome(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    ::close(fd);
    return result;
}

// Re-executed as a helper (kHelperEnv set), this binary reports what the exec'd process may do,
// then exits before main, whose root check would turn a non-root run into "skipped".
[[gnu::constructor]] void helper_main() {
    if (!std::getenv(kHelperEnv)) return;
    std::string out = "bind80: " + bind_port_80() + "\n";
    if (auto text = read_file("/proc/self/status")) out += *text;
    [[maybe_unused]] auto n = ::write(STDOUT_FILENO, out.data(), out.size());
    ::_exit(0);
}

Observations run_helper() {
    ::setenv(kHelperEnv, "1", 1);
    auto result = run_process({"/proc/self/exe"});
    if (!result) throw std::runtime_error(result.error().message());
    if (!result->exited_ok()) throw std::runtime_error("helper failed: " + result->output);
    return status_fields(result->output);
}

void must(Status st) {
    if (!st) throw std::runtime_error(st.error().message());
}

void must_ok(long rc, const std::string& what) {
    if (rc < 0) throw std::runtime_error(what + ": " + errno_name(errno));
}

// Runs `body` in a forked child; it reports "key=value" observations (values without newlines).
Observations observe(const std::function<Observations()>& body) {
    auto out = run_in_child([&] {
        std::string text;
        for (const auto& [key, value] : body()) text += key + "=" + value + "\n";
        return text;
    });
    if (!out) throw std::runtime_error(out.error().message());
    Observations seen;
    std::istringstream lines(*out);
    for (std::string line; std::getline(lines, line);) {
        auto eq = line.find('=');
        seen[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return seen;
}

spec::Process process_as(std::uint32_t uid, std::optional<spec::Capabilities> caps) {
    spec::Process process;
    process.user.uid = uid;
    process.user.gid = uid;
    process.capabilities = std::move(caps);
    return process;
}

spec::Capabilities no_capabilities() { return {}; }

// The same capabilities in bounding, effective, permitted and inheritable; ambient optional.
spec::Capabilities just(std::vector<std::string> names, bool ambient) {
    spec::Capabilities caps;
    caps.bounding = caps.effective = caps.permitted = caps.inheritable = names;
    if (ambient) caps.ambient = names;
    return caps;
}

class Security : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/ctb-security-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);  // the non-root child must reach files in here
        root_file_ = dir_ / "owned-by-root";
        ASSERT_TRUE(write_file(root_file_, "root\n"));
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // A setuid-root copy of id(1) in our temp dir (removed with it in TearDown).
    fs::path setuid_id() {
        auto id = dir_ / "id";
        fs::copy_file("/usr/bin/id", id);
        if (::chown(id.c_str(), 0, 0) != 0 || ::chmod(id.c_str(), 04755) != 0) throw std::runtime_error("chmod id");
        return id;
    }

    fs::path dir_, root_file_;
};

TEST_F(Security, NonRootWithoutCapabilitiesHoldsNoneAndIsRefused) {
    auto seen = observe([&] {
        must_ok(::unshare(CLONE_NEWUTS), "unshare uts");  // while still root: ours to rename
        must(apply_process_security(process_as(kUser, no_capabilities()), std::nullopt));
        return Observations{{"CapEff", status("CapEff")},
                            {"CapPrm", status("CapPrm")},
                            {"CapBnd", status("CapBnd")},
                            {"CapInh", status("CapInh")},
                            {"CapAmb", status("CapAmb")},
                            {"uids", status("Uid")},
                            {"gids", status("Gid")},
                            {"groups", status("Groups")},
                            {"chown", outcome(::chown(root_file_.c_str(), kUser, kUser))},
                            {"sethostname", outcome(::sethostname("ctb", 3))}};
    });
    for (const char* set : {"CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"}) EXPECT_EQ(seen[set], mask({})) << set;
    EXPECT_EQ(seen["uids"], "1000\t1000\t1000\t1000");
    EXPECT_EQ(seen["gids"], "1000\t1000\t1000\t1000");
    EXPECT_EQ(seen["groups"], "");
    EXPECT_EQ(seen["chown"], "EPERM");
    EXPECT_EQ(seen["sethostname"], "EPERM");
}

TEST_F(Security, SetsAreAsSpecifiedAcrossTheUidChange) {
    spec::Capabilities caps;
    caps.bounding = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE"};
    caps.effective = caps.permitted = {"CAP_NET_BIND_SERVICE"};
    auto process = process_as(kUser, caps);
    process.user.additional_gids = {1001, 1002};
    process.user.umask = 027;
    auto seen = observe([&] {
        must(apply_process_security(process, std::nullopt));
        mode_t umask_now = ::umask(0);
        return Observations{{"CapEff", status("CapEff")}, {"CapPrm", status("CapPrm")},
                            {"CapBnd", status("CapBnd")}, {"CapInh", status("CapInh")},
                            {"groups", status("Groups")}, {"umask", std::to_string(umask_now)},
                            {"chown", outcome(::chown(root_file_.c_str(), kUser, kUser))}};
    });
    EXPECT_EQ(seen["CapEff"], mask({CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(seen["CapPrm"], mask({CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(seen["CapBnd"], mask({CAP_CHOWN, CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(seen["CapInh"], mask({}));
    EXPECT_EQ(seen["groups"], "1001 1002");
    EXPECT_EQ(seen["umask"], std::to_string(027));
    EXPECT_EQ(seen["chown"], "EPERM");  // CAP_CHOWN is only in the bounding set
}

TEST_F(Security, RootWithDefaultCapabilitiesLacksSysAdmin) {
    auto seen = observe([&] {
        must_ok(::unshare(CLONE_NEWUTS), "unshare uts");
        must(apply_process_security(process_as(0, default_capabilities()), std::nullopt));
        return Observations{{"CapBnd", status("CapBnd")},
                            {"sethostname", outcome(::sethostname("ctb", 3))},
                            {"chown", outcome(::chown(root_file_.c_str(), kUser, kUser))}};
    });
    EXPECT_EQ(seen["CapBnd"], mask({CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
                                    CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
                                    CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE}));
    EXPECT_EQ(seen["sethostname"], "EPERM");
    EXPECT_EQ(seen["chown"], "ok");  // CAP_CHOWN is kept
}

// Both exec tests run in a fresh network namespace, so port 80 is free and ours.
TEST_F(Security, AmbientCapabilitySurvivesExecForNonRoot) {
    auto seen = observe([&] {
        must_ok(::unshare(CLONE_NEWNET), "unshare net");
        must(apply_process_security(process_as(kUser, just({"CAP_NET_BIND_SERVICE"}, true)), std::nullopt));
        auto after = run_helper();
        return Observations{{"bind80", after["bind80"]}, {"CapEff", after["CapEff"]}, {"CapAmb", after["CapAmb"]},
                            {"Uid", after["Uid"]}};
    });
    EXPECT_EQ(seen["bind80"], "ok");
    EXPECT_EQ(seen["CapEff"], mask({CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(seen["CapAmb"], mask({CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(seen["Uid"], "1000\t1000\t1000\t1000");
}

TEST_F(Security, CapabilitiesAreLostAtExecForNonRootWithoutAmbient) {
    auto seen = observe([&] {
        must_ok(::unshare(CLONE_NEWNET), "unshare net");
        must(apply_process_security(process_as(kUser, just({"CAP_NET_BIND_SERVICE"}, false)), std::nullopt));
        std::string before = status("CapEff");
        auto after = run_helper();
        return Observations{{"before", before}, {"bind80", after["bind80"]}, {"CapEff", after["CapEff"]}};
    });
    EXPECT_EQ(seen["before"], mask({CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(seen["CapEff"], mask({}));
    EXPECT_EQ(seen["bind80"], "EACCES");
}

// As runc: an ambient capability that is not inheritable cannot be raised; it is skipped (with a
// warning) and the others still are, so `runc spec`'s config runs.
TEST_F(Security, AmbientOutsideInheritableIsSkipped) {
    spec::Capabilities caps = just({"CAP_NET_BIND_SERVICE", "CAP_KILL"}, true);
    caps.inheritable = {"CAP_NET_BIND_SERVICE"};
    auto seen = observe([&] {
        auto st = apply_process_security(process_as(kUser, caps), std::nullopt);
        return Observations{{"error", st ? "none" : st.error().message()}, {"CapAmb", status("CapAmb")}};
    });
    EXPECT_EQ(seen["error"], "none");
    EXPECT_EQ(seen["CapAmb"], mask({CAP_NET_BIND_SERVICE}));
}

TEST_F(Security, NoNewPrivilegesStopsSetuidExec) {
    auto id = setuid_id();
    auto run_id = [&](bool no_new_privs) {
        return observe([&] {
            auto process = process_as(kUser, no_capabilities());
            process.no_new_privileges = no_new_privs;
            must(apply_process_security(process, std::nullopt));
            auto result = run_process({id.string(), "-u"});
            if (!result) throw std::runtime_error(result.error().message());
            return Observations{{"euid", trim(result->output)}, {"NoNewPrivs", status("NoNewPrivs")}};
        });
    };
    auto control = run_id(false);
    if (control["euid"] != "0") GTEST_SKIP() << "setuid exec does not work here (nosuid?): " << control["euid"];
    EXPECT_EQ(control["NoNewPrivs"], "0");
    auto seen = run_id(true);
    EXPECT_EQ(seen["NoNewPrivs"], "1");
    EXPECT_EQ(seen["euid"], "1000");
}

// Each probe is a syscall the default profile refuses (or allows) by its promise.
Observations probe_syscalls(const fs::path& dir) {
    Observations seen;
    seen["mount"] = outcome(::mount("tmpfs", dir.c_str(), "tmpfs", 0, nullptr));
    seen["unshare_uts"] = outcome(::unshare(CLONE_NEWUTS));
    long pid = ::syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) ::_exit(0);
    seen["clone_newuts"] = outcome(pid);
    if (pid > 0) ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
    seen["clone3"] = outcome(::syscall(SYS_clone3, nullptr, 0));
    seen["keyctl"] = outcome(::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1));
    seen["personality_query"] = outcome(::personality(0xffffffff));
    seen["personality_addr_no_randomize"] = outcome(::personality(ADDR_NO_RANDOMIZE));
    int vsock = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    seen["socket_vsock"] = outcome(vsock);
    if (vsock >= 0) ::close(vsock);
    seen["getpid"] = ::syscall(SYS_getpid) == ::getpid() ? "ok" : "wrong";
    int fds[2];
    char byte = 0;
    bool piped = ::pipe2(fds, O_CLOEXEC) == 0 && ::write(fds[1], "x", 1) == 1 && ::read(fds[0], &byte, 1) == 1;
    seen["pipe_read_write"] = piped && byte == 'x' ? "ok" : errno_name(errno);
    auto exec = run_process({"/bin/true"});  // fork (clone without CLONE_NEW*) + execve + wait4
    seen["exec_true"] = exec && exec->exited_ok() ? "ok" : "failed";
    seen["Seccomp"] = status("Seccomp");
    seen["NoNewPrivs"] = status("NoNewPrivs");
    return seen;
}

// Root with all its capabilities, so that without the filter each refused call would succeed.
Observations run_probes(const fs::path& dir, const std::optional<spec::Seccomp>& profile) {
    return observe([&] {
        must_ok(::unshare(CLONE_NEWNS), "unshare mount");  // the control's mount must die with the child
        must_ok(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / private");
        auto process = process_as(0, std::nullopt);
        process.no_new_privileges = true;
        must(apply_process_security(process, profile));
        return probe_syscalls(dir);
    });
}

TEST_F(Security, DefaultSeccompProfileIsEnforced) {
    auto control = run_probes(dir_, std::nullopt);
    auto seen = run_probes(dir_, default_seccomp_profile());
    for (const char* refused : {"mount", "unshare_uts", "clone_newuts", "keyctl", "personality_addr_no_randomize",
                                "socket_vsock"}) {
        EXPECT_NE(control[refused], "EPERM") << refused << " is refused even without the filter";
        EXPECT_EQ(seen[refused], "EPERM") << refused;
    }
    EXPECT_NE(control["clone3"], "ENOSYS");
    EXPECT_EQ(seen["clone3"], "ENOSYS");
    for (const char* allowed : {"personality_query", "getpid", "pipe_read_write", "exec_true"}) {
        EXPECT_EQ(control[allowed], "ok") << allowed;
        EXPECT_EQ(seen[allowed], "ok") << allowed;
    }
    EXPECT_EQ(control["Seccomp"], "0");
    EXPECT_EQ(seen["Seccomp"], "2");
    EXPECT_EQ(seen["NoNewPrivs"], "1");
}

TEST_F(Security, FilterLoadsBeforeDroppingSysAdminWithoutNoNewPrivs) {
    auto seen = observe([&] {
        must(apply_process_security(process_as(kUser, no_capabilities()), default_seccomp_profile()));
        return Observations{{"Seccomp", status("Seccomp")},
                            {"NoNewPrivs", status("NoNewPrivs")},
                            {"CapEff", status("CapEff")},
                            {"Uid", status("Uid")},
                            {"clone3", outcome(::syscall(SYS_clone3, nullptr, 0))}};
    });
    EXPECT_EQ(seen["Seccomp"], "2");
    EXPECT_EQ(seen["NoNewPrivs"], "0");  // setuid programs keep working, as the config asked
    EXPECT_EQ(seen["CapEff"], mask({}));
    EXPECT_EQ(seen["Uid"], "1000\t1000\t1000\t1000");
    EXPECT_EQ(seen["clone3"], "ENOSYS");
}

TEST_F(Security, ErrnoRetIsTheErrnoSeen) {
    spec::Seccomp profile;
    profile.default_action = "SCMP_ACT_ALLOW";
    profile.syscalls = {{{"getcwd"}, "SCMP_ACT_ERRNO", 42u, {}}};
    // Root keeping CAP_SYS_ADMIN and no no_new_privs: the filter loads last, after the identity step.
    auto seen = observe([&] {
        must(apply_process_security(process_as(0, std::nullopt), profile));
        char buf[256];
        long rc = ::syscall(SYS_getcwd, buf, sizeof buf);
        return Observations{{"errno", rc < 0 ? std::to_string(errno) : "none"},
                            {"NoNewPrivs", status("NoNewPrivs")},
                            {"Seccomp", status("Seccomp")}};
    });
    EXPECT_EQ(seen["errno"], "42");
    EXPECT_EQ(seen["NoNewPrivs"], "0");
    EXPECT_EQ(seen["Seccomp"], "2");
}

TEST_F(Security, RlimitNofileCapsDescriptors) {
    auto process = process_as(0, std::nullopt);
    process.rlimits = {{"RLIMIT_NOFILE", 64, 64}};
    auto seen = observe([&] {
        must(apply_process_security(process, std::nullopt));
        int last = -1, fd = -1;
        while ((fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) last = fd;
        return Observations{{"last_fd", std::to_string(last)}, {"error", errno_name(errno)}};
    });
    EXPECT_EQ(seen["last_fd"], "63");  // descriptors 0..63: the 65th open fails
    EXPECT_EQ(seen["error"], "EMFILE");
}

TEST_F(Security, OomScoreAdjIsWritten) {
    auto process = process_as(0, std::nullopt);
    process.oom_score_adj = 500;  // raising needs no privilege; lowering would need CAP_SYS_RESOURCE
    auto seen = observe([&] {
        must(apply_process_security(process, std::nullopt));
        std::string from_spec = trim(read_file("/proc/self/oom_score_adj").value_or("unreadable"));
        must(set_oom_score_adj(::getpid(), 700));
        std::string by_pid = trim(read_file("/proc/self/oom_score_adj").value_or("unreadable"));
        return Observations{{"from_spec", from_spec}, {"by_pid", by_pid}};
    });
    EXPECT_EQ(seen["from_spec"], "500");
    EXPECT_EQ(seen["by_pid"], "700");
}

}  // namespace
