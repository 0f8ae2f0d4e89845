// The container's init, between clone3 and execve. Runs in the child; every failure is sent to
// the parent over the sync channel as a ctb::Error and the child exits.
#pragma once

#include <string>
#include <vector>

#include "runtime/cgroups/mount_fds.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/rootfs/context.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::container {

struct SharedExecPlan;  // shared_init.hpp

struct InitConfig {
    const spec::Spec* spec = nullptr;
    ns::Plan plan;
    std::string rootfs;                     // absolute path of the container's root
    std::vector<std::string> image_layers;  // overlay lowers (top-most first); empty: plain rootfs
    std::string layer_dir;                  // upper/ and work/ live here
    rootfs::CgroupMounts cgroups;           // the container's cgroups, for mounts of type cgroup
    int sync_fd = -1;
    int exec_fifo_fd = -1;                  // O_PATH fd of <state>/exec.fifo
    // prestart/createRuntime hooks exist: the init stops before its root change and waits for
    // the runtime to run them ({"hooks": "createRuntime"} out, {"go": true} back).
    bool runtime_hooks = false;
    int console_fd = -1;  // connected --console-socket: the init sends its pty master here
    // cgroup v1 (no user namespace): the init moves itself into these directories, writing "0"
    // to each one's `tasks`. The kernel moves a thread that moves itself without taking the
    // global cgroup_threadgroup_rwsem, whose write side waits for an RCU grace period (a
    // pid written to cgroup.procs by the runtime does: about 1 ms per container here).
    // Resolved by the creator before the clone, from each hierarchy's mount point
    // (cgroups/mount_fds.hpp): the descriptors are in the init's copy of the table.
    struct TasksFile {
        std::string path;  // for the error
        cgroup::at::Where where;
    };
    std::vector<TasksFile> self_attach;
    // Per entry of spec.mounts: a detached idmapped tree the runtime prepared (rootfs/idmap.hpp),
    // -1 where none. Inherited through clone3; the init moves each onto its mount point.
    std::vector<int> idmapped_trees;
    // The runtime has work to do on the child between clone and setup (id mappings, cgroups it
    // attaches, oom_score_adj) or hooks need the state with the pid: the init waits for its
    // {"go": true, "state": ...}. Otherwise it goes on at once, knowing only its id: one
    // round trip between two processes less per create, which costs most on a busy host.
    bool await_go = true;
    std::string id;
    // Non-null: the init shares the creator's memory (shared_init.hpp) and leaves its setup with
    // everything it needs after "ready" written here.
    SharedExecPlan* shared = nullptr;
};

[[noreturn]] void container_init(const InitConfig& config);

}  // namespace ctb::container
