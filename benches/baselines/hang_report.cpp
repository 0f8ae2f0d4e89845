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

std::vector<std::string> console_lines(const std::string& console) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < console.size()) {
        std::size_t nl = console.find('\n', pos);
        std::string line = console.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        if (auto redraw = line.rfind(kRedraw); redraw != std::string::npos) line.erase(0, redraw + kRedraw.size());
        std::erase(line, '\r');  // the serial console ends lines with \r\n
        lines.push_back(std::move(line));
        if (nl == std::string::npos) break;
        pos = nl + 1;
    }
    return lines;
}

std::string first_kernel_report(const std::string& console, std::size_t max_lines) {
    auto lines = console_lines(console);
    auto starts_report = [](const std::string& line) {
        return std::any_of(kReportStarts.begin(), kReportStarts.end(),
                           [&](std::string_view start) { return line.find(start) != std::string::npos; });
    };
    auto first = std::find_if(lines.begin(), lines.end(), starts_report);
    std::string out;
    for (auto it = first; it != lines.end() && static_cast<std::size_t>(it - first) < max_lines; ++it) out += *it + "\n";
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
