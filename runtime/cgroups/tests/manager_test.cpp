// Integration tests of the cgroup manager on the live host: each proves that a limit is
// ENFORCED (a process is OOM-killed, a fork fails, a counter stops, ...), never only that a
// value reads back. A controller the host lacks is a skip with the reason, never a failure.
// Every cgroup is ctbench/test-<pid>-<n>, destroyed and checked gone by the test itself; every
// process is a child of this test, killed by pid.
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <atomic>
#include <fmt/format.h>
#include <cstring>

#include "runtime/cgroups/manager.hpp"
#include "runtime/cgroups/mount_fds.hpp"
#include "runtime/cgroups/tests/test_child.hpp"

using namespace ctb::cgroup;
using ctb::Deadline;
using ctb::retry_until;
using ctb::cgroup::test::TestChild;
using namespace std::chrono_literals;

namespace {

int g_serial = 0;
std::string next_path() { return fmt::format("ctbench/test-{}-{}", ::getpid(), ++g_serial); }

// Why `controller` cannot be used here (nullopt: it can).
std::optional<std::string> missing(const Layout& layout, const std::string& controller) {
    const Hierarchy* h = layout.find(controller);
    if (h && h->version == 1) return std::nullopt;
    if (h && h->version == 2) {
        ctb::Feature f = probe_subtree(*h, controller);
        return f.available ? std::nullopt : std::optional(f.detail);
    }
    return fmt::format("the {} controller is not mounted on this host ({} layout)", controller, to_string(layout.mode));
}

// The host's unified hierarchy alone: exercises the v2 backend (cgroup.freeze, cgroup.kill,
// device BPF programs, CLONE_INTO_CGROUP) on hybrid hosts too, where they need no controller.
std::optional<Layout> v2_only(const Layout& layout) {
    if (!layout.v2()) return std::nullopt;
    Layout v2;
    v2.mode = Mode::v2;
    v2.hierarchies = {*layout.v2()};
    return v2;
}

bool gone(const std::string& dir) { return ::access(dir.c_str(), F_OK) != 0 && errno == ENOENT; }

std::string errno_text(int err) { return err == 0 ? "0" : ctb::errno_name(err); }

class CgroupManager : public ::testing::Test {
protected:
    void SetUp() override {
        auto detected = detect();
        ASSERT_TRUE(detected) << detected.error().message();
        layout_ = *detected;
        if (layout_.mode == Mode::none) GTEST_SKIP() << "no cgroup hierarchy mounted";
        // Grandchildren of a killed child come back to us, so we can reap them by pid.
        ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    }
    void TearDown() override {
        for (auto& m : managers_) destroy_and_check(*m);
    }

    Manager& make(const Layout& layout) {
        auto m = Manager::create(layout, next_path());
        if (!m) throw std::runtime_error(m.error().message());
        managers_.push_back(std::move(*m));
        return *managers_.back();
    }
    Manager& make() { return make(layout_); }

    // Removes every directory of m and checks that none is left.
    static void destroy_and_check(Manager& m) {
        auto destroyed = m.destroy(5s);
        EXPECT_TRUE(destroyed) << destroyed.error().message();
        for (const auto& dir : m.paths()) EXPECT_TRUE(gone(dir)) << dir << " still exists";
    }

    // A child moved into m before it starts `body`.
    std::unique_ptr<TestChild> start_in(Manager& m, const std::function<std::string()>& body) {
        auto child = std::make_unique<TestChild>(body);
        auto added = m.add_process(child->pid());
        EXPECT_TRUE(added) << added.error().message();
        child->go();
        return child;
    }

    Layout layout_;
    std::vector<std::unique_ptr<Manager>> managers_;
};

#define REQUIRE_CONTROLLER(name)                                          \
    do {                                                                  \
        if (auto why = missing(layout_, name)) GTEST_SKIP() << *why;      \
    } while (0)

}  // namespace

TEST_F(CgroupManager, RefusesPathsOutsideCtbenchAndExistingLeaves) {
    auto outside = Manager::create(layout_, "system.slice/x");
    ASSERT_FALSE(outside);
    EXPECT_NE(outside.error().message().find("relative_path"), std::string::npos) << outside.error().message();
    Manager& m = make();
    auto again = Manager::create(layout_, "/" + m.relative_path());  // absolute OCI form, same leaf
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().err, EEXIST) << again.error().message();
    for (const auto& dir : m.paths()) EXPECT_FALSE(gone(dir)) << "a refused create removed " << dir;
    destroy_and_check(m);
}

TEST_F(CgroupManager, FailedCreateRemovesWhatItMade) {
    // Make the leaf exist already in the hierarchy the manager creates last, so create fails
    // after it has made directories elsewhere; those must be gone again.
    std::string rel = next_path();
    const Hierarchy* last = layout_.v2();
    for (const auto& h : layout_.hierarchies)
        if (!last && h.version == 1 && !h.controllers.empty()) last = &h;
    ASSERT_TRUE(last);
    std::string blocker = last->mount + "/" + rel;
    ASSERT_EQ(::mkdir(blocker.c_str(), 0755), 0) << blocker;
    auto made = Manager::create(layout_, rel);
    EXPECT_FALSE(made);
    for (const auto& h : layout_.hierarchies) {
        std::string dir = h.mount + "/" + rel;
        if (dir != blocker) {
            EXPECT_TRUE(gone(dir)) << dir << " left behind by a failed create";
        }
    }
    EXPECT_EQ(::rmdir(blocker.c_str()), 0) << blocker;
}

TEST_F(CgroupManager, MemoryLimitOomKillsTheChild) {
    REQUIRE_CONTROLLER("memory");
    Manager& m = make();
    ctb::spec::Resources r;
    r.memory = ctb::spec::MemoryResources{};
    r.memory->limit = 32 << 20;
    r.memory->swap = 32 << 20;  // memory+swap = memory: no escape to swap
    auto applied = m.apply(r);
    ASSERT_TRUE(applied) << applied.error().message();
    auto before = m.memory_events();
    ASSERT_TRUE(before) << before.error().message();

    auto child = start_in(m, [] {
        constexpr std::size_t size = 128 << 20;
        auto* p = static_cast<volatile char*>(::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        for (std::size_t i = 0; i < size; i += 4096) p[i] = 1;  // touch every page: charge it
        return std::string("survived 128 MiB");
    });
    int status = child->wait(60s);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
    auto after = m.memory_events();
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_GT(after->oom_kill, before->oom_kill);
    destroy_and_check(m);
}

TEST_F(CgroupManager, PidsLimitMakesForkFailWithEagain) {
    REQUIRE_CONTROLLER("pids");
    Manager& m = make();
    ctb::spec::Resources r;
    r.pids = ctb::spec::PidsResources{5};
    auto applied = m.apply(r);
    ASSERT_TRUE(applied) << applied.error().message();

    auto child = start_in(m, [] {
        int hold[2];
        if (::pipe(hold) != 0) return std::string("pipe failed");
        std::vector<pid_t> kids;
        int err = 0;
        for (int i = 0; i < 10; ++i) {
            pid_t pid = ::fork();
            if (pid == 0) {  // grandchild: wait until the child lets go, then leave
                ::close(hold[1]);
                char c;
                (void)!::read(hold[0], &c, 1);
                ::_exit(0);
            }
            if (pid < 0) {
                err = errno;
                break;
            }
            kids.push_back(pid);
        }
        ::close(hold[1]);
        for (pid_t k : kids) ::waitpid(k, nullptr, 0);
        return fmt::format("{} {}", kids.size(), errno_text(err));
    });
    auto result = child->result(30s);
    child->wait(10s);
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, "4 EAGAIN");  // the child itself is the 5th task
    destroy_and_check(m);
}

namespace {
// A child that counts as fast as it can in shared memory must stop while frozen, and resume.
void check_freeze_stops_a_counter(Manager& m, const std::function<std::unique_ptr<TestChild>(
                                                  const std::function<std::string()>&)>& start) {
    void* shared = ::mmap(nullptr, sizeof(std::atomic<std::uint64_t>), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(shared, MAP_FAILED);
    auto* counter = new (shared) std::atomic<std::uint64_t>(0);
    auto child = start([counter] {
        for (;;) counter->fetch_add(1, std::memory_order_relaxed);
        return std::string();
    });
    EXPECT_TRUE(retry_until(Deadline(5s), [&] { return counter->load() > 1000; })) << "the child never ran";
    auto frozen = m.freeze();
    ASSERT_TRUE(frozen) << frozen.error().message();
    std::uint64_t at_freeze = counter->load();
    // Expected to time out: the counter must not move during the whole window.
    EXPECT_FALSE(retry_until(Deadline(300ms), [&] { return counter->load() != at_freeze; }))
        << "counter advanced while frozen";
    auto thawed = m.thaw();
    ASSERT_TRUE(thawed) << thawed.error().message();
    EXPECT_TRUE(retry_until(Deadline(5s), [&] { return counter->load() > at_freeze; })) << "no progress after thaw";
    child->kill_and_reap();
    ::munmap(shared, sizeof(std::atomic<std::uint64_t>));
}
}  // namespace

TEST_F(CgroupManager, FreezeStopsAndThawResumes) {
    if (missing(layout_, "freezer") && !layout_.v2()) GTEST_SKIP() << "no v1 freezer and no cgroup v2";
    Manager& m = make();
    check_freeze_stops_a_counter(m, [&](const auto& body) { return start_in(m, body); });
    destroy_and_check(m);
}

namespace {
// Spins for one second of wall time; returns "cpu_us wall_us" from its own rusage.
std::string spin_one_second() {
    auto cpu_us = [] {
        rusage u{};
        ::getrusage(RUSAGE_SELF, &u);
        return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000L + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
    };
    long cpu0 = cpu_us();
    auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < 1s) {
    }
    auto wall = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    return fmt::format("{} {}", cpu_us() - cpu0, wall.count());
}

double cpu_share(TestChild& child) {
    auto result = child.result(30s);
    child.wait(10s);
    long cpu = 0, wall = 0;
    if (!result || std::sscanf(result->c_str(), "%ld %ld", &cpu, &wall) != 2 || wall <= 0) {
        ADD_FAILURE() << "no result from the spinning child: " << result.value_or("(timeout)");
        return -1;
    }
    return double(cpu) / double(wall);
}
}  // namespace

TEST_F(CgroupManager, CpuQuotaCapsCpuTime) {
    REQUIRE_CONTROLLER("cpu");
    Manager& limited = make();
    Manager& control = make();  // a sibling without a quota, spinning at the same time
    ctb::spec::Resources r;
    r.cpu = ctb::spec::CpuResources{};
    r.cpu->quota = 20000;
    r.cpu->period = 100000;
    auto applied = limited.apply(r);
    ASSERT_TRUE(applied) << applied.error().message();

    // On a host so busy that an unlimited spinner gets no more than the band's ceiling, a low
    // share proves nothing about the quota. Try a few times (other work comes and goes), then
    // say so instead of passing or failing on noise.
    double share = 0, free_share = 0;
    for (int attempt = 0; attempt < 3 && free_share < 0.35; ++attempt) {
        auto capped = start_in(limited, spin_one_second);
        auto free = start_in(control, spin_one_second);
        share = cpu_share(*capped);
        free_share = cpu_share(*free);
        // 20 ms per 100 ms = 20 % of one CPU; generous band, a functional check, not a timing one.
        EXPECT_LE(share, 0.30) << "quota 20000/100000 but " << share * 100 << " % of a CPU";
    }
    if (free_share < 0.35)
        GTEST_SKIP() << "host too busy: an unlimited busy child got only " << free_share * 100
                     << " % of a CPU, cannot tell a 20 % quota from contention (capped child: " << share * 100 << " %)";
    EXPECT_GE(share, 0.10) << "quota 20000/100000 but " << share * 100 << " % of a CPU";
    RecordProperty("capped_share", std::to_string(share));
    RecordProperty("unlimited_share", std::to_string(free_share));
    destroy_and_check(limited);
    destroy_and_check(control);
}

TEST_F(CgroupManager, CpusetPinsTheChildToCpu0) {
    REQUIRE_CONTROLLER("cpuset");
    Manager& m = make();
    ctb::spec::Resources r;
    r.cpu = ctb::spec::CpuResources{};
    r.cpu->cpus = "0";
    auto applied = m.apply(r);
    ASSERT_TRUE(applied) << applied.error().message();

    auto child = start_in(m, [] {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (::sched_getaffinity(0, sizeof set, &set) != 0) return std::string("sched_getaffinity failed");
        std::string cpus;
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set)) cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
        int elsewhere = 0;
        auto t0 = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - t0 < 100ms) elsewhere += ::sched_getcpu() != 0;
        return fmt::format("affinity={} runs_elsewhere={}", cpus, elsewhere);
    });
    auto result = child->result(30s);
    child->wait(10s);
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, "affinity=0 runs_elsewhere=0");
    destroy_and_check(m);
}

namespace {
ctb::spec::Resources only_dev_null() {
    ctb::spec::Resources r;
    r.devices = {ctb::spec::DeviceRule{false, "a", {}, {}, "rwm"}, ctb::spec::DeviceRule{true, "c", 1, 3, "rwm"}};
    return r;
}
std::string open_null_and_zero() {
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int null_err = null_fd < 0 ? errno : 0;
    int zero_fd = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    int zero_err = zero_fd < 0 ? errno : 0;
    return fmt::format("null={} zero={}", errno_text(null_err), errno_text(zero_err));
}
// What `child` (running open_null_and_zero in a cgroup with only_dev_null's rules) reported.
void expect_only_dev_null_opened(TestChild& child) {
    auto result = child.result(30s);
    child.wait(10s);
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, "null=0 zero=EPERM");
}
}  // namespace

// Only /dev/null is allowed, whether the rules open with their own deny-all (the default spec's)
// or not: the runtime starts from deny-all either way (v1 writes "a" to devices.deny first unless
// the spec's first rule already is one).
TEST_F(CgroupManager, DevicesAllowOnlyDevNull) {
    // v1: the devices controller; v2: a BPF program (no controller needed).
    if (layout_.mode != Mode::v2) {
        REQUIRE_CONTROLLER("devices");
    }
    ctb::spec::Resources without_own_deny_all;
    without_own_deny_all.devices = {ctb::spec::DeviceRule{true, "c", 1, 3, "rwm"}};
    for (const auto& resources : {only_dev_null(), without_own_deny_all}) {
        SCOPED_TRACE(fmt::format("{} rules", resources.devices.size()));
        Manager& m = make();
        auto applied = m.apply(resources);
        ASSERT_TRUE(applied) << applied.error().message();
        expect_only_dev_null_opened(*start_in(m, open_null_and_zero));
        destroy_and_check(m);
    }
}

TEST_F(CgroupManager, KillAllEmptiesTheCgroup) {
    Manager& m = make();
    auto child = start_in(m, [] {
        for (int i = 0; i < 3; ++i)
            if (::fork() == 0) ::pause();  // grandchildren, in the cgroup, until killed
        ::pause();
        return std::string();
    });
    EXPECT_TRUE(retry_until(Deadline(5s), [&] { return m.processes().value_or(std::vector<pid_t>{}).size() == 4; }));
    auto killed = m.kill_all(SIGKILL);
    EXPECT_TRUE(killed) << killed.error().message();
    auto left = m.processes();
    ASSERT_TRUE(left);
    EXPECT_TRUE(left->empty());
    child->wait(10s);
    // The grandchildren were re-parented to us (subreaper): reap them.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    destroy_and_check(m);
}

TEST_F(CgroupManager, OpenAttachesAndDestroyWaitsForTheCgroupToEmpty) {
    Manager& m = make();
    auto child = start_in(m, [] {
        ::pause();
        return std::string();
    });
    auto opened = Manager::open(layout_, m.relative_path());
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ((*opened)->paths(), m.paths());
    auto pids = (*opened)->processes();
    ASSERT_TRUE(pids);
    EXPECT_EQ(*pids, std::vector<pid_t>{child->pid()});
    auto busy = (*opened)->destroy(100ms);
    ASSERT_FALSE(busy) << "rmdir of a populated cgroup succeeded";
    EXPECT_EQ(busy.error().err, EBUSY) << busy.error().message();
    child->kill_and_reap();
    destroy_and_check(**opened);
    destroy_and_check(m);  // idempotent: already gone is success
    EXPECT_EQ(Manager::open(layout_, m.relative_path()).error().err, ENOENT);
}

TEST_F(CgroupManager, WriteErrorsNameFieldAndFile) {
    REQUIRE_CONTROLLER("cpuset");
    Manager& m = make();
    ctb::spec::Resources r;
    r.cpu = ctb::spec::CpuResources{};
    r.cpu->cpus = "4095";  // no such CPU
    auto applied = m.apply(r);
    ASSERT_FALSE(applied);
    std::string msg = applied.error().message();
    EXPECT_NE(msg.find("apply linux.resources.cpu.cpus "), std::string::npos) << msg;
    EXPECT_NE(msg.find("/cpuset.cpus"), std::string::npos) << msg;
    EXPECT_FALSE(missing_controller_of(applied.error())) << "a refused value is not a missing controller";
    destroy_and_check(m);
}

TEST_F(CgroupManager, MissingControllerIsAnErrorNamingIt) {
    if (!missing(layout_, "hugetlb")) GTEST_SKIP() << "hugetlb is usable here; nothing missing to report";
    Manager& m = make();
    ctb::spec::Resources r;
    r.hugepage_limits = {{"2MB", 2 << 20}};
    auto applied = m.apply(r);
    ASSERT_FALSE(applied);
    EXPECT_NE(applied.error().message().find("hugetlb"), std::string::npos) << applied.error().message();
    EXPECT_EQ(missing_controller_of(applied.error()).value_or("?"), "hugetlb") << applied.error().message();
    destroy_and_check(m);
}

// --- the v2 backend on the host's unified hierarchy (pure v2 or the hybrid's /unified) ---

class CgroupV2Backend : public CgroupManager {
protected:
    void SetUp() override {
        CgroupManager::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        auto v2 = v2_only(layout_);
        if (!v2) GTEST_SKIP() << "no cgroup2 hierarchy mounted";
        v2_ = *v2;
    }
    Layout v2_;
};

TEST_F(CgroupV2Backend, DeviceBpfProgramAllowsOnlyDevNull) {
    Manager& m = make(v2_);
    auto applied = m.apply(only_dev_null());
    ASSERT_TRUE(applied) << applied.error().message();
    // Applying again replaces the program instead of stacking a second one.
    applied = m.apply(only_dev_null());
    ASSERT_TRUE(applied) << applied.error().message();
    expect_only_dev_null_opened(*start_in(m, open_null_and_zero));
    destroy_and_check(m);
}

TEST_F(CgroupV2Backend, CgroupFreezeStopsAndThawResumes) {
    Manager& m = make(v2_);
    check_freeze_stops_a_counter(m, [&](const auto& body) { return start_in(m, body); });
    destroy_and_check(m);
}

TEST_F(CgroupV2Backend, CgroupKillEmptiesTheCgroup) {
    Manager& m = make(v2_);
    auto child = start_in(m, [] {
        if (::fork() == 0) ::pause();
        ::pause();
        return std::string();
    });
    EXPECT_TRUE(retry_until(Deadline(5s), [&] { return m.processes().value_or(std::vector<pid_t>{}).size() == 2; }));
    auto killed = m.kill_all(SIGKILL);
    EXPECT_TRUE(killed) << killed.error().message();
    child->wait(10s);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    destroy_and_check(m);
}

TEST_F(CgroupV2Backend, CloneIntoCgroupStartsTheChildInside) {
    Manager& m = make(v2_);
    auto fd = m.clone_into_fd();
    ASSERT_TRUE(fd) << "a v2 backend must offer CLONE_INTO_CGROUP";
    clone_args args{};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<std::uint64_t>(*fd);
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0 && errno == ENOSYS) GTEST_SKIP() << "clone3 not available";
    ASSERT_GE(pid, 0) << ctb::errno_name(errno);
    std::string want = "\n0::/" + m.relative_path() + "\n";
    if (pid == 0) {  // raw clone3 child: plain system calls only
        char buf[4096] = "\n";
        int fd = ::open("/proc/self/cgroup", O_RDONLY);
        ssize_t n = fd < 0 ? -1 : ::read(fd, buf + 1, sizeof buf - 2);
        ::_exit(n > 0 && std::strstr(buf, want.c_str()) ? 0 : 1);
    }
    int status = 0;
    ::waitpid(static_cast<pid_t>(pid), &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child was not born in " << m.relative_path();
    destroy_and_check(m);
}

// For a TestChild that mounts and unmounts: its own mount namespace, no propagation to the
// host's. "" on success, else what failed.
std::string enter_private_mount_namespace() {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return "private mount namespace: " + ctb::errno_name(errno);
    return "";
}

// detect() keeps its answer while the caller's mount table stays the same, and sees the next
// change through the same watch: a hierarchy's second mount point takes over once the first is
// unmounted, and the hierarchy is gone once neither is left. In a child with a private mount
// namespace, so the host's mounts stay as they are.
TEST(CgroupDetectCache, TheNextCallSeesEveryMountChange) {
    TestChild child([]() -> std::string {
        if (auto why = enter_private_mount_namespace(); !why.empty()) return why;
        auto first = detect();
        if (!first || first->hierarchies.empty()) return "no hierarchy to move";
        const Hierarchy home = first->hierarchies.front();
        auto mount_of_home = [&]() -> std::string {
            auto now = detect();
            if (!now) return "error " + now.error().message();
            for (const auto& h : now->hierarchies)
                if (h.version == home.version && h.controllers == home.controllers && h.name == home.name)
                    return h.mount;
            return "none";
        };
        char second[] = "/tmp/ctbench-detect-XXXXXX";
        if (!::mkdtemp(second)) return "mkdtemp: " + ctb::errno_name(errno);
        std::string seen;
        if (::mount(home.mount.c_str(), second, nullptr, MS_BIND, nullptr) == 0) {
            seen += mount_of_home() + "|";  // the first mount point still counts
            if (::umount2(home.mount.c_str(), MNT_DETACH) == 0) seen += mount_of_home() + "|";
            ::umount2(second, MNT_DETACH);
            seen += mount_of_home();
        } else {
            seen = "bind: " + ctb::errno_name(errno);
        }
        ::rmdir(second);
        return seen + " home=" + home.mount + " second=" + second;
    });
    child.go();
    auto seen = child.result(20s);
    ASSERT_TRUE(seen) << "the child did not finish";
    auto at = seen->find(" home=");
    ASSERT_NE(at, std::string::npos) << *seen;
    std::string home = seen->substr(at + 6, seen->find(" second=") - at - 6);
    std::string second = seen->substr(seen->find(" second=") + 8);
    EXPECT_EQ(seen->substr(0, at), home + "|" + second + "|none") << *seen;
    EXPECT_TRUE(gone(second)) << second;
}

// Cgroup paths are opened from their hierarchy's mount point (mount_fds.hpp), and mean what the
// plain path means after every mount change detect() has seen: with a tmpfs mounted over a
// hierarchy, its cgroup.procs is gone for both; after the unmount it is back. A descriptor kept
// across the change would still reach the hierarchy. In a child with a private mount namespace.
TEST(CgroupDetectCache, CgroupPathsFollowTheMountTableDetectRead) {
    TestChild child([]() -> std::string {
        if (auto why = enter_private_mount_namespace(); !why.empty()) return why;
        auto first = detect();
        if (!first || first->hierarchies.empty()) return "no hierarchy";
        const std::string procs = first->hierarchies.front().mount + "/cgroup.procs";
        auto seen = [&]() -> std::string {
            if (auto now = detect(); !now) return "error " + now.error().message();
            bool plain = ::access(procs.c_str(), F_OK) == 0;
            bool at_mount = at::exists(procs);
            return fmt::format("{}{}", plain ? "P" : "-", at_mount ? "A" : "-");
        };
        std::string out = seen() + "|";
        std::string mount = first->hierarchies.front().mount;
        if (::mount("tmpfs", mount.c_str(), "tmpfs", 0, "size=1m") != 0) return "tmpfs: " + ctb::errno_name(errno);
        out += seen() + "|";
        if (::umount2(mount.c_str(), MNT_DETACH) != 0) return "umount: " + ctb::errno_name(errno);
        return out + seen();
    });
    child.go();
    auto seen = child.result(20s);
    ASSERT_TRUE(seen) << "the child did not finish";
    EXPECT_EQ(*seen, "PA|--|PA");
}
