// Cgroup paths reached from a descriptor of their hierarchy's mount point instead of from "/".
//
// Why: on most hosts the way from "/" to a cgroup leads through sysfs (/sys, fs, cgroup). The
// kernel revalidates every kernfs dentry of a path outside RCU walk, under its kernfs root's
// rwsem, and sysfs has one rwsem for its whole tree, which every network namespace takes for
// writing when it is made and torn down (its loopback device's sysfs files). With containers
// starting side by side, the cgroup files a create or delete touched by path waited there for the
// others' network namespaces: `perf record -e sched:sched_switch` of start.churn x8 showed a third
// of ctbench-runtime's sleeps in kernfs_dop_revalidate under access(2), and most of the rest under
// the open, mkdir and rmdir of cgroup paths. From the mount point's descriptor only the cgroup's
// own components are looked up: no sysfs lock, and about 1.3 us less per call here even alone.
//
// The descriptors (O_PATH, close-on-exec) are opened on first use and belong to the mount table
// that detect() last read; when it reads a new one (any mount or unmount in the namespace),
// use_mounts() forgets them. A Where holds its descriptor open as long as it lives, so a path
// resolved before a clone is still valid in the child (its copy of the descriptor table).
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/fd.hpp"

namespace ctb::cgroup::at {

struct Where {
    std::shared_ptr<const UniqueFd> base;  // the mount point's descriptor; none: from the cwd/root
    std::string relative;                  // below base ("." for the mount point itself), or the path
    int dirfd() const { return base ? base->get() : AT_FDCWD; }
};

// The hierarchies' mount points, from the layout detect() has read; replaces the ones before.
void use_mounts(const std::vector<std::string>& mounts);

// `path` against the deepest known mount point it lies in; as given when it lies in none (or
// the mount point cannot be opened: the plain path then reports the error).
Where resolve(const std::string& path);

// The calls cgroup code makes on paths, each through resolve(); errno as the plain calls set it.
int open(const std::string& path, int flags);
int mkdir(const std::string& path, mode_t mode);
int rmdir(const std::string& path);
bool exists(const std::string& path);

}  // namespace ctb::cgroup::at
