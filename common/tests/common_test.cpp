#include <gtest/gtest.h>

#include <cerrno>

#include "common/deadline.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
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
