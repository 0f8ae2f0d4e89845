// Internal: the cgroup v1 backend. One directory per mounted controller hierarchy
// (/sys/fs/cgroup/<controller>/ctbench/<id>); each resource goes to its controller's directory.
#pragma once

#include "runtime/cgroups/manager.hpp"

namespace ctb::cgroup {

class V1Manager final : public Manager {
public:
    struct Dir {
        std::vector<std::string> controllers;
        std::string path;
    };

    static Result<std::unique_ptr<V1Manager>> create(const Layout& layout, const std::string& relative,
                                                      bool existing_leaf_ok = false);
    static Result<std::unique_ptr<V1Manager>> open(const Layout& layout, const std::string& relative);

    Status apply(const spec::Resources& resources) override;
    Status add_process(pid_t pid) override;
    std::optional<int> clone_into_fd() const override { return std::nullopt; }
    Status freeze() override;
    Status thaw() override;
    bool frozen() const override;
    Result<std::vector<pid_t>> processes() const override;
    Status kill_all(int sig) override;
    Status destroy(std::chrono::milliseconds deadline) override;
    Result<MemoryEvents> memory_events() const override;
    std::vector<std::string> paths() const override;
    std::vector<std::string> v1_paths() const override { return paths(); }

    // For the hybrid backend: where a controller lives, undoing create(), and letting SIGKILL
    // through (v1-frozen tasks do not die until thawed).
    bool has(const std::string& controller) const { return dir_of(controller) != nullptr; }
    void rollback();
    void thaw_if_frozen();

private:
    V1Manager(std::string relative, std::vector<Dir> dirs, std::vector<std::string> created)
        : Manager(std::move(relative)), dirs_(std::move(dirs)), created_(std::move(created)) {}
    const std::string* dir_of(const std::string& controller) const;
    Status set_freezer(const std::string& state);

    std::vector<Dir> dirs_;
    std::vector<std::string> created_;  // by create(), for rollback
public:
    std::vector<std::string> created_dirs() const override { return created_; }
};

}  // namespace ctb::cgroup
