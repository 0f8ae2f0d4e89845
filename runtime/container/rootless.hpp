// Rootless mode: ctbench-runtime run by a non-root user (geteuid() != 0), as runc's rootless mode.
// What changes for such a caller, and nothing else:
// - state lives under $XDG_RUNTIME_DIR/ctbench-runtime (or --root), never under /run;
// - the config must have a user namespace (runc's rule: "rootless container requires user
//   namespaces"); `runc spec --rootless` writes one mapping container root to the caller;
// - id mappings: the caller's own uid/gid alone is written directly (with setgroups "deny", which
//   the kernel requires for a gid_map written without CAP_SETGID); anything more goes through
//   newuidmap/newgidmap, which check /etc/subuid and /etc/subgid;
// - cgroups only where the caller may write them (a delegated v2 subtree); otherwise none, with
//   one warning line, and a config that asks for limits is refused;
// - device cgroup rules are dropped: no device can be made in a user namespace (they are bound
//   from the host), and the v2 device filter is a BPF program a non-root user cannot attach.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/error.hpp"
#include "runtime/cgroups/detect.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/container/state.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::container::rootless {

// Run by a non-root user.
bool active();

// The default --root: kDefaultStateRoot for root; rootless $XDG_RUNTIME_DIR/ctbench-runtime, or
// /tmp/ctbench-runtime-<uid> without XDG_RUNTIME_DIR (podman's fallback; checked to be ours).
std::string default_state_root();

// Rootless: an existing state root must be a directory of the caller's, not a symlink (it may be
// in a shared /tmp). Root: nothing to check.
Status check_state_root(const std::string& root);

// Rootless: refuses a config a non-root caller cannot run, naming the field (no user namespace;
// container root mapped to a host uid other than the caller's, whose init could not open the
// exec fifo). Drops the device rules (see above). Root: nothing changes.
Status adapt_spec(spec::Spec& spec);

// The cgroup layout this caller may use: the host's for root; rootless only the v2 hierarchy (a
// delegated subtree), or none.
Result<cgroup::Layout> detect_cgroups();

// Rootless: the container's cgroup path (below each hierarchy's root), or "" when the caller
// may not create one there (the warning is printed, and limits in the config are refused).
Result<std::string> cgroup_path(const cgroup::Layout& layout, const spec::Spec& spec, const std::string& default_path);

// A Manager for a container without a cgroup: processes, kill --all and delete reach its init
// (whose pid namespace takes the rest with it); pause and limits are refused with the reason.
std::unique_ptr<cgroup::Manager> without_cgroup(pid_t pid = 0, unsigned long long start_time = 0);

// The cgroups of a container created earlier (kill, delete, exec): its recorded path, or none.
Result<std::unique_ptr<cgroup::Manager>> open_cgroups(const cgroup::Layout& layout, const State& s);

// `spec --rootless`: what runc's specconv.ToRootless does to the default config: a user
// namespace mapping root to the caller (size 1), no network namespace (the host's network), /sys
// bound from the host (a user namespace may not mount sysfs without owning a network namespace),
// no uid=/gid= mount options (ids the namespace does not map), no linux.resources.
void to_rootless_spec(spec::Spec& spec);

// Rootless: uid_map/gid_map of the init (see above). Root callers use ns::write_id_mappings.
Status write_id_mappings(pid_t pid, const spec::Spec& spec);

}  // namespace ctb::container::rootless
