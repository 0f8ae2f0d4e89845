#include <gtest/gtest.h>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/deadline.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
#include "common/proc.hpp"
#include "common/subprocess.hpp"

using namespace ctb;

TEST(Error, MessageNamesStepObjectAndErrno) {
    Error e = sys_error("mount /proc on", "/run/ctbench/x/rootfs/proc", EPERM);
    EXPECT_EQ(e.message(), "mount /proc on /run/ctbench/x/rootfs/proc: EPERM (Operation not permitted)");
}

TEST(Error, PlainErrorCarriesDetail) {
    Error e = plain_error("parse", "linux.resources.memory.limit", "expected integer, got \"abc\"");
    EXPECT_EQ(e.message(), "parse linux.resources.memory.limit: expected integer, got \"abc\"");
}

TEST(Error, UnknownErrnoHasName) { EXPECT_EQ(errno_name(4242), "errno 4242"); }

TEST(Files, Trim) {
    EXPECT_EQ(trim("  6.18.0\n"), "6.18.0");
    EXPECT_EQ(trim("\n"), "");
}

TEST(Subprocess, CapturesOutputAndExitCode) {
    auto r = run_process({"sh", "-c", "echo hello; exit 3"});
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->exit_code, 3);
    EXPECT_EQ(r->output, "hello\n");
    EXPECT_FALSE(r->timed_out);
}

TEST(Subprocess, KillsAtDeadline) {
    RunOptions opts;
    opts.timeout = std::chrono::milliseconds(100);
    auto r = run_process({"sleep", "30"}, opts);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->timed_out);
    EXPECT_EQ(r->term_signal, SIGKILL);
}

TEST(Subprocess, StopsAtMarker) {
    RunOptions opts;
    opts.stop_when_output_contains = "READY";
    auto r = run_process({"sh", "-c", "echo READY; sleep 30"}, opts);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->timed_out);
    EXPECT_NE(r->output.find("READY"), std::string::npos);
}

TEST(Subprocess, MissingProgramIsEnoent) {
    auto r = run_process({"ctbench-no-such-program"});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().err, ENOENT);
}

TEST(Deadline, RetryUntilGivesUp) {
    int calls = 0;
    bool ok = retry_until(Deadline(std::chrono::milliseconds(20)), [&] { return ++calls < 0; });
    EXPECT_FALSE(ok);
    EXPECT_GT(calls, 1);
}

#include "common/child.hpp"

TEST(Child, ReturnsTheChildsText) {
    auto r = run_in_child([] { return std::string("from child"); });
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(*r, "from child");
}

TEST(Child, ReportsAnExceptionAsError) {
    auto r = run_in_child([]() -> std::string { throw std::runtime_error("boom"); });
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("boom"), std::string::npos);
}

TEST(Child, KillsAHangingChildAtTheDeadline) {
    auto r = run_in_child([] { ::pause(); return std::string(); }, std::chrono::milliseconds(100));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("timed out"), std::string::npos);
}

TEST(Proc, StatOfSelfChildAndZombie) {
    auto self = read_proc_stat(::getpid());
    ASSERT_TRUE(self);
    EXPECT_EQ(self->ppid, ::getppid());
    EXPECT_FALSE(self->exited());
    EXPECT_GT(self->start_time, 0u);
    pid_t child = ::fork();
    if (child == 0) {
        ::prctl(PR_SET_NAME, "odd) name (x", 0, 0, 0);  // comm with spaces and parentheses
        ::pause();
        ::_exit(0);
    }
    ASSERT_GT(child, 0);
    std::optional<ProcStat> st;
    for (int i = 0; i < 200 && (!(st = read_proc_stat(child)) || st->comm != "odd) name (x"); ++i) ::usleep(5000);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->comm, "odd) name (x");
    EXPECT_EQ(st->ppid, ::getpid());
    EXPECT_GE(st->start_time, self->start_time);
    ::kill(child, SIGKILL);
    siginfo_t si{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &si, WEXITED | WNOWAIT), 0);  // a zombie now
    auto zombie = read_proc_stat(child);
    ASSERT_TRUE(zombie);
    EXPECT_TRUE(zombie->exited());
    ::waitpid(child, nullptr, 0);
    EXPECT_FALSE(read_proc_stat(child));
    EXPECT_FALSE(read_proc_stat(0));
}
