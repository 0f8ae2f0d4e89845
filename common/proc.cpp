#include "common/proc.hpp"

#include <sstream>

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
    std::istringstream rest(text->substr(close + 1));
    if (!(rest >> st.state >> st.ppid)) return std::nullopt;
    std::string field;
    for (int i = 5; i <= 22 && rest >> field; ++i) {  // fields 5..22 follow state and ppid
        if (i == 22) {
            st.start_time = std::strtoull(field.c_str(), nullptr, 10);
            return st;
        }
    }
    return std::nullopt;  // truncated
}

}  // namespace ctb
