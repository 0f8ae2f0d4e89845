#include "common/proc.hpp"

#include <cstdlib>
#include <string_view>

#include "common/files.hpp"

namespace ctb {

std::optional<ProcStat> read_proc_stat(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so split at the last ')'.
    auto open = text->find('('), close = text->rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
    ProcStat st;
    st.comm = text->substr(open + 1, close - open - 1);
    // " S ppid f5 ... f22 ...", split by hand: a stream costs more than the read (it runs several
    // times per container start).
    const char* p = text->c_str() + close + 1;
    auto next_field = [&p]() -> std::string_view {
        while (*p == ' ') ++p;
        const char* begin = p;
        while (*p && *p != ' ' && *p != '\n') ++p;
        return {begin, static_cast<std::size_t>(p - begin)};
    };
    auto state = next_field();
    if (state.size() != 1) return std::nullopt;
    st.state = state.front();
    auto ppid = next_field();
    if (ppid.empty()) return std::nullopt;
    st.ppid = static_cast<pid_t>(std::strtol(std::string(ppid).c_str(), nullptr, 10));
    for (int i = 5; i <= 22; ++i) {  // fields 5..22 follow state and ppid
        auto field = next_field();
        if (field.empty()) return std::nullopt;  // truncated
        if (i == 22) st.start_time = std::strtoull(std::string(field).c_str(), nullptr, 10);
    }
    return st;
}

}  // namespace ctb
