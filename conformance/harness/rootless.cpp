// `ctbench run --rootless` (rootless.hpp): the unprivileged user, which cases run, and the spec.
#include "conformance/harness/rootless.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>
#include <utility>
#include <vector>

#include "common/files.hpp"
#include "common/subprocess.hpp"

namespace ctb::conformance::rootless {
namespace {

constexpr const char* kPrefix = "rootless:";
constexpr std::uint32_t kRangeSize = 65536;

// Removes this user's line from /etc/subuid or /etc/subgid (and nothing else).
void drop_range(const std::string& file, const std::string& user) {
    auto text = read_file(file);
    if (!text) return;
    std::istringstream in(*text);
    std::string kept;
    for (std::string line; std::getline(in, line);)
        if (!line.starts_with(user + ":")) kept += line + "\n";
    (void)write_file(file, kept);
}

// A subordinate range no line of the file uses yet (above every range there).
std::uint32_t free_range() {
    std::uint64_t top = 300000;
    for (const char* file : {"/etc/subuid", "/etc/subgid"}) {
        auto text = read_file(file);
        if (!text) continue;
        std::istringstream in(*text);
        for (std::string line; std::getline(in, line);) {
            std::istringstream fields(line);
            std::string name, start, count;
            if (!std::getline(fields, name, ':') || !std::getline(fields, start, ':') || !std::getline(fields, count)) continue;
            try {
                top = std::max<std::uint64_t>(top, std::stoull(start) + std::stoull(count));
            } catch (...) {
            }
        }
    }
    return static_cast<std::uint32_t>(top);
}

// Every process of this uid: the user exists only for this run, so all of them are ours.
std::vector<pid_t> processes_of(uid_t uid) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
        std::string name = e.path().filename();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        auto status = read_file(e.path().string() + "/status");
        if (!status) continue;
        auto at = status->find("\nUid:\t");
        if (at != std::string::npos && std::stoul(status->substr(at + 6)) == uid) out.push_back(std::stoi(name));
    }
    return out;
}

bool in_area(const Case& c, std::initializer_list<const char*> areas) {
    return std::any_of(areas.begin(), areas.end(), [&](const char* a) { return c.area() == a; });
}

bool id_starts(const Case& c, std::initializer_list<const char*> prefixes) {
    return std::any_of(prefixes.begin(), prefixes.end(), [&](const char* p) { return c.id.starts_with(p); });
}

// Removes one user of ours (ctbrootless<pid>) with its processes and id ranges.
void remove_user(const std::string& name, uid_t uid) {
    for (pid_t pid : processes_of(uid)) ::kill(pid, SIGKILL);
    (void)run_process({"userdel", name});
    drop_range("/etc/subuid", name);
    drop_range("/etc/subgid", name);
}

}  // namespace

std::vector<std::string> remove_stale_users() {
    std::vector<std::string> removed;
    auto text = read_file("/etc/passwd");
    if (!text) return removed;
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("ctbrootless")) continue;
        std::string name = line.substr(0, line.find(':'));
        std::string digits = name.substr(std::string("ctbrootless").size());
        if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
        if (::access(("/proc/" + digits).c_str(), F_OK) == 0) continue;
        if (const passwd* pw = ::getpwnam(name.c_str())) {
            remove_user(name, pw->pw_uid);
            removed.push_back(name);
        }
    }
    return removed;
}

std::string encode(const Identity& id) { return fmt::format("{}{}:{}:{}:{}", kPrefix, id.uid, id.gid, id.subid, id.runtime); }

std::optional<Identity> decode(const std::string& runtime) {
    if (!runtime.starts_with(kPrefix)) return std::nullopt;
    std::istringstream in(runtime.substr(std::string(kPrefix).size()));
    std::string uid, gid, sub, path;
    if (!std::getline(in, uid, ':') || !std::getline(in, gid, ':') || !std::getline(in, sub, ':') || !std::getline(in, path))
        return std::nullopt;
    try {
        return Identity{static_cast<uid_t>(std::stoul(uid)), static_cast<gid_t>(std::stoul(gid)),
                        static_cast<std::uint32_t>(std::stoul(sub)), path};
    } catch (...) {
        return std::nullopt;
    }
}

Result<User> User::create(const std::string& runtime_path) {
    if (::geteuid() != 0) return fail(plain_error("--rootless", "", "creating the unprivileged user needs root"));
    for (const char* tool : {"useradd", "userdel", "setpriv", "newuidmap", "newgidmap"})
        if (!find_executable(tool))
            return fail(plain_error("--rootless", tool, "is missing (scripts/setup.sh installs uidmap and util-linux)"));
    remove_stale_users();
    User u;
    u.name_ = fmt::format("ctbrootless{}", ::getpid());
    auto made = run_process({"useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                             u.name_});
    if (!made) return fail(made.error());
    if (!made->exited_ok()) {
        u.name_.clear();  // not ours: nothing to remove
        return fail(plain_error("useradd", fmt::format("ctbrootless{}", ::getpid()), trim(made->output)));
    }
    const passwd* pw = ::getpwnam(u.name_.c_str());
    if (!pw) return fail(plain_error("getpwnam", u.name_, "user not found after useradd"));
    u.id_ = Identity{pw->pw_uid, pw->pw_gid, free_range(), runtime_path};
    std::string line = fmt::format("{}:{}:{}\n", u.name_, u.id_.subid, kRangeSize);
    for (const char* file : {"/etc/subuid", "/etc/subgid"}) {
        auto old = read_file(file);
        if (auto s = write_file(file, old.value_or("") + line); !s) return fail(s.error());
    }
    return u;
}

User::~User() {
    if (!name_.empty()) remove_user(name_, id_.uid);
}

std::string rootful_reason(const Case& c) {
    if (in_area(c, {"cgroup"}))
        return "cgroup limits need a cgroup the user may write, and no cgroup is delegated to it here";
    if (in_area(c, {"network", "ports"}))
        return "bridges, veth pairs, nft rules and the engine's pinned network namespaces need root on the host";
    if (in_area(c, {"volume"}))
        return "the engine's volumes and bind sources are made by root on the host, and the container's root (the "
               "unprivileged user) cannot write them";
    if (in_area(c, {"overlay"})) return "the overlay cases mount overlayfs on the host side as root, without a runtime";
    for (const auto& r : c.needs)
        if (r.kind == Requirement::Kind::network_feature)
            return "moves a link into the container: making it on the host needs root";
    if (id_starts(c, {"ns.cgroup."}))
        return "needs a cgroup of the container's own, and no cgroup is delegated to the user here";
    if (id_starts(c, {"ns.user.caps_", "ns.user.unmapped_overflow_id"}))
        return "maps container ids to host ids of the case's choosing, which only root may write";
    if (id_starts(c, {"ns.ipc.posix_mqueue_isolated"}))
        return "its oracle creates a queue from the host, as host root, in the container's IPC namespace, whose "
               "user namespace does not map host root";
    if (id_starts(c, {"security.caps.bounding_enforced", "security.nnp.blocks_setuid"}))
        return "its control is a setuid-root binary, and host root is unmapped in a rootless container "
               "(the kernel ignores setuid to an unmapped owner)";
    if (id_starts(c, {"security.readonly_paths.enforced", "security.rootfs.readonly"}))
        return "the files belong to host root, unmapped in a rootless container: writes fail with EACCES "
               "before the read-only mount is reached, so EROFS cannot be told apart";
    if (id_starts(c, {"security.escape.dmesg"}))
        return "its control grants CAP_SYSLOG, which only counts in the host's user namespace: a rootless "
               "container's control cannot read the log either, so the denial cannot be told apart";
    if (id_starts(c, {"security.rlimits.core"}))
        return "its host-side oracle reads and raises the init's RLIMIT_CORE with prlimit(2), which the kernel "
               "refuses for a process in a user namespace the case does not own";
    if (id_starts(c, {"security.user.runs_as_spec_user"}))
        return "its files carry host gids, which a rootless container sees unmapped";
    if (id_starts(c, {"security.exe_overwrite_blocked"}))
        return "the case finds the runtime's binary by the runtime's name, which it does not yet take in the "
               "rootless form";
    if (id_starts(c, {"ns.mount.propagation_", "ns.user.setgroups_deny", "ns.user.uid_map_write_rules",
                      "ns.time.offsets_immutable_after_entry"}))
        return "checks the kernel from the host side, without a container runtime";
    return "";
}

void adapt_spec(spec::Spec& spec, const Identity& id) {
    auto& ns = spec.linux.namespaces;
    if (std::none_of(ns.begin(), ns.end(), [](const spec::Namespace& n) { return n.type == "user"; }))
        ns.push_back({"user", ""});
    if (spec.linux.uid_mappings.empty()) spec.linux.uid_mappings = {{0, id.uid, 1}, {1, id.subid, kRangeSize}};
    if (spec.linux.gid_mappings.empty()) spec.linux.gid_mappings = {{0, id.gid, 1}, {1, id.subid, kRangeSize}};
}

}  // namespace ctb::conformance::rootless
