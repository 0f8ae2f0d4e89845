#include "runtime/rootfs/paths.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/rootfs/mount_util.hpp"

namespace ctb::rootfs {
namespace {

// Both run after pivot_root, by path: no lookup can leave the container's root any more, and no
// other process shares its new mount namespace yet, so an O_PATH descriptor taken first named the
// same object at the cost of two more calls and a lookup of /proc/self/fd/N per path (about 20
// calls per container). A path that changes type in between makes the mount fail, never land
// elsewhere.

bool absent(int err) { return err == ENOENT || err == ENOTDIR; }

Status mask_one(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return absent(errno) ? Status{} : fail(sys_error("stat", path));
    if (S_ISDIR(st.st_mode)) {
        if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
            return fail(sys_error("mount tmpfs (mask) on", path));
        return {};
    }
    if (::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) != 0)
        return fail(sys_error("bind mount /dev/null (mask) on", path));
    return {};
}

Status readonly_one(const std::string& path) {
    // The bind is the existence check too: an absent path is skipped, as runc does.
    if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return absent(errno) ? Status{} : fail(sys_error("bind mount onto itself", path));
    // The path now leads to the bind (a lookup ends on the topmost mount). The whole tree
    // read-only at once; the remount is for kernels without mount_setattr.
    auto tree = set_tree_attributes(path, MOUNT_ATTR_RDONLY, 0, path);
    if (tree || tree.error().err != ENOSYS) return tree;
    return remount_bind(path, MS_RDONLY, 0, path);
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
