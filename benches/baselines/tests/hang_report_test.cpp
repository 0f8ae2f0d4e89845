// hang_report: what a hung guest's console says, on console text shaped like this machine's
// (serial \r\n line ends, ctbench's progress redraws, the lines a `quiet` 6.1 guest printed when
// it hung in CI).
#include <gtest/gtest.h>

#include "benches/baselines/hang_report.hpp"

namespace ctb::vm {
namespace {

const std::string kConsole =
    "ctbench-guest: running ctbench run --suite cgroup\r\n"
    "\r\033[K[1/15] 0 s | 0 pass 0 fail 0 skip 0 error 0 series | cgroup.blkio.throttle"
    "\r\033[K[2/15] 1 s | 1 pass 0 fail 0 skip 0 error 0 series | cgroup.cpu.quota"
    "\r\033[K[3/15] 4 s | 2 pass 0 fail 0 skip 0 error 0 series | cgroup.cpu.weight_ratio\r\n"
    "[  208.238711] watchdog: BUG: soft lockup - CPU#0 stuck for 190s! [ctbench:160]\r\n"
    "[  216.914809] rcu: INFO: rcu_preempt self-detected stall on CPU\r\n"
    "[  216.915003] rcu: \t0-...!: (52508 ticks this GP) idle=7aec/1/0x4000000000000000 softirq=741/741 fqs=0\r\n"
    "[  244.239118] watchdog: BUG: soft lockup - CPU#0 stuck for 224s! [ctbench:160]\r\n";

TEST(HangReport, LastProgressIsTheCaseInProgress) {
    EXPECT_EQ(last_progress(kConsole), "[3/15] 4 s | 2 pass 0 fail 0 skip 0 error 0 series | cgroup.cpu.weight_ratio");
}

TEST(HangReport, AFinalClearingRedrawIsSkipped) {
    EXPECT_EQ(last_progress("\r\033[K[9/9] 3 s | x | cgroup.pids.limit\r\033[K\nsummary\n"), "[9/9] 3 s | x | cgroup.pids.limit");
    EXPECT_EQ(last_progress("no progress line at all\n"), "");
}

TEST(HangReport, FirstKernelReportFromItsLineOnBounded) {
    auto report = first_kernel_report(kConsole, 2);
    EXPECT_EQ(report,
              "[  208.238711] watchdog: BUG: soft lockup - CPU#0 stuck for 190s! [ctbench:160]\n"
              "[  216.914809] rcu: INFO: rcu_preempt self-detected stall on CPU\n");
    EXPECT_EQ(first_kernel_report("[    1.0] all well\n"), "");
}

TEST(HangReport, TheEarliestOfSeveralKindsOfReportComesFirst) {
    std::string console = "x\n[ 5.0] INFO: task ctbench:9 blocked for more than 120 seconds.\n"
                          "[ 9.0] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [a:1]\n";
    EXPECT_EQ(first_kernel_report(console, 1), "[ 5.0] INFO: task ctbench:9 blocked for more than 120 seconds.\n");
}

TEST(HangReport, BothPartsOrNothing) {
    auto text = hang_report(kConsole);
    EXPECT_NE(text.find("the guest's ctbench was at: [3/15]"), std::string::npos) << text;
    EXPECT_NE(text.find("the guest kernel's first report:\n[  208.238711] watchdog"), std::string::npos) << text;
    EXPECT_EQ(hang_report("boot lines only\n"), "");
}

}  // namespace
}  // namespace ctb::vm
