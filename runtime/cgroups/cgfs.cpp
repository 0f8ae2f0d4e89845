#include "runtime/cgroups/cgfs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/cgroups/convert.hpp"
#include "runtime/cgroups/mount_fds.hpp"

namespace ctb::cgroup::fs {
namespace {

std::vector<std::string> subdirs(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec) && !it->is_symlink(ec)) out.push_back(it->path().string());
    return out;
}

}  // namespace

std::vector<std::string> components(const std::string& path) {
    std::vector<std::string> out;
    for (std::size_t pos = 0; pos < path.size();) {
        std::size_t slash = std::min(path.find('/', pos), path.size());
        if (slash > pos) out.push_back(path.substr(pos, slash - pos));
        pos = slash + 1;
    }
    return out;
}

bool exists(const std::string& path) { return at::exists(path); }

Status write(const std::string& path, const std::string& value, const std::string& step) {
    UniqueFd fd(at::open(path, O_WRONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error(step, path));
    ssize_t n;
    do n = ::write(fd.get(), value.data(), value.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) return fail(sys_error(step, path));
    if (static_cast<std::size_t>(n) != value.size()) return fail(plain_error(step, path, "short write"));
    return {};
}

Status write_field(const std::string& field, const std::string& path, const std::string& value) {
    auto written = write(path, value, "apply " + field);
    if (!written) {
        Error e = written.error();
        e.detail = fmt::format("writing \"{}\"", value);
        return fail(std::move(e));
    }
    return {};
}

Result<std::string> read(const std::string& path) {
    UniqueFd fd(at::open(path, O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error("open", path));
    auto text = read_rest(fd.get(), path);
    if (!text) return fail(text.error());
    return trim(*text);
}

Status make_leaf(const std::string& mount, const std::string& relative, std::vector<std::string>& created,
                 const std::function<Status(const std::string& dir, bool is_leaf)>& after_mkdir,
                 bool existing_leaf_ok) {
    auto parts = components(relative);
    // The leaf first: its parents nearly always exist (ctbench/ holds every container), and a
    // mkdir that finds one costs a path walk like one that makes it. When it works, the parents
    // are known to exist and only get their after_mkdir; when not, the walk below makes them.
    bool leaf_made = parts.size() > 1 && at::mkdir(mount + "/" + relative, 0755) == 0;
    std::string dir = mount;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        dir += "/" + parts[i];
        bool leaf = i + 1 == parts.size();
        if (leaf_made) {
            if (leaf) created.push_back(dir);
        } else if (at::mkdir(dir, 0755) == 0) {
            created.push_back(dir);
        } else if (errno != EEXIST || (leaf && !existing_leaf_ok)) {
            Error e = sys_error("create cgroup", dir);
            if (errno == EEXIST) e.detail = "already exists (a leftover? `ctbench doctor --cleanup` removes it)";
            return fail(std::move(e));
        }
        if (after_mkdir)
            if (auto ok = after_mkdir(dir, leaf); !ok) return ok;
    }
    return {};
}

void remove_created(const std::vector<std::string>& created) {
    for (auto it = created.rbegin(); it != created.rend(); ++it) at::rmdir(*it);
}

Status remove_tree(const std::string& dir, const Deadline& deadline) {
    // A container's cgroup is nearly always a leaf: try that first. Listing a cgroup directory
    // makes the kernel build an entry for each of its dozens of control files, at every delete.
    if (at::rmdir(dir) == 0 || errno == ENOENT) return {};
    for (const auto& sub : subdirs(dir))
        if (auto ok = remove_tree(sub, deadline); !ok) return ok;
    int last = 0;
    // EBUSY while processes are still leaving (or a killed task is still exiting): wait, bounded.
    // Any other errno will not go away by waiting.
    retry_until(deadline, [&] {
        last = at::rmdir(dir) == 0 || errno == ENOENT ? 0 : errno;
        return last != EBUSY;
    });
    if (last == 0) return {};
    Error e = sys_error("remove cgroup", dir, last);
    if (auto pids = procs_recursive(dir); pids && !pids->empty())
        e.detail = fmt::format("still holds pids {}", fmt::join(*pids, " "));
    return fail(std::move(e));
}

Result<std::vector<pid_t>> procs_recursive(const std::string& dir) {
    std::vector<pid_t> out;
    auto text = read(dir + "/cgroup.procs");
    if (!text) {
        if (text.error().err == ENOENT && !exists(dir)) return out;
        return fail(text.error());
    }
    out = parse_pids(*text);
    for (const auto& sub : subdirs(dir)) {
        auto more = procs_recursive(sub);
        if (!more) return more;
        out = merge_pids(std::move(out), *more);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<pid_t> merge_pids(std::vector<pid_t> a, const std::vector<pid_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    std::sort(a.begin(), a.end());
    a.erase(std::unique(a.begin(), a.end()), a.end());
    return a;
}

Status signal_until_done(const std::function<Result<std::vector<pid_t>>()>& list, int sig,
                         const std::string& where, const std::function<void()>& after_pass) {
    std::set<pid_t> signalled;
    std::optional<Error> error;
    std::vector<pid_t> left;
    bool done = retry_until(Deadline(kKillTimeout), [&] {
        auto pids = list();
        if (!pids) {
            error = pids.error();
            return true;
        }
        left = *pids;
        bool fresh = false;
        for (pid_t pid : *pids) {
            // SIGKILL is re-sent every round: a task that was mid-fork may have missed it.
            if (sig != SIGKILL && signalled.count(pid)) continue;
            fresh = true;
            signalled.insert(pid);
            // Only pids read from this cgroup's own cgroup.procs: ours by construction.
            if (::kill(pid, sig) != 0 && errno != ESRCH) {
                error = sys_error(fmt::format("send signal {} to pid {}", sig, pid), where);
                return true;
            }
        }
        if (after_pass) after_pass();
        return sig == SIGKILL ? pids->empty() : !fresh;
    });
    if (error) return fail(*error);
    if (!done)
        return fail(plain_error(fmt::format("kill processes with signal {}", sig), where,
                                fmt::format("pids {} still present after {} s", fmt::join(left, " "),
                                            kKillTimeout.count())));
    return {};
}

}  // namespace ctb::cgroup::fs
