#include "runtime/cgroups/v2.hpp"

#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <fmt/format.h>
#include <sstream>

#include "common/deadline.hpp"
#include "runtime/cgroups/cgfs.hpp"
#include "runtime/cgroups/convert.hpp"
#include "runtime/cgroups/resources.hpp"

namespace ctb::cgroup {
namespace {

std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// Hands every controller this level has on to its children (v2 resources of the leaf exist only
// if each ancestor enabled the controller in its subtree_control). Called for ctbench/ and the
// levels below it, never for the hierarchy root: what the host delegates is the host's choice.
// One write per controller, and a refusal is not fatal: e.g. cpu cannot be enabled while a
// real-time task sits in the subtree. apply() later names the controller that is missing.
Status enable_controllers(const std::string& dir) {
    auto available = fs::read(dir + "/cgroup.controllers");
    if (!available) return fail(available.error());
    auto enabled = words(fs::read(dir + "/cgroup.subtree_control").value_or(""));
    for (const auto& c : words(*available))
        if (std::find(enabled.begin(), enabled.end(), c) == enabled.end())
            (void)fs::write(dir + "/cgroup.subtree_control", "+" + c, "enable controller");
    return {};
}

}  // namespace

Result<UniqueFd> V2Manager::open_clone_fd(const std::string& dir, bool wanted) {
    if (!wanted) return UniqueFd{};
    UniqueFd fd(at::open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail(sys_error("open cgroup for CLONE_INTO_CGROUP", dir));
    return fd;
}

Result<std::unique_ptr<V2Manager>> V2Manager::create(const Hierarchy& unified, const std::string& relative,
                                                     bool for_clone, bool existing_leaf_ok) {
    std::vector<std::string> created;
    auto made = fs::make_leaf(unified.mount, relative, created, [](const std::string& dir, bool leaf) -> Status {
        // The leaf will hold processes; "no internal processes" forbids controllers below it.
        return leaf ? Status{} : enable_controllers(dir);
    }, existing_leaf_ok);
    if (!made) {
        fs::remove_created(created);
        return fail(made.error());
    }
    std::string dir = unified.mount + "/" + relative;
    auto fd = open_clone_fd(dir, for_clone);
    if (!fd) {
        fs::remove_created(created);
        return fail(fd.error());
    }
    return std::unique_ptr<V2Manager>(new V2Manager(relative, dir, std::move(created), std::move(*fd)));
}

Result<std::unique_ptr<V2Manager>> V2Manager::open(const Hierarchy& unified, const std::string& relative,
                                                   bool for_clone) {
    std::string dir = unified.mount + "/" + relative;
    if (!fs::exists(dir)) return fail(sys_error("open cgroup", dir, ENOENT));
    auto fd = open_clone_fd(dir, for_clone);
    if (!fd) return fail(fd.error());
    return std::unique_ptr<V2Manager>(new V2Manager(relative, dir, {}, std::move(*fd)));
}

void V2Manager::rollback() { fs::remove_created(created_); }

Status V2Manager::apply(const spec::Resources& resources) { return apply_v2(dir_, resources); }

Status V2Manager::add_process(pid_t pid) {
    return fs::write(dir_ + "/cgroup.procs", std::to_string(pid), fmt::format("add pid {} to", pid));
}

std::optional<int> V2Manager::clone_into_fd() const {
    if (!clone_fd_) return std::nullopt;
    return clone_fd_.get();
}

bool V2Manager::frozen() const { return fs::read(dir_ + "/cgroup.freeze").value_or("0") == "1"; }

bool V2Manager::can_freeze() const { return fs::exists(dir_ + "/cgroup.freeze"); }

Status V2Manager::set_frozen(bool frozen) {
    // cgroup.freeze is the request; cgroup.events "frozen" reports when every task has stopped.
    if (auto ok = fs::write(dir_ + "/cgroup.freeze", frozen ? "1" : "0", frozen ? "freeze" : "thaw"); !ok) return ok;
    std::uint64_t want = frozen ? 1 : 0, seen = 2;
    bool reached = retry_until(Deadline(fs::kFreezeTimeout), [&] {
        auto events = fs::read(dir_ + "/cgroup.events");
        if (!events) return false;
        auto keyed = parse_keyed(*events);
        seen = keyed.count("frozen") ? keyed["frozen"] : 2;
        return seen == want;
    });
    if (!reached) {
        if (frozen) (void)fs::write(dir_ + "/cgroup.freeze", "0", "thaw after failed freeze");
        return fail(plain_error(frozen ? "freeze" : "thaw", dir_ + "/cgroup.events",
                                fmt::format("\"frozen {}\" not reached after {} s", want, fs::kFreezeTimeout.count())));
    }
    return {};
}

Status V2Manager::freeze() { return set_frozen(true); }
Status V2Manager::thaw() { return set_frozen(false); }

Result<std::vector<pid_t>> V2Manager::processes() const { return fs::procs_recursive(dir_); }

bool V2Manager::kill_subtree() {
    std::string file = dir_ + "/cgroup.kill";
    return fs::exists(file) && fs::write(file, "1", "kill cgroup").has_value();
}

Status V2Manager::kill_all(int sig) {
    if (sig == SIGKILL) kill_subtree();  // the pid loop below then only confirms the cgroup emptied
    return fs::signal_until_done([this] { return processes(); }, sig, dir_);
}

Status V2Manager::destroy(std::chrono::milliseconds deadline) {
    clone_fd_.reset();
    return fs::remove_tree(dir_, Deadline(deadline));
}

Result<MemoryEvents> V2Manager::memory_events() const {
    auto text = fs::read(dir_ + "/memory.events");
    if (!text) {
        if (text.error().err == ENOENT)
            return fail(missing_controller("memory events", "memory",
                                           fmt::format("not delegated: absent from {}/cgroup.controllers", dir_)));
        return fail(text.error());
    }
    auto keyed = parse_keyed(*text);
    MemoryEvents events;
    events.oom_kill = keyed["oom_kill"];
    events.oom = keyed["oom"];
    events.oom_group_kill = keyed["oom_group_kill"];
    events.max = keyed["max"];
    return events;
}

}  // namespace ctb::cgroup
