#include "runtime/cgroups/v1.hpp"

#include <signal.h>

#include <algorithm>
#include <fmt/format.h>

#include "common/deadline.hpp"
#include "runtime/cgroups/cgfs.hpp"
#include "runtime/cgroups/convert.hpp"
#include "runtime/cgroups/resources.hpp"

namespace ctb::cgroup {
namespace {

// Hierarchies we make a directory in: those that carry controllers. Named hierarchies
// (name=systemd) carry no resources; process tracking there is systemd's business, and on a
// hybrid host the unified directory already holds the container's processes.
bool used(const Hierarchy& h) { return h.version == 1 && !h.controllers.empty(); }

// A new v1 cpuset starts with empty cpus/mems and refuses tasks until both are set; copy them
// from the parent, level by level (the ctbench parent itself may still be empty). `above` holds
// the values of the level above once known, so each level's files are read once; a directory we
// just made gets them without a read (empty, or the same values with cgroup.clone_children).
struct CpusetValues {
    std::string cpus, mems;
    std::string& operator[](const std::string& file) { return file == "cpuset.cpus" ? cpus : mems; }
};

Status init_cpuset(const std::string& dir, bool fresh, CpusetValues& above) {
    std::string parent = dir.substr(0, dir.rfind('/'));
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        if (!fresh) {
            auto mine = fs::read(dir + "/" + file);
            if (!mine) return fail(mine.error());
            if (!mine->empty()) {
                above[file] = *mine;
                continue;
            }
        }
        if (above[file].empty()) {
            auto inherited = fs::read(parent + "/" + file);
            if (!inherited) return fail(inherited.error());
            above[file] = *inherited;
        }
        if (auto ok = fs::write(dir + "/" + file, above[file], "initialise cpuset from parent"); !ok) return ok;
    }
    return {};
}

}  // namespace

Result<std::unique_ptr<V1Manager>> V1Manager::create(const Layout& layout, const std::string& relative,
                                                     bool existing_leaf_ok) {
    std::vector<Dir> dirs;
    std::vector<std::string> created;
    for (const auto& h : layout.hierarchies) {
        if (!used(h)) continue;
        bool cpuset = std::find(h.controllers.begin(), h.controllers.end(), "cpuset") != h.controllers.end();
        CpusetValues above;
        auto made = fs::make_leaf(h.mount, relative, created, [&](const std::string& dir, bool) -> Status {
            bool fresh = !created.empty() && created.back() == dir;
            return cpuset ? init_cpuset(dir, fresh, above) : Status{};
        }, existing_leaf_ok);
        if (!made) {
            fs::remove_created(created);
            return fail(made.error());
        }
        dirs.push_back({h.controllers, h.mount + "/" + relative});
    }
    if (dirs.empty()) return fail(plain_error("create cgroup", relative, "no cgroup v1 controller is mounted"));
    return std::unique_ptr<V1Manager>(new V1Manager(relative, std::move(dirs), std::move(created)));
}

Result<std::unique_ptr<V1Manager>> V1Manager::open(const Layout& layout, const std::string& relative) {
    std::vector<Dir> dirs;
    for (const auto& h : layout.hierarchies)
        if (used(h) && fs::exists(h.mount + "/" + relative)) dirs.push_back({h.controllers, h.mount + "/" + relative});
    if (dirs.empty()) return fail(sys_error("open cgroup", relative, ENOENT));
    return std::unique_ptr<V1Manager>(new V1Manager(relative, std::move(dirs), {}));
}

const std::string* V1Manager::dir_of(const std::string& controller) const {
    for (const auto& d : dirs_)
        if (std::find(d.controllers.begin(), d.controllers.end(), controller) != d.controllers.end()) return &d.path;
    return nullptr;
}

void V1Manager::rollback() { fs::remove_created(created_); }

Status V1Manager::apply(const spec::Resources& resources) {
    std::map<std::string, std::string> dir_of;
    for (const auto& d : dirs_)
        for (const auto& c : d.controllers) dir_of[c] = d.path;
    return apply_v1(dir_of, resources);
}

Status V1Manager::add_process(pid_t pid) {
    for (const auto& d : dirs_)
        if (auto ok = fs::write(d.path + "/cgroup.procs", std::to_string(pid), fmt::format("add pid {} to", pid)); !ok)
            return ok;
    return {};
}

Status V1Manager::set_freezer(const std::string& state) {
    const std::string* dir = dir_of("freezer");
    if (!dir) return fail(missing_controller("freezer.state", "freezer", "not mounted as a cgroup v1 hierarchy"));
    std::string file = *dir + "/freezer.state";
    std::optional<Error> error;
    std::string seen;
    // Writing again on every poll: a freeze can stall in FREEZING when a task was mid-syscall;
    // re-requesting is how runc gets it over the line too.
    bool reached = retry_until(Deadline(fs::kFreezeTimeout), [&] {
        if (auto ok = fs::write(file, state, "set " + state); !ok) {
            error = ok.error();
            return true;
        }
        auto now = fs::read(file);
        seen = now.value_or("?");
        return now && *now == state;
    });
    if (error) return fail(*error);
    if (!reached) {
        if (state == "FROZEN") (void)fs::write(file, "THAWED", "thaw after failed freeze");
        return fail(plain_error("set " + state, file, fmt::format("still {} after {} s", seen, fs::kFreezeTimeout.count())));
    }
    return {};
}

Status V1Manager::freeze() { return set_freezer("FROZEN"); }
Status V1Manager::thaw() { return set_freezer("THAWED"); }

bool V1Manager::frozen() const {
    const std::string* dir = dir_of("freezer");
    return dir && fs::read(*dir + "/freezer.state").value_or("THAWED") == "FROZEN";
}

void V1Manager::thaw_if_frozen() {
    if (const std::string* dir = dir_of("freezer"))
        if (fs::read(*dir + "/freezer.state").value_or("THAWED") != "THAWED") (void)thaw();
}

Result<std::vector<pid_t>> V1Manager::processes() const {
    std::vector<pid_t> all;
    for (const auto& d : dirs_) {
        auto pids = fs::procs_recursive(d.path);
        if (!pids) return pids;
        all = fs::merge_pids(std::move(all), *pids);
    }
    return all;
}

Status V1Manager::kill_all(int sig) {
    return fs::signal_until_done([this] { return processes(); }, sig, relative_path(), [this, sig] {
        if (sig == SIGKILL) thaw_if_frozen();
    });
}

Status V1Manager::destroy(std::chrono::milliseconds deadline) {
    Deadline until(deadline);
    Status first;
    for (const auto& d : dirs_)
        if (auto ok = fs::remove_tree(d.path, until); !ok && first) first = ok;
    return first;
}

Result<MemoryEvents> V1Manager::memory_events() const {
    const std::string* dir = dir_of("memory");
    if (!dir) return fail(missing_controller("memory events", "memory", "not mounted as a cgroup v1 hierarchy"));
    auto oom = fs::read(*dir + "/memory.oom_control");
    if (!oom) return fail(oom.error());
    MemoryEvents events;
    auto keyed = parse_keyed(*oom);
    events.oom_kill = keyed["oom_kill"];  // Linux >= 4.13; absent (0) before
    if (auto failcnt = fs::read(*dir + "/memory.failcnt"))
        events.max = parse_keyed("failcnt " + *failcnt)["failcnt"];
    return events;
}

std::vector<std::string> V1Manager::paths() const {
    std::vector<std::string> out;
    for (const auto& d : dirs_) out.push_back(d.path);
    return out;
}

}  // namespace ctb::cgroup
