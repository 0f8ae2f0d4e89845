// The bucket arithmetic of the start attribution on recorded (hand-written) event streams.
#include <sched.h>
#include <sys/syscall.h>

#include <gtest/gtest.h>

#include "bpf/attribution.hpp"
#include "bpf/trace_summary.hpp"

namespace ctb::bpf {
namespace {

constexpr std::uint32_t kRoot = 100, kChild = 101, kGrandchild = 102;

struct Stream {
    std::vector<ctb_event> events;

    ctb_event& add(std::uint64_t ts, std::uint32_t tid, ctb_event_kind kind, std::uint32_t level = 0) {
        ctb_event e{};
        e.ts = ts;
        e.tid = e.tgid = tid;
        e.kind = kind;
        e.nr = -1;
        e.stack_id = -1;
        e.pidns_level = level;
        events.push_back(e);
        return events.back();
    }
    void enter(std::uint64_t ts, std::uint32_t tid, long nr, std::uint64_t arg0 = 0, std::uint64_t arg1 = 0,
               std::uint32_t level = 0) {
        auto& e = add(ts, tid, CTB_EV_SYS_ENTER, level);
        e.nr = static_cast<std::int32_t>(nr);
        e.arg0 = arg0;
        e.arg1 = arg1;
    }
    void exit(std::uint64_t ts, std::uint32_t tid, long nr, std::int64_t ret = 0, std::uint32_t level = 0) {
        auto& e = add(ts, tid, CTB_EV_SYS_EXIT, level);
        e.nr = static_cast<std::int32_t>(nr);
        e.ret = ret;
    }
    void out(std::uint64_t ts, std::uint32_t tid, unsigned state, int stack = -1) {
        auto& e = add(ts, tid, CTB_EV_SWITCH_OUT);
        e.arg0 = state;
        e.stack_id = stack;
    }
    void in(std::uint64_t ts, std::uint32_t tid) { add(ts, tid, CTB_EV_SWITCH_IN); }
    void fork(std::uint64_t ts, std::uint32_t parent, std::uint32_t child, std::uint64_t flags) {
        auto& e = add(ts, parent, CTB_EV_FORK);
        e.arg0 = child;
        e.arg1 = flags;
    }
};

double on(const Attribution& a, Phase p) { return a.phases.contains(p) ? a.phases.at(p).on_cpu_ns : 0; }
double off(const Attribution& a, Phase p) { return a.phases.contains(p) ? a.phases.at(p).blocked_ns : 0; }

void expect_sums_to_window(const Attribution& a) {
    EXPECT_DOUBLE_EQ(a.attributed_ns() + a.unattributed_ns, a.window_ns);
}

TEST(Attribution, RootAloneInUserSpaceIsRuntimeUser) {
    Stream s;
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(on(a, Phase::runtime_user), 1000);
    EXPECT_DOUBLE_EQ(a.unattributed_ns, 0);
    expect_sums_to_window(a);
}

TEST(Attribution, EventsOutsideTheWindowAreIgnored) {
    Stream s;
    s.enter(500, kRoot, SYS_mount);
    s.exit(900, kRoot, SYS_mount);
    s.enter(1500, kRoot, SYS_mount);
    s.exit(1700, kRoot, SYS_mount);
    s.enter(2500, kRoot, SYS_mount);
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(on(a, Phase::mounts), 200);
    EXPECT_DOUBLE_EQ(on(a, Phase::runtime_user), 800);
    EXPECT_EQ(a.events, 2u);
    expect_sums_to_window(a);
}

TEST(Attribution, BlockingInsideASyscallIsBlockedTimeOfItsPhase) {
    Stream s;
    s.enter(1100, kRoot, SYS_rmdir);
    s.add(1150, kRoot, CTB_EV_CGROUP).arg0 = CTB_CG_RMDIR;  // the cgroup tracepoint reclassifies rmdir
    s.out(1200, kRoot, 2, 7);                              // D state, stack 7
    s.in(1700, kRoot);
    s.exit(1800, kRoot, SYS_rmdir);
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(on(a, Phase::cgroups), 200);
    EXPECT_DOUBLE_EQ(off(a, Phase::cgroups), 500);
    EXPECT_DOUBLE_EQ(a.phases.at(Phase::cgroups).blocked_by_stack.at(7), 500);
    EXPECT_DOUBLE_EQ(a.blocked_reasons.at("uninterruptible"), 500);
    EXPECT_DOUBLE_EQ(on(a, Phase::runtime_user), 300);
    expect_sums_to_window(a);
}

TEST(Attribution, CgroupfsFilesAreFoundByTheirFilesystem) {
    Stream s;
    s.enter(1100, kRoot, SYS_write, 5);
    s.events.back().file.fs_magic = kCgroupMagic;
    s.exit(1300, kRoot, SYS_write);
    s.enter(1400, kRoot, SYS_openat);
    s.exit(1500, kRoot, SYS_openat, 6);
    s.events.back().file.fs_magic = kCgroup2Magic;  // known only when the call returns its fd
    s.enter(1600, kRoot, SYS_write, 1);             // another file: not cgroups
    s.exit(1700, kRoot, SYS_write);
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(on(a, Phase::cgroups), 300);
    EXPECT_DOUBLE_EQ(on(a, Phase::runtime_syscalls), 100);
    expect_sums_to_window(a);
}

TEST(Attribution, CloneFlagsDecideNamespacesAndNameThem) {
    Stream s;
    s.enter(1100, kRoot, SYS_clone3);
    s.fork(1200, kRoot, kChild, CLONE_NEWPID | CLONE_NEWNET);
    s.exit(1300, kRoot, SYS_clone3, kChild);
    s.enter(1400, kRoot, SYS_clone3);
    s.fork(1450, kRoot, kGrandchild, CLONE_VM | CLONE_VFORK);  // a plain process
    s.exit(1500, kRoot, SYS_clone3, kGrandchild);
    s.enter(1600, kRoot, SYS_unshare, CLONE_NEWCGROUP);
    s.exit(1650, kRoot, SYS_unshare);
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(on(a, Phase::namespaces), 250);
    EXPECT_DOUBLE_EQ(on(a, Phase::process), 100);
    EXPECT_DOUBLE_EQ(a.namespace_ops.at("clone3(pid,net)"), 200);
    EXPECT_DOUBLE_EQ(a.namespace_ops.at("unshare(cgroup)"), 50);
    expect_sums_to_window(a);
}

TEST(Attribution, OverlappingTasksOnTwoCpusShareTheInterval) {
    Stream s;
    s.enter(1000, kRoot, SYS_clone3);
    s.fork(1000, kRoot, kChild, 0);
    s.exit(1000, kRoot, SYS_clone3, kChild);
    s.in(1200, kChild);  // both on a CPU from 1200 to 1600
    s.enter(1200, kChild, SYS_mount);
    s.exit(1600, kChild, SYS_mount);
    s.enter(1600, kRoot, SYS_wait4);
    s.out(1600, kRoot, 1);  // the root waits; the child alone from here
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(on(a, Phase::mounts), 200);                // half of 400
    EXPECT_DOUBLE_EQ(on(a, Phase::runtime_user), 200 + 200 + 400);  // root alone, root's half, child after
    EXPECT_DOUBLE_EQ(off(a, Phase::wait), 0);                   // never the only candidate
    expect_sums_to_window(a);
}

TEST(Attribution, NestedWaitsGoToTheTaskDoingTheWork) {
    Stream s;  // root waits for child, child waits for grandchild, grandchild works
    s.enter(1000, kRoot, SYS_clone3);
    s.fork(1000, kRoot, kChild, 0);
    s.exit(1000, kRoot, SYS_clone3);
    s.enter(1010, kRoot, SYS_wait4);
    s.out(1010, kRoot, 1);
    s.in(1010, kChild);
    s.enter(1020, kChild, SYS_clone3);
    s.fork(1020, kChild, kGrandchild, 0);
    s.exit(1020, kChild, SYS_clone3);
    s.enter(1030, kChild, SYS_read);
    s.out(1030, kChild, 1);
    s.in(1030, kGrandchild);
    s.enter(1030, kGrandchild, SYS_pivot_root);
    s.exit(1900, kGrandchild, SYS_pivot_root);
    s.out(1900, kGrandchild, 1);  // everyone blocked: the waiters share the rest
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(on(a, Phase::mounts), 870);
    EXPECT_DOUBLE_EQ(off(a, Phase::runtime_user), 100);  // grandchild asleep in user space: real work
    expect_sums_to_window(a);
}

TEST(Attribution, ContainerExecAndItsProcess) {
    Stream s;
    s.enter(1000, kRoot, SYS_clone3);
    s.fork(1000, kRoot, kChild, CLONE_NEWPID);
    s.exit(1000, kRoot, SYS_clone3);
    s.enter(1000, kRoot, SYS_wait4);
    s.out(1000, kRoot, 1);
    s.in(1000, kChild);
    s.enter(1100, kChild, SYS_execve, 0, 0, 1);
    s.add(1300, kChild, CTB_EV_EXEC, 1);
    s.exit(1400, kChild, SYS_execve, 0, 1);
    s.enter(1500, kChild, SYS_exit_group, 0, 0, 1);
    s.add(1550, kChild, CTB_EV_EXIT, 1);
    s.out(1600, kChild, 0x80);  // TASK_DEAD: gone; the root waits alone
    s.in(1800, kRoot);
    s.exit(1800, kRoot, SYS_wait4, kChild);
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(on(a, Phase::runtime_user), 100 + 200);  // child before exec, root after wait
    EXPECT_DOUBLE_EQ(on(a, Phase::exec), 300);
    EXPECT_DOUBLE_EQ(on(a, Phase::container), 200);        // user space 1400-1500, exit 1500-1600
    EXPECT_DOUBLE_EQ(off(a, Phase::wait), 200);            // the root waiting alone 1600-1800
    expect_sums_to_window(a);
}

TEST(Attribution, ATaskExitingMidPhaseStopsCounting) {
    Stream s;
    s.enter(1000, kRoot, SYS_clone3);
    s.fork(1000, kRoot, kChild, 0);
    s.exit(1000, kRoot, SYS_clone3);
    s.enter(1000, kRoot, SYS_wait4);
    s.out(1000, kRoot, 1);
    s.in(1000, kChild);
    s.enter(1000, kChild, SYS_mount);
    s.add(1200, kChild, CTB_EV_EXIT);  // killed inside mount
    s.out(1300, kChild, 0x80);
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(on(a, Phase::mounts), 300);  // committed at its last switch-out
    EXPECT_DOUBLE_EQ(off(a, Phase::wait), 700);
    expect_sums_to_window(a);
}

TEST(Attribution, StartupLastsUntilTheFirstNonLoaderCall) {
    Stream s;
    s.enter(1000, kRoot, SYS_execve);
    s.exit(1100, kRoot, SYS_execve);
    s.enter(1200, kRoot, SYS_mmap);
    s.exit(1300, kRoot, SYS_mmap);
    s.enter(1500, kRoot, SYS_mount);  // the program's own work starts here
    s.exit(1600, kRoot, SYS_mount);
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(on(a, Phase::startup), 500);
    EXPECT_DOUBLE_EQ(on(a, Phase::mounts), 100);
    EXPECT_DOUBLE_EQ(on(a, Phase::runtime_user), 400);
    expect_sums_to_window(a);
}

TEST(Attribution, PreemptedTasksAreBlockedOnTheRunqueue) {
    Stream s;
    s.out(1200, kRoot, 0);  // preempted by a task we do not trace
    s.in(1500, kRoot);
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(off(a, Phase::runtime_user), 300);
    EXPECT_DOUBLE_EQ(a.blocked_reasons.at("preempted"), 300);
    expect_sums_to_window(a);
}

TEST(Attribution, NoKnownTaskIsUnattributed) {
    Stream s;
    s.out(1500, kRoot, 0x80);  // the root itself gone (cannot happen in a bench; the model allows it)
    auto a = attribute(s.events, {1000, 2000, kRoot});
    EXPECT_DOUBLE_EQ(a.unattributed_ns, 500);
    expect_sums_to_window(a);
}

TEST(TraceSummary, MediansSharesAndTopWait) {
    TraceSeries series;
    for (int i = 0; i < 3; ++i) {
        Stream s;
        s.enter(1000, kRoot, SYS_rmdir);
        s.add(1000, kRoot, CTB_EV_CGROUP).arg0 = CTB_CG_RMDIR;
        s.out(1000, kRoot, 2, 3);
        s.in(1000 + 100 * (i + 1), kRoot);
        s.exit(1000 + 100 * (i + 1), kRoot, SYS_rmdir);
        series.add(attribute(s.events, {1000, 2000, kRoot}), 0.001, [](int id) { return "stack" + std::to_string(id); });
    }
    auto j = series.summary({{"program_type", "tp_btf"}});
    EXPECT_EQ(j["tracer"]["samples"], 3);
    bool found = false;
    for (const auto& row : j["phases"])
        if (row["name"] == "cgroups") {
            found = true;
            EXPECT_DOUBLE_EQ(row["blocked_ms"].get<double>(), 0.0002);  // median of 100, 200, 300 ns
            EXPECT_DOUBLE_EQ(row["share"].get<double>(), 0.2);
            EXPECT_EQ(row["top_wait"], "stack3");
        }
    EXPECT_TRUE(found);
    EXPECT_DOUBLE_EQ(j["sum_error"].get<double>(), 0);  // 1000 ns window, 0.001 ms wall
    EXPECT_DOUBLE_EQ(j["unattributed_share"].get<double>(), 0);
}

}  // namespace
}  // namespace ctb::bpf
