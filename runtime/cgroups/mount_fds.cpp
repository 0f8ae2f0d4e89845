#include "runtime/cgroups/mount_fds.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

namespace ctb::cgroup::at {
namespace {

struct MountPoint {
    std::string path;
    std::shared_ptr<const UniqueFd> fd;  // opened on first use
};

struct Known {
    std::mutex lock;
    std::vector<MountPoint> mounts;
};

Known& known() {
    static Known k;
    return k;
}

bool lies_in(const std::string& path, const std::string& mount) {
    return path.size() > mount.size() && path.starts_with(mount) && path[mount.size()] == '/';
}

}  // namespace

void use_mounts(const std::vector<std::string>& mounts) {
    Known& k = known();
    std::lock_guard hold(k.lock);
    std::vector<MountPoint> fresh;
    for (const auto& m : mounts)
        if (m.starts_with("/")) fresh.push_back({m, nullptr});
    k.mounts = std::move(fresh);  // a Where still out keeps its descriptor until it is gone
}

Where resolve(const std::string& path) {
    Known& k = known();
    std::lock_guard hold(k.lock);
    MountPoint* best = nullptr;
    for (auto& m : k.mounts)
        if ((path == m.path || lies_in(path, m.path)) && (!best || m.path.size() > best->path.size())) best = &m;
    if (!best) return {nullptr, path};
    if (!best->fd) {
        auto fd = std::make_shared<UniqueFd>(::open(best->path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!*fd) return {nullptr, path};
        best->fd = std::move(fd);
    }
    return {best->fd, path.size() == best->path.size() ? "." : path.substr(best->path.size() + 1)};
}

int open(const std::string& path, int flags) {
    Where w = resolve(path);
    return ::openat(w.dirfd(), w.relative.c_str(), flags);
}

int mkdir(const std::string& path, mode_t mode) {
    Where w = resolve(path);
    return ::mkdirat(w.dirfd(), w.relative.c_str(), mode);
}

int rmdir(const std::string& path) {
    Where w = resolve(path);
    return ::unlinkat(w.dirfd(), w.relative.c_str(), AT_REMOVEDIR);
}

bool exists(const std::string& path) {
    Where w = resolve(path);
    return ::faccessat(w.dirfd(), w.relative.c_str(), F_OK, 0) == 0;
}

}  // namespace ctb::cgroup::at
