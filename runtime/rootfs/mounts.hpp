// OCI `mounts`, applied inside the container's mount namespace before pivot_root, relative to
// the absolute rootfs path. Every destination is resolved inside the rootfs (a symlink in the
// image cannot send a mount onto the host), mount points are created as directories or files
// to match the source, and a few types get the treatment other runtimes give them:
//   bind / rbind   bind, then a remount for "ro"/"nosuid"/... that keeps the flags the kernel
//                  locked on the source (a user namespace cannot clear them)
//   sysfs          without a new network namespace the kernel refuses a fresh sysfs in a user
//                  namespace and would show the host's net devices anyway: the host's /sys is
//                  rbound instead (as runc does); "ro" then applies to the whole tree
//   cgroup         tmpfs + one bind per v1 hierarchy of the container's own cgroups, or cgroup2
//                  (rooted at the container's cgroup by a cgroup namespace)
//   tmpfs at /dev  followed by the default device nodes and links (dev.hpp)
//   idmap / ridmap a bind whose tree the runtime cloned and idmapped beforehand (idmap.hpp),
//                  moved into place with move_mount, then remounted like any bind
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/rootfs/context.hpp"
#include "runtime/rootfs/mount_options.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::rootfs {

// Applies the mounts in order. rootfs: absolute path of the container's root (a mount point).
// idmapped_trees: per mount, the detached idmapped tree prepared for it (idmap.hpp), -1 for none.
Status apply_mounts(const std::vector<spec::Mount>& mounts, const std::string& rootfs,
                    const RootfsContext& ctx, const std::vector<int>* idmapped_trees = nullptr);

// One mount; root_fd is a descriptor of rootfs (O_PATH is enough). A mount with "idmap",
// "ridmap" or mappings of its own needs its prepared tree (otherwise an error).
Status apply_mount(const spec::Mount& mount, int root_fd, const std::string& rootfs,
                   const RootfsContext& ctx, int idmapped_tree = -1);

// "/a//b/./c/" -> "/a/b/c"; relative destinations are taken relative to "/" (runc accepts
// them, with a warning, for old configs). ".." is kept: resolution inside the root handles it.
std::string clean_destination(const std::string& destination);

}  // namespace ctb::rootfs
