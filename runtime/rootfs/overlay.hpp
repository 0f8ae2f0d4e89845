// overlayfs for container root filesystems: image layers (read-only, lower) under a
// per-container upper and work directory, mounted at the container's rootfs.
//
// mount(2) takes all options in one page, which a deep image overflows (64 layers of
// /run/ctbench/layers/<sha256> paths is ~6 KiB). Past that we use the new mount API, adding
// one layer per fsconfig("lowerdir+") call (Linux 6.8; by descriptor for paths past fsconfig's
// 255-byte string limit), and where that is missing, Docker's trick: paths relative to the
// layers' common parent, mounted from a child process whose cwd is that parent.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb::rootfs {

struct OverlayLayers {
    std::vector<std::string> lower;  // top-most first, as overlayfs lowerdir
    std::string upper, work;         // both empty: a read-only overlay (needs >= 2 lowers)
    std::vector<std::string> extra_options;  // "redirect_dir=on", "volatile", "userxattr" ...
};

enum class OverlayMethod {
    automatic,  // legacy when the options fit a page, else fsconfig, else relative
    legacy,     // mount(2) with absolute paths
    fsconfig,   // fsopen + fsconfig("lowerdir+") + fsmount + move_mount
    relative,   // mount(2) with paths relative to the common parent, from a child process
};

Status mount_overlay(const OverlayLayers& layers, const std::string& target);
Status mount_overlay(const OverlayLayers& layers, const std::string& target, OverlayMethod method);

// The mount(2) option string, paths escaped ('\', ':' and ',' get a backslash).
// relative_to: strip this directory prefix from every path ("" = absolute paths).
std::string overlay_options(const OverlayLayers& layers, const std::string& relative_to = {});

// Longest directory containing every layer path ("/a/l/1", "/a/l/2", "/a/u" -> "/a").
std::string common_parent(const OverlayLayers& layers);

// Creates upper/, work/ and merged/ under dir (a container's layer directory).
Status prepare_container_layers(const std::string& dir);

}  // namespace ctb::rootfs
