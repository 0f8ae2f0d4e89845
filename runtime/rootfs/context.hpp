// What the rootfs steps need to know beyond the spec: facts the engine decided or created
// (which namespaces are new, where the container's cgroups are, which volumes it uses).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::rootfs {

// Where the container's own cgroups live on the host, for mounts of type "cgroup".
struct CgroupMounts {
    // cgroup v1 and hybrid hosts: directory name under /sys/fs/cgroup ("cpu,cpuacct", "memory",
    // "systemd", "unified") -> the container's cgroup directory in that hierarchy on the host
    // ("/sys/fs/cgroup/memory/ctbench/<id>"). Each is bound at /sys/fs/cgroup/<name> on a tmpfs.
    std::map<std::string, std::string> v1;
    // cgroup v2 only hosts: the container's cgroup directory ("/sys/fs/cgroup/ctbench/<id>").
    // With a cgroup namespace a fresh cgroup2 mount is rooted there by the kernel; without one
    // this directory is bound instead, so the container never sees the host's whole tree.
    std::string v2;
    // True when the host runs cgroup v2 only (the caller knows it from cgroup detection).
    bool unified = false;
};

struct RootfsContext {
    bool new_network_ns = false;  // false: sysfs cannot be mounted fresh, bind the host's /sys
    bool new_user_ns = false;     // true: mknod is refused, devices are bound from the host
    bool new_cgroup_ns = false;   // true: a cgroup2 mount is rooted at the container's cgroup
    // The caller already set linux.rootfsPropagation on / (before mounting the image layers):
    // doing it again would walk every mount of the namespace a second time for nothing.
    bool propagation_set = false;
    CgroupMounts cgroups;
    // Named volumes already turned into bind mounts (volumes.hpp volume_mount), applied after
    // the spec's own mounts so that they win over an image path at the same destination.
    std::vector<spec::Mount> volumes;
    // Per entry of spec.mounts: the detached idmapped tree the runtime prepared (idmap.hpp), -1
    // where the mount is not idmapped. Inherited descriptors; the init moves them into place.
    std::vector<int> idmapped_trees;
    // Runs after the mounts are in place and before the root changes (pivot_root): the OCI hook
    // points prestart/createRuntime/createContainer sit here.
    std::function<Status()> before_root_change;
    // Runs in the new root before masked and read-only paths are applied: the spec's sysctls are
    // written here, while /proc/sys is still writable (runc orders it the same way).
    std::function<Status()> after_root_change;
    // Accepted-but-ignored mount options and similar remarks end up here for the caller to log.
    std::vector<std::string>* notes = nullptr;
};

}  // namespace ctb::rootfs
