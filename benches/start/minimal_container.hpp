// The minimal-container floor of start.lifecycle: the kernel work of the very container the
// library makes for the bench's spec, and nothing else. No spec, no JSON, no state files, no
// library: raw system calls in the order the kernel needs them.
//
// What it does per container (the same kernel objects as container::run of true_spec with the
// image as an overlay layer):
//   parent: the container directory with the overlay's upper/ and work/; a cgroup directory in
//           every cgroup v1 hierarchy with controllers (cpuset.cpus/mems copied from the parent,
//           the device rules: deny all, then runc's default allow list, one descriptor per
//           file), or one v2 directory; cgroup files are reached from each hierarchy's mount
//           point, opened once per plan;
//           clone3 with the same namespace flags (CLONE_INTO_CGROUP on a pure v2 host), the
//           child sharing our memory until its exec (CLONE_VM | CLONE_VFORK: no copy of our
//           page tables, the cheapest way to a process; a plain clone on kernels before 5.5);
//   child:  on v1 it moves itself into each hierarchy's directory ("0" to `tasks`: the kernel's
//           cheapest attach, without the global rwsem's RCU grace period), a session keyring of
//           its own ("_ses.<name>", as the runtime, runc and crun), cgroup namespace, rprivate /,
//           the overlay rootfs, proc, /dev tmpfs with the six default nodes and links, devpts,
//           /dev/shm, mqueue, sysfs ro, the cgroup tree (a tmpfs with each hierarchy's directory
//           bound read-only), pivot_root, the masked and read-only paths, hostname, lo up,
//           RLIMIT_NOFILE, the capability sets, no_new_privs, exec of /bin/true;
//   parent: wait, rmdir of the cgroup directories, removal of the container directory.
// What the runtime does beyond this (state.json, config.json, the exec fifo, the sync socket
// protocol, JSON, layout detection, reading its own files back) is what the floor leaves out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace ctb::bench {

// A cgroup mount point's descriptor: the floor reaches its cgroup files from there, as the
// runtime does (cgroups/mount_fds.hpp), not through sysfs's lock on every path from "/".
using MountFd = std::shared_ptr<const UniqueFd>;

struct MinimalHierarchy {
    std::string mount;  // e.g. /sys/fs/cgroup/memory
    MountFd fd;
    std::string name;   // its directory under /sys/fs/cgroup in the container, e.g. "cpu,cpuacct"
    bool cpuset = false;
    bool devices = false;
};

struct MinimalPlan {
    std::uint64_t clone_flags = 0;  // CLONE_NEW* (the cgroup namespace is unshared by the child)
    std::string image;              // the overlay's lower layer (holds /bin/true)
    bool cgroup_v2 = false;
    std::string v2_mount;                       // pure v2: the cgroup2 mount
    MountFd v2_fd;
    std::vector<MinimalHierarchy> hierarchies;  // v1: those with controllers
    std::vector<std::uint32_t> capabilities;    // bounding = effective = permitted
    std::string hostname = "ctbench";
};

// From the host's cgroup layout and the bench's spec (once, before any sample).
Result<MinimalPlan> minimal_plan(const std::string& image, std::uint64_t clone_flags);

// One container: `dir` (absent before) is its directory, `cgroup` its path below each
// hierarchy's root (e.g. ctbench/bench-floor-3). Everything is removed again on every path.
Status run_minimal_container(const MinimalPlan& plan, const std::string& dir, const std::string& cgroup);

}  // namespace ctb::bench
