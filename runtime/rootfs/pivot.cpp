#include "runtime/rootfs/pivot.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "runtime/rootfs/mount_options.hpp"

namespace ctb::rootfs {
namespace {

Result<unsigned long> requested(const std::string& propagation) {
    if (auto flags = propagation_flags(propagation)) return *flags;
    return fail(plain_error("set rootfs propagation", "linux.rootfsPropagation",
                            "\"" + propagation + "\" is not one of private, rprivate, slave, rslave, shared, "
                                                 "rshared, unbindable, runbindable"));
}

Status set_root_flags(unsigned long flags) {
    if (::mount(nullptr, "/", nullptr, flags, nullptr) != 0) return fail(sys_error("set propagation of", "/"));
    return {};
}

}  // namespace

Status set_rootfs_propagation(const std::string& propagation) {
    if (propagation.empty()) return set_root_flags(MS_SLAVE | MS_REC);
    auto flags = requested(propagation);
    if (!flags) return fail(flags.error());
    bool receives = (*flags & (MS_SHARED | MS_SLAVE)) != 0;
    return set_root_flags((receives ? MS_SLAVE : MS_PRIVATE) | MS_REC);
}

Status apply_root_propagation(const std::string& propagation) {
    if (propagation.empty()) return {};
    auto flags = requested(propagation);
    if (!flags) return fail(flags.error());
    return set_root_flags(*flags);
}

Status prepare_rootfs_mount(const std::string& rootfs, bool may_reuse_mount) {
    // pivot_root needs the new root to be a mount of its own. An image overlay mounted for this
    // container, or a bundle rootfs that is a mount already, is one: binding it onto itself
    // would only add a mount to copy now and to tear down with the namespace.
    // (Only with private propagation: a shared or slave root gets its own bind, as before.)
    struct statx stx {};
    if (may_reuse_mount && ::statx(AT_FDCWD, rootfs.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
        (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        return {};
    if (::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return fail(sys_error("bind mount rootfs on", rootfs));
    return {};
}

Status pivot_root_into(const std::string& rootfs) {
    UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!old_root) return fail(sys_error("open", "/"));
    UniqueFd new_root(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!new_root) return fail(sys_error("open", rootfs));
    if (::fchdir(new_root.get()) != 0) return fail(sys_error("chdir", rootfs));
    if (::syscall(SYS_pivot_root, ".", ".") != 0) return fail(sys_error("pivot_root into", rootfs));
    // The old root now sits on top of the new one; reach it through its descriptor.
    if (::fchdir(old_root.get()) != 0) return fail(sys_error("chdir", "old root"));
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
        return fail(sys_error("make rslave", "old root"));
    if (::umount2(".", MNT_DETACH) != 0) return fail(sys_error("unmount", "old root"));
    if (::chdir("/") != 0) return fail(sys_error("chdir", "/"));
    return {};
}

}  // namespace ctb::rootfs
