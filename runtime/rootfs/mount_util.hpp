// Helpers shared by the rootfs steps: path resolution that cannot leave the container's root,
// mount points created through file descriptors, and read-only remounts that keep locked flags.
//
// Why descriptors: a destination like /etc/x may pass through a symlink the image controls
// (/etc -> /host/etc). Resolving it with openat2(RESOLVE_IN_ROOT) treats the rootfs as "/", so
// the symlink lands inside the rootfs; mounting onto /proc/self/fd/N then mounts onto exactly
// the object we resolved (runc's fix for CVE-2021-30465 and friends), with no second lookup
// that a racing container process could redirect.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace ctb::rootfs {

// "/proc/self/fd/N": a path for mount(2) that names the already-resolved object.
std::string fd_path(int fd);

// "/a/b" joined under root, lexically ("/run/x/rootfs" + "/proc" -> "/run/x/rootfs/proc"):
// what error messages show; never used to reach the object.
std::string shown_path(const std::string& root, const std::string& path);

// Opens `path` as the container sees it, with symlinks and ".." kept inside `root_fd`.
// flags as for openat2 (O_PATH is typical); O_CLOEXEC is always added. extra_resolve adds
// RESOLVE_* flags (RESOLVE_NO_SYMLINKS where no redirection at all is acceptable).
Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags,
                              const std::string& shown, unsigned long extra_resolve = 0);

// mkdir -p inside the root; returns an O_PATH descriptor of the final directory. A dangling
// symlink on the way is followed as mkdir -p would, with its target taken inside the root.
Result<UniqueFd> mkdir_all_in_root(int root_fd, const std::string& path, const std::string& shown);

// Makes `path` exist as a directory (is_dir) or an empty file, creating parents; returns an
// O_PATH descriptor of it. An existing object is reused as it is; a dangling symlink as the
// leaf gets its target created (inside the root), which is where the kernel would mount.
Result<UniqueFd> make_mount_point(int root_fd, const std::string& path, bool is_dir,
                                  const std::string& shown);

// Splits "/a/b/c" into parent "/a/b" and leaf "c" (leaf "" for "/").
std::pair<std::string, std::string> split_leaf(const std::string& path);

// MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_NOSYMFOLLOW as currently set on the mount at `path`.
// A bind remount replaces these per-mount flags wholesale, and in a user namespace the kernel
// refuses (EPERM) to clear ones it locked, so a remount must carry them over.
Result<unsigned long> mount_flags_of(const std::string& path, const std::string& shown);

// Remounts the bind mount at `path` with `set` added and `clear` removed from its current
// per-mount flags (MS_REMOUNT|MS_BIND). `path` should name the mount's root (reopen it after
// mounting: a descriptor taken before the mount names the covered directory, not the mount).
Status remount_bind(const std::string& path, unsigned long set, unsigned long clear,
                    const std::string& shown);

// remount_bind's flags for the mount at `path` and every mount below it, in one
// mount_setattr(AT_RECURSIVE): all of them or none. ENOSYS (kernel < 5.12) is returned as such,
// with nothing changed, for the caller's remount of each mount.
Status set_tree_flags(const std::string& path, unsigned long set, unsigned long clear, const std::string& shown);

// Applies mount_setattr(AT_RECURSIVE) to the tree at `path`: submounts of an rbind are not
// touched by a remount. No-op when both masks are 0; ENOSYS (kernel < 5.12) is reported.
Status set_tree_attributes(const std::string& path, unsigned attr_set, unsigned attr_clear,
                           const std::string& shown);

}  // namespace ctb::rootfs
