// The real start tracer on this kernel: it attaches with the kind the host supports, follows a
// process tree (and nothing else), loses nothing, and leaves no program or link behind.
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "bpf/attribution.hpp"
#include "bpf/probe.hpp"
#include "bpf/start_tracer.hpp"
#include "common/deadline.hpp"
#include "common/subprocess.hpp"

namespace ctb::bpf {
namespace {

std::vector<std::string> attachable_kinds() {
    ensure_tracefs();
    std::vector<std::string> kinds;
    for (const auto& [kind, f] : probe_program_types())
        if (f.available) kinds.push_back(kind);
    return kinds;
}

// A child that makes a new UTS namespace and execs /bin/true: fork, unshare, exec, exit, wait.
void workload() {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::unshare(CLONE_NEWUTS) != 0) ::_exit(3);
        ::execl("/bin/true", "true", nullptr);
        ::_exit(127);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

std::string bpftool_listing(const char* what) {
    for (const char* bpftool : {"/usr/sbin/bpftool", "/sbin/bpftool"}) {
        auto r = run_process({bpftool, what, "list"});
        if (r) return r->output;
    }
    return "(bpftool not found)";
}

TEST(StartTracer, FollowsTheTreeAndLeavesNothing) {
    auto kinds = attachable_kinds();
    auto tracer = StartTracer::open(kinds);
    ASSERT_TRUE(tracer) << tracer.error().message();
    ASSERT_TRUE((*tracer)->follow(static_cast<pid_t>(::syscall(SYS_gettid))));
    ASSERT_TRUE((*tracer)->attach());
    EXPECT_NE(bpftool_listing("prog").find("ctb_st_switch"), std::string::npos);
    Window w{monotonic_ns(), 0, static_cast<std::uint32_t>(::syscall(SYS_gettid))};
    workload();
    w.end_ns = monotonic_ns();
    auto events = (*tracer)->drain();
    (*tracer)->detach();
    EXPECT_EQ((*tracer)->events_lost(), 0u);
    EXPECT_GT((*tracer)->events_seen(), 0u);

    bool fork_seen = false, exec_seen = false, unshare_seen = false, switch_seen = false;
    std::uint32_t self = w.root_tid, child = 0;
    for (const auto& e : events) {
        if (e.kind == CTB_EV_FORK && e.tid == self) {
            fork_seen = true;
            child = static_cast<std::uint32_t>(e.arg0);
        }
        if (e.kind == CTB_EV_EXEC && e.tid == child) exec_seen = true;
        if (e.kind == CTB_EV_SYS_ENTER && e.tid == child && e.nr == SYS_unshare) unshare_seen = (e.arg0 & CLONE_NEWUTS) != 0;
        if (e.kind == CTB_EV_SWITCH_OUT && e.tid == self) switch_seen = true;
        // Only the followed tree: this process and its child.
        EXPECT_TRUE(e.tid == self || e.tid == child) << "event of an unrelated task " << e.tid;
    }
    EXPECT_TRUE(fork_seen);
    EXPECT_TRUE(exec_seen);
    EXPECT_TRUE(unshare_seen);
    EXPECT_TRUE(switch_seen);

    auto a = attribute(events, w);
    EXPECT_NEAR(a.attributed_ns() + a.unattributed_ns, a.window_ns, 1.0);
    EXPECT_GT(a.phases[Phase::namespaces].total(), 0);
    EXPECT_EQ(a.namespace_ops.count("unshare(uts)"), 1u);
    EXPECT_LE(a.unattributed_ns, 0.05 * a.window_ns);

    tracer->reset();  // destroys the skeleton: programs, links, maps
    // The kernel frees a program once its last reference goes, after an RCU grace period.
    bool gone = retry_until(Deadline(std::chrono::seconds(5)), [] {
        return bpftool_listing("prog").find("ctb_st_") == std::string::npos &&
               bpftool_listing("link").find("ctb_st_") == std::string::npos;
    });
    EXPECT_TRUE(gone) << bpftool_listing("prog") << bpftool_listing("link");
}

TEST(StartTracer, RefusesAHostWithoutUsableProgramKinds) {
    auto tracer = StartTracer::open({"tracepoint", "kprobe"});
    ASSERT_FALSE(tracer);
    EXPECT_NE(tracer.error().message().find("neither tp_btf nor raw_tp"), std::string::npos);
}

}  // namespace
}  // namespace ctb::bpf
