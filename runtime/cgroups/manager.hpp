// The cgroup manager of the reference runtime: one container's cgroup on whatever this host runs
// (v1, v2 or hybrid), chosen at run time from the detected Layout. Callers see one interface;
// the backends (v1.cpp, v2.cpp, hybrid.cpp) know which files each version has.
//
// Naming rule (DESIGN.md): everything ctbench creates for itself lives below a "ctbench" directory
// in each hierarchy, so by default every path handed in must be "ctbench/<...>" (or the absolute
// OCI form "/ctbench/<...>"); anything else is refused before a directory is touched. An OCI
// cgroupsPath is the user's choice and may lie anywhere (Policy::any_path); the runtime then
// records exactly which directories it made (created_dirs) and removes only those.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/cgroups/detect.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::cgroup {

// Memory-controller event counters of the cgroup (cumulative since it was created).
struct MemoryEvents {
    std::uint64_t oom_kill = 0;        // processes killed by the OOM killer (v1 memory.oom_control, v2 memory.events)
    std::uint64_t oom = 0;             // v2 only: times the cgroup ran out of memory (v1 has no counter: 0)
    std::uint64_t oom_group_kill = 0;  // v2 only (memory.oom.group): whole-cgroup kills
    std::uint64_t max = 0;             // times usage hit the limit (v2 memory.events max, v1 memory.failcnt)
};

// How create() may treat the path.
struct Policy {
    bool any_path = false;          // a path outside ctbench/ (an OCI cgroupsPath as given)
    bool existing_leaf_ok = false;  // join a cgroup that exists already (kept on delete)
};

class Manager {
public:
    virtual ~Manager() = default;
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;

    // Creates the cgroup in every hierarchy the layout's mode calls for. relative_path is
    // "ctbench/<id>" or "/ctbench/<id>". The leaf must not exist yet (a leftover is reported,
    // not silently shared). On failure everything this call created is removed again.
    static Result<std::unique_ptr<Manager>> create(const Layout& layout, const std::string& relative_path,
                                                   const Policy& policy = {});
    // Attaches to a cgroup an earlier process created (for `kill` / `delete`). Fails with ENOENT
    // when no hierarchy has the directory, so an idempotent delete can treat that as done.
    static Result<std::unique_ptr<Manager>> open(const Layout& layout, const std::string& relative_path,
                                                 const Policy& policy = {});

    // Writes linux.resources. A section whose controller the host lacks (or has not delegated)
    // is an error naming the controller; every write error names the spec field and the file.
    virtual Status apply(const spec::Resources& resources) = 0;
    // Moves pid into the cgroup in every hierarchy.
    virtual Status add_process(pid_t pid) = 0;
    // O_PATH|O_DIRECTORY fd of the v2 directory for clone3(CLONE_INTO_CGROUP), owned by the
    // Manager: pure v2, and the v2 half of a hybrid host (whose v1 hierarchies a clone does not
    // reach: see v1_paths).
    virtual std::optional<int> clone_into_fd() const = 0;
    // The v1 directories (v1 and the v1 half of hybrid; none elsewhere): a process joins those
    // itself by writing "0" to their `tasks`, which moves one thread without taking the
    // kernel's global threadgroup rwsem; a pid written to cgroup.procs from outside takes it,
    // and its writer waits for an RCU grace period (milliseconds) at every container start.
    virtual std::vector<std::string> v1_paths() const { return {}; }
    // Returns once the kernel reports the cgroup frozen / thawed (bounded wait).
    virtual Status freeze() = 0;
    virtual Status thaw() = 0;
    // Frozen now, as the kernel says: the v1 freezer's freezer.state, the v2 cgroup.freeze. Reads
    // only the file that exists where it looks (a status query runs at every start and delete).
    virtual bool frozen() const = 0;
    // Every process in the cgroup and its descendants, in every hierarchy (sorted, unique).
    virtual Result<std::vector<pid_t>> processes() const = 0;
    // Sends sig to every process in the cgroup. SIGKILL: repeats until the cgroup is empty;
    // other signals: until no process shows up that has not been signalled yet. Bounded.
    virtual Status kill_all(int sig) = 0;
    // Removes every directory (descendants first), retrying EBUSY until the deadline, i.e. it
    // waits for the cgroup to empty. Idempotent: a directory already gone is success.
    virtual Status destroy(std::chrono::milliseconds deadline) = 0;
    virtual Result<MemoryEvents> memory_events() const = 0;
    // The directories create() made, parents before children (empty for open()). A directory that
    // existed before (a pre-existing leaf, the ctbench parent) is not among them.
    virtual std::vector<std::string> created_dirs() const = 0;
    // Absolute directories of this cgroup, one per hierarchy.
    virtual std::vector<std::string> paths() const = 0;
    // "ctbench/<id>", normalised.
    std::string relative_path() const { return relative_path_; }

protected:
    explicit Manager(std::string relative_path) : relative_path_(std::move(relative_path)) {}

private:
    std::string relative_path_;
};

// For callers that skip instead of failing: the controller named by an apply() error that says
// the host lacks (or has not delegated) it; nullopt for any other error.
std::optional<std::string> missing_controller_of(const Error& error);

// "ctbench/x", "/ctbench/x", "ctbench/x/" -> "ctbench/x". Refuses paths outside ctbench/, "." and
// ".." components, and systemd "slice:prefix:name" syntax (ctbench has no systemd driver).
Result<std::string> normalise_path(const std::string& path);
// The same check without the ctbench/ rule: any path of one or more plain components.
Result<std::string> normalise_any_path(const std::string& path);

// Removes exactly these directories (as created_dirs listed them), children first, with whatever
// the container made below them, retrying EBUSY until the deadline. Each must lie below a cgroup
// mount of the layout. A directory already gone is success.
Status remove_created_dirs(const Layout& layout, const std::vector<std::string>& dirs,
                           std::chrono::milliseconds deadline);

}  // namespace ctb::cgroup
