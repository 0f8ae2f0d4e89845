// What the console of a guest whose command never finished says about where it hung. The
// suite guest's cgroup run has hung twice in CI under TCG (a soft lockup on CPU#0 with CPU#1's
// timers silent), and its error then showed only the last 20 console lines: the lockup
// repeating, neither the case in progress nor the kernel's first report of it.
#pragma once

#include <string>
#include <vector>

namespace ctb::vm {

// The console's lines as a terminal shows them: "\r\n" line ends taken as "\n", and a line a
// program redrew ("\r\033[K" before each update) as its last version. vm.cpp reads the console
// through this too.
std::vector<std::string> console_lines(const std::string& console);

// The last update of ctbench's live progress line in the console ("[7/15] 12 s | ... |
// cgroup.freezer.stops_and_resumes"): the guest's stderr is the serial console, a terminal,
// so the progress line is redrawn there ("\r\033[K" before each update). "" when none.
std::string last_progress(const std::string& console);

// The first kernel report in the console (soft lockup, RCU stall, hung task, BUG, Oops,
// panic), that line and up to `max_lines` - 1 after it. "" when there is none.
std::string first_kernel_report(const std::string& console, std::size_t max_lines = 40);

// Both, as text for an error message: "" when the console has neither.
std::string hang_report(const std::string& console);

}  // namespace ctb::vm
