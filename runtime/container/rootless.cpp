// Rootless mode (rootless.hpp): the state root, the config checks, id mappings through
// newuidmap/newgidmap, and cgroups only where delegated.
#include "runtime/container/rootless.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>

#include "common/files.hpp"
#include "common/subprocess.hpp"

namespace ctb::container::rootless {
namespace {

// Container root mapped to this host id (nullopt: 0 is not mapped).
std::optional<std::uint32_t> root_maps_to(const std::vector<spec::IdMapping>& maps) {
    for (const auto& m : maps)
        if (m.container_id == 0 && m.size > 0) return m.host_id;
    return std::nullopt;
}

// Exactly the caller's own id, once: the kernel lets an unprivileged process write that itself.
bool only_own_id(const std::vector<spec::IdMapping>& maps, std::uint32_t own) {
    return maps.size() == 1 && maps[0].size == 1 && maps[0].host_id == own;
}

// linux.resources fields that need a cgroup to be enforced (devices are dropped rootless).
std::vector<std::string> limits_asked_for(const spec::Resources& r) {
    std::vector<std::string> out;
    if (r.memory) out.push_back("linux.resources.memory");
    if (r.cpu) out.push_back("linux.resources.cpu");
    if (r.pids) out.push_back("linux.resources.pids");
    if (r.block_io) out.push_back("linux.resources.blockIO");
    if (!r.hugepage_limits.empty()) out.push_back("linux.resources.hugepageLimits");
    if (!r.unified.empty()) out.push_back("linux.resources.unified");
    return out;
}

// The caller's own cgroup in the v2 hierarchy ("0::/path" of /proc/self/cgroup).
std::optional<std::string> own_v2_cgroup() {
    auto text = read_file("/proc/self/cgroup");
    if (!text) return std::nullopt;
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);)
        if (line.starts_with("0::")) return line.substr(3);
    return std::nullopt;
}

// The deepest directory of `dir` (below `mount`) that exists already.
std::string deepest_existing(const std::string& mount, std::string dir) {
    while (dir.size() > mount.size() && ::access(dir.c_str(), F_OK) != 0)
        dir = std::filesystem::path(dir).parent_path().string();
    return dir;
}

// Delegated to the caller: it may make the container's directory (the deepest existing ancestor
// is writable) and move its child out of its own cgroup (the kernel wants write access to
// cgroup.procs of the common ancestor, which for a path below its own cgroup is its own).
bool delegated(const std::string& mount, const std::string& own, const std::string& target) {
    std::string procs = mount + own + "/cgroup.procs";
    return ::access(procs.c_str(), W_OK) == 0 && ::access(deepest_existing(mount, target).c_str(), W_OK) == 0;
}

std::string v1_controllers(const cgroup::Layout& host) {
    std::string out;
    for (const auto& h : host.hierarchies)
        for (const auto& c : h.controllers)
            if (h.version == 1) out += (out.empty() ? "" : ",") + c;
    return out;
}

void warn_no_cgroup(const std::string& why) {
    std::string msg = fmt::format("ctbench-runtime: warning: rootless (uid {}): no cgroup for the container: {}; "
                                  "no limits, and kill --all, ps and delete reach its init only\n",
                                  ::geteuid(), why);
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg.data(), msg.size());
}

// A container without a cgroup: its init stands for it (a pid namespace dies with its init).
class NoCgroup final : public cgroup::Manager {
public:
    NoCgroup(pid_t pid, unsigned long long start) : Manager(""), pid_(pid), start_(start) {}
    Status apply(const spec::Resources& r) override {
        auto asked = limits_asked_for(r);
        if (asked.empty()) return {};
        return fail(plain_error("apply", asked.front(), "the container has no cgroup (rootless, not delegated)"));
    }
    Status add_process(pid_t pid) override {
        if (pid_ == 0) pid_ = pid;  // the init, recorded at create
        return {};
    }
    std::optional<int> clone_into_fd() const override { return std::nullopt; }
    Status freeze() override { return no_freezer(); }
    Status thaw() override { return no_freezer(); }
    bool frozen() const override { return false; }  // nothing to freeze with
    Result<std::vector<pid_t>> processes() const override {
        if (alive()) return std::vector<pid_t>{pid_};
        return std::vector<pid_t>{};
    }
    Status kill_all(int sig) override {
        if (alive() && ::kill(pid_, sig) != 0 && errno != ESRCH) return fail(sys_error("kill", std::to_string(pid_)));
        return {};
    }
    Status destroy(std::chrono::milliseconds) override { return {}; }
    Result<cgroup::MemoryEvents> memory_events() const override { return cgroup::MemoryEvents{}; }
    std::vector<std::string> created_dirs() const override { return {}; }
    std::vector<std::string> paths() const override { return {}; }

private:
    // The same process (start time), never a recycled pid.
    bool alive() const { return pid_ > 0 && (start_ == 0 || process_start_time(pid_) == start_); }
    static Status no_freezer() {
        return fail(plain_error("freeze", "container", "it has no cgroup (rootless, not delegated): no freezer"));
    }
    pid_t pid_;
    unsigned long long start_;
};

std::string mapping_args(const std::vector<spec::IdMapping>& maps) {
    std::string out;
    for (const auto& m : maps) out += fmt::format(" {} {} {}", m.container_id, m.host_id, m.size);
    return out;
}

// newuidmap/newgidmap PID C H S...: setuid helpers that allow the ranges /etc/subuid and
// /etc/subgid grant the caller (shadow's uidmap package).
Status run_id_helper(const std::string& tool, pid_t pid, const std::vector<spec::IdMapping>& maps,
                     const std::string& field) {
    auto path = find_executable(tool);
    if (!path)
        return fail(plain_error("map ids", field, fmt::format("maps more than the caller's own id, which needs {} "
                                                              "(Debian package uidmap) and a range in /etc/sub{}",
                                                              tool, tool == "newuidmap" ? "uid" : "gid")));
    std::vector<std::string> argv{*path, std::to_string(pid)};
    for (const auto& m : maps)
        for (auto v : {m.container_id, m.host_id, m.size}) argv.push_back(std::to_string(v));
    auto r = run_process(argv);
    if (!r) return fail(r.error());
    if (!r->exited_ok())
        return fail(plain_error(tool, field + mapping_args(maps), trim(r->output)));
    return {};
}

}  // namespace

bool active() { return ::geteuid() != 0; }

std::string default_state_root() {
    if (!active()) return kDefaultStateRoot;
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg) return std::string(xdg) + "/ctbench-runtime";
    return fmt::format("/tmp/ctbench-runtime-{}", ::geteuid());
}

Status check_state_root(const std::string& root) {
    if (!active()) return {};
    struct stat st {};
    if (::lstat(root.c_str(), &st) != 0) return {};  // made by create, 0700
    if (!S_ISDIR(st.st_mode)) return fail(plain_error("check state root", root, "is not a directory (a symlink?)"));
    if (st.st_uid != ::geteuid())
        return fail(plain_error("check state root", root, fmt::format("belongs to uid {}, not to the caller", st.st_uid)));
    return {};
}

Status adapt_spec(spec::Spec& spec) {
    if (!active()) return {};
    bool userns = false;
    for (const auto& n : spec.linux.namespaces) userns = userns || n.type == "user";
    if (!userns)
        return fail(plain_error("check config", "linux.namespaces",
                                "rootless container requires user namespaces (run by uid " +
                                    std::to_string(::geteuid()) + "; `runc spec --rootless` writes one)"));
    if (spec.linux.uid_mappings.empty())
        return fail(plain_error("check config", "linux.uidMappings",
                                "rootless container requires at least one UID mapping (container root to the caller)"));
    // The init runs as the mapped root; the exec fifo can be handed only to the caller itself.
    if (auto uid = root_maps_to(spec.linux.uid_mappings); uid && *uid != ::geteuid())
        return fail(plain_error("check config", "linux.uidMappings",
                                fmt::format("maps container root to host uid {}, but a rootless runtime (uid {}) "
                                            "can hand its exec fifo only to itself: map 0 to {}",
                                            *uid, ::geteuid(), ::geteuid())));
    if (auto gid = root_maps_to(spec.linux.gid_mappings); gid && *gid != ::getegid())
        return fail(plain_error("check config", "linux.gidMappings",
                                fmt::format("maps container root to host gid {}, but a rootless runtime (gid {}) "
                                            "can hand its exec fifo only to its own group: map 0 to {}",
                                            *gid, ::getegid(), ::getegid())));
    if (spec.linux.resources) spec.linux.resources->devices.clear();
    return {};
}

Result<cgroup::Layout> detect_cgroups() {
    auto host = cgroup::detect();
    if (!host || !active()) return host;
    cgroup::Layout out;
    if (const auto* v2 = host->v2()) {
        out.mode = cgroup::Mode::v2;
        out.hierarchies.push_back(*v2);
    }
    out.known_controllers = host->known_controllers;
    return out;
}

Result<std::string> cgroup_path(const cgroup::Layout& layout, const spec::Spec& spec, const std::string& default_path) {
    auto host = cgroup::detect();
    if (!host) return fail(host.error());
    std::string why;
    if (const auto* v2 = layout.v2()) {
        auto own = own_v2_cgroup();
        // Ours by default: below the caller's own cgroup, the one subtree a delegation hands over.
        std::string path = !spec.linux.cgroups_path.empty() && spec.linux.cgroups_path.starts_with("/")
                               ? spec.linux.cgroups_path
                               : (own ? *own : "") + "/" + default_path;
        if (own && delegated(v2->mount, *own == "/" ? "" : *own, v2->mount + path)) return path;
        why = fmt::format("the v2 hierarchy is not delegated ({}{} not writable)", v2->mount, own ? *own : "");
    } else {
        why = "no v2 hierarchy";
    }
    if (auto v1 = v1_controllers(*host); !v1.empty()) why += fmt::format(", v1 controllers {} are not delegated", v1);
    if (spec.linux.resources)
        if (auto asked = limits_asked_for(*spec.linux.resources); !asked.empty())
            return fail(plain_error("check config", asked.front(), "cannot be enforced: " + why));
    warn_no_cgroup(why);
    return std::string();
}

std::unique_ptr<cgroup::Manager> without_cgroup(pid_t pid, unsigned long long start_time) {
    return std::make_unique<NoCgroup>(pid, start_time);
}

Result<std::unique_ptr<cgroup::Manager>> open_cgroups(const cgroup::Layout& layout, const State& s) {
    if (s.cgroup_path.empty()) return without_cgroup(s.pid, s.pid_start_time);
    return cgroup::Manager::open(layout, s.cgroup_path, cgroup::Policy{true, true});  // the path create chose
}

void to_rootless_spec(spec::Spec& spec) {
    auto& ns = spec.linux.namespaces;
    std::erase_if(ns, [](const spec::Namespace& n) { return n.type == "network" || n.type == "user"; });
    ns.push_back({"user", ""});
    spec.linux.uid_mappings = {{0, ::geteuid(), 1}};
    spec.linux.gid_mappings = {{0, ::getegid(), 1}};
    for (auto& m : spec.mounts) {
        if (m.destination == "/sys") {
            m = spec::Mount{"/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}};
            continue;
        }
        std::erase_if(m.options, [](const std::string& o) { return o.starts_with("uid=") || o.starts_with("gid="); });
    }
    spec.linux.resources.reset();
}

Status write_id_mappings(pid_t pid, const spec::Spec& spec) {
    std::string base = fmt::format("/proc/{}/", pid);
    const auto& uids = spec.linux.uid_mappings;
    const auto& gids = spec.linux.gid_mappings;
    if (only_own_id(uids, ::geteuid())) {
        if (auto s = write_file(base + "uid_map", fmt::format("{} {} 1\n", uids[0].container_id, ::geteuid())); !s)
            return fail(Error{"write uid_map for", "linux.uidMappings", s.error().err, s.error().message()});
    } else if (auto s = run_id_helper("newuidmap", pid, uids, "linux.uidMappings"); !s) {
        return s;
    }
    if (gids.empty()) return {};
    if (only_own_id(gids, ::getegid())) {
        // The kernel takes an unprivileged gid_map only once setgroups is denied (CVE-2014-8989).
        if (auto s = write_file(base + "setgroups", "deny"); !s) return s;
        if (auto s = write_file(base + "gid_map", fmt::format("{} {} 1\n", gids[0].container_id, ::getegid())); !s)
            return fail(Error{"write gid_map for", "linux.gidMappings", s.error().err, s.error().message()});
        return {};
    }
    return run_id_helper("newgidmap", pid, gids, "linux.gidMappings");
}

}  // namespace ctb::container::rootless
