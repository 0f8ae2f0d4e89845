// Internal: the cgroup v2 backend. One directory in the unified hierarchy; used alone on a pure
// v2 host and as the process-tracking half of the hybrid backend.
#pragma once

#include "common/fd.hpp"
#include "runtime/cgroups/manager.hpp"

namespace ctb::cgroup {

class V2Manager final : public Manager {
public:
    // `for_clone`: keep an O_PATH fd for clone3(CLONE_INTO_CGROUP) (pure v2 hosts only).
    static Result<std::unique_ptr<V2Manager>> create(const Hierarchy& unified, const std::string& relative,
                                                     bool for_clone, bool existing_leaf_ok = false);
    static Result<std::unique_ptr<V2Manager>> open(const Hierarchy& unified, const std::string& relative,
                                                   bool for_clone);

    Status apply(const spec::Resources& resources) override;
    Status add_process(pid_t pid) override;
    std::optional<int> clone_into_fd() const override;
    Status freeze() override;
    Status thaw() override;
    bool frozen() const override;
    Result<std::vector<pid_t>> processes() const override;
    Status kill_all(int sig) override;
    Status destroy(std::chrono::milliseconds deadline) override;
    Result<MemoryEvents> memory_events() const override;
    std::vector<std::string> paths() const override { return {dir_}; }

    // For the hybrid backend.
    void rollback();
    bool can_freeze() const;
    // Writes cgroup.kill when the kernel has it (5.14+): kills the whole subtree atomically,
    // forks included. Returns false when it is not available.
    bool kill_subtree();

private:
    V2Manager(std::string relative, std::string dir, std::vector<std::string> created, UniqueFd clone_fd)
        : Manager(std::move(relative)), dir_(std::move(dir)), created_(std::move(created)),
          clone_fd_(std::move(clone_fd)) {}
    static Result<UniqueFd> open_clone_fd(const std::string& dir, bool wanted);
    Status set_frozen(bool frozen);

    std::string dir_;
    std::vector<std::string> created_;  // by create(), for rollback
public:
    std::vector<std::string> created_dirs() const override { return created_; }
private:
    UniqueFd clone_fd_;
};

}  // namespace ctb::cgroup
