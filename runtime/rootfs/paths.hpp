// After pivot_root: OCI linux.maskedPaths and linux.readonlyPaths, and root.readonly.
// Paths are the container's; "/" is already the container's root, so nothing can resolve to
// the host any more.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb::rootfs {

// Files get /dev/null bound over them (reads return nothing, writes vanish); directories get
// an empty read-only tmpfs. A path that does not exist needs no masking.
Status mask_paths(const std::vector<std::string>& paths);

// Each path is bound onto itself (recursively) and the bind remounted read-only, keeping its
// nosuid/nodev/noexec; its submounts (e.g. binfmt_misc under /proc/sys) become read-only too.
// Missing paths are skipped.
Status make_paths_readonly(const std::vector<std::string>& paths);

// root.readonly: remount "/" read-only (its own flags kept). Submounts such as /proc, /dev and
// volumes keep their own mode, as in every OCI runtime.
Status make_root_readonly();

}  // namespace ctb::rootfs
