#include "common/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/fd.hpp"

namespace ctb {

Result<std::string> read_rest(int fd, const std::string& what) {
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(sys_error("read", what));
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

Result<std::string> read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error("open", path));
    return read_rest(fd.get(), path);
}

Result<std::string> read_from_start(int fd, const std::string& what) {
    if (::lseek(fd, 0, SEEK_SET) != 0) return fail(sys_error("lseek", what));
    return read_rest(fd, what);
}

Status write_file(const std::string& path, const std::string& content) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC, 0644));
    if (!fd) return fail(sys_error("open", path));
    // cgroup and proc files want the whole value in one write(2).
    ssize_t n = ::write(fd.get(), content.data(), content.size());
    if (n < 0) return fail(sys_error("write", path));
    if (static_cast<std::size_t>(n) != content.size())
        return fail(plain_error("write", path, "short write"));
    return {};
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    std::size_t start = s.find_first_not_of(" \t\n");
    return start == std::string::npos ? std::string{} : s.substr(start);
}

Status make_dirs(const std::string& path, unsigned mode) {
    if (path.empty()) return {};
    // Usually only the last component is missing: one mkdir instead of one per component.
    if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return {};
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        std::string prefix = path.substr(0, pos);
        if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST)
            return fail(sys_error("mkdir", prefix));
    }
    return {};
}

}  // namespace ctb
