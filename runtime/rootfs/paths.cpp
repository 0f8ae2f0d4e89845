#include "runtime/rootfs/paths.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/fd.hpp"
#include "runtime/rootfs/mount_util.hpp"

namespace ctb::rootfs {
namespace {

// An O_PATH descriptor of path, or an empty one when the path does not exist.
Result<UniqueFd> open_if_present(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!fd && (errno == ENOENT || errno == ENOTDIR)) return UniqueFd{};
    if (!fd) return fail(sys_error("open", path));
    return fd;
}

Status mask_one(const std::string& path) {
    auto fd = open_if_present(path);
    if (!fd || !*fd) return fd ? Status{} : fail(fd.error());
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return fail(sys_error("stat", path));
    std::string target = fd_path(fd->get());
    if (S_ISDIR(st.st_mode)) {
        if (::mount("tmpfs", target.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
            return fail(sys_error("mount tmpfs (mask) on", path));
        return {};
    }
    if (::mount("/dev/null", target.c_str(), nullptr, MS_BIND, nullptr) != 0)
        return fail(sys_error("bind mount /dev/null (mask) on", path));
    return {};
}

Status readonly_one(const std::string& path) {
    auto fd = open_if_present(path);
    if (!fd || !*fd) return fd ? Status{} : fail(fd.error());
    std::string target = fd_path(fd->get());
    if (::mount(target.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return fail(sys_error("bind mount onto itself", path));
    // The descriptor names what is now under the bind; the bind itself is reached by path.
    UniqueFd top(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!top) return fail(sys_error("open", path));
    std::string bound = fd_path(top.get());
    // The whole tree read-only at once; the remount is for kernels without mount_setattr.
    auto tree = set_tree_attributes(bound, MOUNT_ATTR_RDONLY, 0, path);
    if (tree || tree.error().err != ENOSYS) return tree;
    return remount_bind(bound, MS_RDONLY, 0, path);
}

}  // namespace

Status mask_paths(const std::vector<std::string>& paths) {
    for (const auto& p : paths)
        if (auto s = mask_one(p); !s) return s;
    return {};
}

Status make_paths_readonly(const std::vector<std::string>& paths) {
    for (const auto& p : paths)
        if (auto s = readonly_one(p); !s) return s;
    return {};
}

Status make_root_readonly() { return remount_bind("/", MS_RDONLY, 0, "/"); }

}  // namespace ctb::rootfs
