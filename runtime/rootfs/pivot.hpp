// Making the rootfs the container's "/": propagation first (so nothing the container mounts can
// reach the host), the rootfs as a mount point of its own, then pivot_root with the old root
// detached so no path leads back to the host's filesystem.
#pragma once

#include <string>

#include "common/error.hpp"

namespace ctb::rootfs {

// Before any mount, on "/" of the new mount namespace. OCI linux.rootfsPropagation; unset means
// rslave, as runc does: the container receives what the host mounts later below a bind that asks
// for it (an rshared or rslave bind needs a master to receive from) and sends nothing back.
// Whatever is asked, the setup phase runs with "/" rprivate, or rslave when shared or slave (or
// nothing) is asked: after unshare(CLONE_NEWNS) our copies of the host's shared mounts are still
// the host's peers, and a shared setup would mount the container's /proc onto the host.
// The exact mode is applied by apply_root_propagation once "/" is the container's root.
Status set_rootfs_propagation(const std::string& propagation);

// After pivot_root: rootfsPropagation as asked. Unset: nothing more (runc applies it only when
// set; a recursive mode here would reset the propagation each bind mount asked for).
Status apply_root_propagation(const std::string& propagation);

// Binds rootfs onto itself (recursively, keeping mounts already under it): pivot_root needs
// new_root to be a mount point, and a plain directory of the host's / is not one. With
// may_reuse_mount (private propagation, no new user namespace: there copied mounts are locked
// and pivot_root refuses them), a rootfs that is a mount root already is kept as is.
Status prepare_rootfs_mount(const std::string& rootfs, bool may_reuse_mount);

// pivot_root(".", ".") from inside rootfs, as runc does: the old root ends up stacked on the
// new one, is made rslave (its unmount must not propagate to the host's peers) and is
// detached. Needs no put_old directory in the image, which may be read-only. Leaves cwd at "/".
Status pivot_root_into(const std::string& rootfs);

}  // namespace ctb::rootfs
