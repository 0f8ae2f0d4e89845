#include "benches/baselines/hang_report.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace ctb::vm {
namespace {

constexpr std::string_view kRedraw = "\r\033[K";

// What the kernel prints first when a CPU or a task is stuck, or when it dies.
constexpr std::array<std::string_view, 7> kReportStarts = {
    "BUG: soft lockup",  "self-detected stall", "rcu_preempt detected stalls", "blocked for more than",
    "BUG: unable to handle", "Oops:",            "Kernel panic",
};

std::string without_cr(std::string line) {
    std::erase(line, '\r');
    return line;
}

}  // namespace

std::string last_progress(const std::string& console) {
    std::size_t at = console.rfind(kRedraw);
    // The final redraw only clears the line (before the summary): take the last one with text.
    while (at != std::string::npos) {
        std::size_t from = at + kRedraw.size();
        std::size_t end = console.find_first_of("\r\n", from);
        std::string text = console.substr(from, end == std::string::npos ? std::string::npos : end - from);
        if (!text.empty() && text.front() == '[') return text;
        if (at == 0) break;
        at = console.rfind(kRedraw, at - 1);
    }
    return "";
}

std::string first_kernel_report(const std::string& console, std::size_t max_lines) {
    std::size_t first = std::string::npos;
    for (auto start : kReportStarts) first = std::min(first, console.find(start));
    if (first == std::string::npos || max_lines == 0) return "";
    std::size_t line_start = console.rfind('\n', first);
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    std::string out;
    std::size_t pos = line_start;
    for (std::size_t n = 0; n < max_lines && pos < console.size(); ++n) {
        std::size_t nl = console.find('\n', pos);
        out += without_cr(console.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos)) + "\n";
        if (nl == std::string::npos) break;
        pos = nl + 1;
    }
    return out;
}

std::string hang_report(const std::string& console) {
    std::string out;
    if (auto progress = last_progress(console); !progress.empty())
        out += "the guest's ctbench was at: " + progress + "\n";
    if (auto report = first_kernel_report(console); !report.empty())
        out += "the guest kernel's first report:\n" + report;
    return out;
}

}  // namespace ctb::vm
