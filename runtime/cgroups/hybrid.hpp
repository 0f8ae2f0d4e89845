// Internal: the hybrid backend, a v1 half (controllers) and a v2 half (the unified directory).
#pragma once

#include "runtime/cgroups/v1.hpp"
#include "runtime/cgroups/v2.hpp"

namespace ctb::cgroup {

class HybridManager final : public Manager {
public:
    static Result<std::unique_ptr<HybridManager>> create(const Layout& layout, const std::string& relative,
                                                          bool existing_leaf_ok = false);
    static Result<std::unique_ptr<HybridManager>> open(const Layout& layout, const std::string& relative);

    Status apply(const spec::Resources& resources) override;
    Status add_process(pid_t pid) override;
    // The v2 half only: the v1 half is joined through v1_paths (or add_process).
    std::optional<int> clone_into_fd() const override { return v2_ ? v2_->clone_into_fd() : std::nullopt; }
    std::vector<std::string> v1_paths() const override { return v1_ ? v1_->paths() : std::vector<std::string>{}; }
    Status freeze() override;
    Status thaw() override;
    bool frozen() const override;
    Result<std::vector<pid_t>> processes() const override;
    Status kill_all(int sig) override;
    Status destroy(std::chrono::milliseconds deadline) override;
    std::vector<std::string> created_dirs() const override;
    Result<MemoryEvents> memory_events() const override;
    std::vector<std::string> paths() const override;

private:
    HybridManager(std::string relative, std::unique_ptr<V1Manager> v1, std::unique_ptr<V2Manager> v2)
        : Manager(std::move(relative)), v1_(std::move(v1)), v2_(std::move(v2)) {}

    std::unique_ptr<V1Manager> v1_;  // null only after open() of a half-created cgroup
    std::unique_ptr<V2Manager> v2_;  // likewise
};

}  // namespace ctb::cgroup
