// The container's filesystem view, from image layers to a pivoted, masked root.
//
// Two phases, in two places:
//   1. the engine, before the container's init exists: mount_overlay_rootfs stacks the image
//      layers under a per-container upper dir (overlay.hpp);
//   2. the container's init, inside its new mount namespace: setup_rootfs turns that
//      directory into "/" with the spec's mounts, devices, masked and read-only paths.
// An error from phase 2 names the step and path ("mount proc on /run/ctbench/.../rootfs/proc:
// EPERM (...)"); the init sends it to the parent over the sync pipe.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/rootfs/context.hpp"
#include "runtime/rootfs/dev.hpp"
#include "runtime/rootfs/mounts.hpp"
#include "runtime/rootfs/overlay.hpp"
#include "runtime/rootfs/paths.hpp"
#include "runtime/rootfs/pivot.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::rootfs {

// Phase 1: upper/, work/ and merged/ under container_dir, the overlay of image_layers (top-most
// first) mounted at merged/. Returns the merged path, the container's rootfs.
Result<std::string> mount_overlay_rootfs(const std::vector<std::string>& image_layers,
                                         const std::string& container_dir,
                                         const std::vector<std::string>& extra_options = {});

// Phase 2, in order: rootfs propagation, rootfs bind onto itself, spec mounts (a tmpfs at /dev
// gets the default devices), ctx.volumes, linux.devices, pivot_root, masked paths, read-only
// paths, read-only root, final propagation. rootfs is absolute. The caller must already be in
// its own mount namespace: every step changes the namespace it runs in.
Status setup_rootfs(const spec::Spec& spec, const std::string& rootfs, const RootfsContext& ctx);

}  // namespace ctb::rootfs
