// The hybrid backend (systemd's "hybrid" layout): controllers on v1 hierarchies plus a cgroup2
// hierarchy (/sys/fs/cgroup/unified) that usually has few or no controllers. Processes join
// both, as systemd does, so the v2 directory gives cgroup.kill / cgroup.freeze / cgroup.events
// and device BPF programs even when every resource controller is on v1. Resources go to v1 when
// their controller is there, else to v2 if delegated, else an error names the controller.
#include "runtime/cgroups/hybrid.hpp"

#include <signal.h>

#include "runtime/cgroups/cgfs.hpp"
#include "runtime/cgroups/convert.hpp"
#include "runtime/cgroups/resources.hpp"

namespace ctb::cgroup {

Result<std::unique_ptr<HybridManager>> HybridManager::create(const Layout& layout, const std::string& relative,
                                                             bool existing_leaf_ok) {
    auto v1 = V1Manager::create(layout, relative, existing_leaf_ok);
    if (!v1) return fail(v1.error());
    auto v2 = V2Manager::create(*layout.v2(), relative, true, existing_leaf_ok);
    if (!v2) {
        (*v1)->rollback();
        return fail(v2.error());
    }
    return std::unique_ptr<HybridManager>(new HybridManager(relative, std::move(*v1), std::move(*v2)));
}

Result<std::unique_ptr<HybridManager>> HybridManager::open(const Layout& layout, const std::string& relative) {
    auto v1 = V1Manager::open(layout, relative);
    auto v2 = V2Manager::open(*layout.v2(), relative, false);
    if (!v1 && !v2) return fail(v1.error());
    // One half missing (a create interrupted half-way): still open, so delete can finish the job.
    return std::unique_ptr<HybridManager>(new HybridManager(relative, v1 ? std::move(*v1) : nullptr,
                                                            v2 ? std::move(*v2) : nullptr));
}

Status HybridManager::apply(const spec::Resources& resources) {
    auto [for_v1, for_v2] = split_resources(resources, [this](const std::string& c) { return v1_ && v1_->has(c); });
    if (!is_empty(for_v1))
        if (auto ok = v1_->apply(for_v1); !ok) return ok;
    if (is_empty(for_v2)) return {};
    if (!v2_) return fail(plain_error("apply linux.resources", relative_path(), "the cgroup v2 directory is missing"));
    return v2_->apply(for_v2);
}

Status HybridManager::add_process(pid_t pid) {
    if (v1_)
        if (auto ok = v1_->add_process(pid); !ok) return ok;
    return v2_ ? v2_->add_process(pid) : Status{};
}

// The v1 freezer when mounted (it is the one that also stops the v1 accounting views), else the
// v2 cgroup.freeze, which needs no controller.
Status HybridManager::freeze() {
    if ((!v1_ || !v1_->has("freezer")) && v2_ && v2_->can_freeze()) return v2_->freeze();
    return v1_ ? v1_->freeze() : fail(missing_controller("freezer.state", "freezer", "no v1 freezer, no v2 directory"));
}

Status HybridManager::thaw() {
    if ((!v1_ || !v1_->has("freezer")) && v2_ && v2_->can_freeze()) return v2_->thaw();
    return v1_ ? v1_->thaw() : fail(missing_controller("freezer.state", "freezer", "no v1 freezer, no v2 directory"));
}

bool HybridManager::frozen() const { return (v1_ && v1_->frozen()) || (v2_ && v2_->frozen()); }

Result<std::vector<pid_t>> HybridManager::processes() const {
    std::vector<pid_t> all;
    for (const Manager* half : {static_cast<const Manager*>(v1_.get()), static_cast<const Manager*>(v2_.get())}) {
        if (!half) continue;
        auto pids = half->processes();
        if (!pids) return pids;
        all = fs::merge_pids(std::move(all), *pids);
    }
    return all;
}

Status HybridManager::kill_all(int sig) {
    // cgroup.kill of the v2 directory takes every process at once (they all joined it); the
    // pid loop over both halves catches any that joined only v1 and confirms the cgroup emptied.
    if (sig == SIGKILL && v2_) v2_->kill_subtree();
    return fs::signal_until_done([this] { return processes(); }, sig, relative_path(), [this, sig] {
        if (sig == SIGKILL && v1_) v1_->thaw_if_frozen();
    });
}

Status HybridManager::destroy(std::chrono::milliseconds deadline) {
    Status first;
    for (Manager* half : {static_cast<Manager*>(v1_.get()), static_cast<Manager*>(v2_.get())})
        if (half)
            if (auto ok = half->destroy(deadline); !ok && first) first = ok;
    return first;
}

std::vector<std::string> HybridManager::created_dirs() const {
    std::vector<std::string> out = v1_ ? v1_->created_dirs() : std::vector<std::string>{};
    if (v2_)
        for (const auto& d : v2_->created_dirs()) out.push_back(d);
    return out;
}

Result<MemoryEvents> HybridManager::memory_events() const {
    if (v1_ && v1_->has("memory")) return v1_->memory_events();
    if (v2_) return v2_->memory_events();
    return fail(missing_controller("memory events", "memory", "neither on v1 nor delegated on v2"));
}

std::vector<std::string> HybridManager::paths() const {
    std::vector<std::string> out = v1_ ? v1_->paths() : std::vector<std::string>{};
    if (v2_) out.push_back(v2_->paths().front());
    return out;
}

}  // namespace ctb::cgroup
