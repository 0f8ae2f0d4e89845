#include "runtime/namespaces.hpp"

#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>
#include <cerrno>
#include <sstream>
#include <fmt/format.h>

#include "common/child.hpp"
#include "common/error.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace ctb::ns {

const std::array<NamespaceType, 8>& all_types() {
    static const std::array<NamespaceType, 8> types{{
        {"mount", CLONE_NEWNS, "mnt", "mnt"},
        {"uts", CLONE_NEWUTS, "uts", "uts"},
        {"ipc", CLONE_NEWIPC, "ipc", "ipc"},
        {"pid", CLONE_NEWPID, "pid", "pid_for_children"},
        {"network", CLONE_NEWNET, "net", "net"},
        {"user", CLONE_NEWUSER, "user", "user"},
        {"cgroup", CLONE_NEWCGROUP, "cgroup", "cgroup"},
        {"time", CLONE_NEWTIME, "time", "time_for_children"},
    }};
    return types;
}

std::optional<NamespaceType> find_type(std::string_view name) {
    if (name == "net") name = "network";  // the kernel's short name is accepted too
    if (name == "mnt") name = "mount";
    for (const auto& t : all_types())
        if (t.name == name) return t;
    return std::nullopt;
}

unsigned long ns_inode(const std::string& pid, std::string_view proc_name) {
    struct stat st {};
    std::string path = fmt::format("/proc/{}/ns/{}", pid, proc_name);
    if (::stat(path.c_str(), &st) != 0) return 0;
    return st.st_ino;
}

Feature probe(const NamespaceType& type) {
    if (ns_inode("self", type.proc_name) == 0)
        return Feature::no(fmt::format("/proc/self/ns/{} is missing: kernel built without it", type.proc_name));
    unsigned long host_inode = ns_inode("self", type.proc_name_for_children);
    auto child = run_in_child([&]() -> std::string {
        if (::unshare(type.clone_flag) != 0) return "E" + errno_name(errno);
        if (type.clone_flag != CLONE_NEWPID) return std::to_string(ns_inode("self", type.proc_name_for_children));
        // A pid namespace has no inode until its first process exists: fork it, and let it
        // report its own pid too (1, as the namespace's init).
        auto init = run_in_child([] { return std::to_string(ns_inode("self", "pid")) + " pid " + std::to_string(::getpid()); });
        return init ? *init : "E" + init.error().message();
    });
    if (!child) return Feature::no(child.error().message());
    if (child->starts_with("E"))
        return Feature::no(fmt::format("unshare({}): {}", type.name, child->substr(1)));
    if (*child == std::to_string(host_inode))
        return Feature::no(fmt::format("unshare({}) succeeded but the inode did not change", type.name));
    return Feature::yes(fmt::format("created {} namespace inode {} (caller's {})", type.name, *child, host_inode));
}

}  // namespace ctb::ns

// ---- container namespaces ---------------------------------------------------------------

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#include "common/fd.hpp"
#include "common/files.hpp"

namespace ctb::ns {
namespace {

Status add_to_plan(Plan& p, const NamespaceType& t, const std::string& path) {
    if (!path.empty()) {
        if (t.clone_flag == CLONE_NEWPID) p.pid_path = path;
        else p.joins.emplace_back(t, path);
        return {};
    }
    switch (t.clone_flag) {
        case CLONE_NEWCGROUP: p.new_cgroup = true; return {};
        case CLONE_NEWTIME: p.new_time = true; return {};
        case CLONE_NEWUSER: p.new_user = true; break;
        case CLONE_NEWNS: p.new_mount = true; break;
        case CLONE_NEWUTS: p.new_uts = true; break;
        case CLONE_NEWNET: p.new_net = true; break;
        default: break;
    }
    p.clone_flags |= t.clone_flag;
    return {};
}

std::string mapping_text(const std::vector<spec::IdMapping>& maps) {
    std::string out;
    for (const auto& m : maps) out += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
    return out;
}

bool have_cap_setgid() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0) return false;
    return data[0].effective & (1u << CAP_SETGID);
}

}  // namespace

namespace {

// The namespace a sysctl belongs to ("" for none), as runc's validator sorts them: the IPC limits
// and fs.mqueue.* live in the ipc namespace, net.* in the network namespace, the two names in uts.
std::string sysctl_namespace(const std::string& key) {
    static const std::set<std::string> ipc{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",  "kernel.sem",
                                           "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                                           "kernel.shm_rmid_forced"};
    if (ipc.count(key) || key.starts_with("fs.mqueue.")) return "ipc";
    if (key.starts_with("net.")) return "network";
    if (key == "kernel.domainname" || key == "kernel.hostname") return "uts";
    return "";
}

// A new namespace, or one joined by path that is not the runtime's own (the host's).
bool not_the_hosts(const spec::Namespace& n) {
    if (n.path.empty()) return true;
    static const std::map<std::string, std::string> proc_name{{"ipc", "ipc"}, {"network", "net"}, {"uts", "uts"}};
    auto it = proc_name.find(n.type);
    struct stat joined {}, own {};
    if (it == proc_name.end() || ::stat(n.path.c_str(), &joined) != 0 ||
        ::stat(("/proc/self/ns/" + it->second).c_str(), &own) != 0)
        return false;
    return joined.st_ino != own.st_ino || joined.st_dev != own.st_dev;
}

// A sysctl the container has no namespace of its own for would be written into the host's (or a
// joined namespace's) kernel: refused before anything exists, as runc does.
Status check_sysctls(const spec::Spec& spec) {
    for (const auto& [key, value] : spec.linux.sysctl) {
        std::string ns = sysctl_namespace(key);
        bool owned = std::any_of(spec.linux.namespaces.begin(), spec.linux.namespaces.end(),
                                 [&](const spec::Namespace& n) { return n.type == ns && not_the_hosts(n); });
        if (ns.empty())
            return fail(plain_error("check sysctl", "linux.sysctl." + key,
                                    "belongs to no namespace: it would change the host's kernel"));
        if (!owned)
            return fail(plain_error("check sysctl", "linux.sysctl." + key,
                                    "the container has no " + ns + " namespace of its own to set it in"));
    }
    return {};
}

}  // namespace

Result<Plan> plan(const spec::Spec& spec) {
    if (auto s = check_sysctls(spec); !s) return fail(s.error());
    Plan p;
    const auto& list = spec.linux.namespaces;
    for (std::size_t i = 0; i < list.size(); ++i) {
        auto t = find_type(list[i].type);
        if (!t) return fail(plain_error("namespaces", fmt::format("linux.namespaces[{}].type", i),
                                        "unknown namespace type \"" + list[i].type + "\""));
        if (auto s = add_to_plan(p, *t, list[i].path); !s) return fail(s.error());
    }
    // setns into a user namespace must come first: it grants the capabilities for the others.
    std::stable_partition(p.joins.begin(), p.joins.end(),
                          [](const auto& j) { return j.first.clone_flag == CLONE_NEWUSER; });
    return p;
}

Status write_id_mappings(pid_t pid, const spec::Spec& spec) {
    std::string base = fmt::format("/proc/{}/", pid);
    if (!spec.linux.gid_mappings.empty() && !have_cap_setgid())
        if (auto s = write_file(base + "setgroups", "deny"); !s) return s;
    if (auto s = write_file(base + "uid_map", mapping_text(spec.linux.uid_mappings)); !s)
        return fail(Error{"write uid_map for", "linux.uidMappings", s.error().err, s.error().message()});
    if (auto s = write_file(base + "gid_map", mapping_text(spec.linux.gid_mappings)); !s)
        return fail(Error{"write gid_map for", "linux.gidMappings", s.error().err, s.error().message()});
    return {};
}

Status join(const Plan& plan) {
    for (const auto& [type, path] : plan.joins) {
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return fail(sys_error(fmt::format("open {} namespace", type.name), path));
        if (::setns(fd.get(), type.clone_flag) != 0)
            return fail(sys_error(fmt::format("setns {} namespace", type.name), path));
    }
    return {};
}

Status enter_new_time_namespace(const std::map<std::string, spec::TimeOffset>& offsets) {
    if (::unshare(CLONE_NEWTIME) != 0) return fail(sys_error("unshare", "time namespace"));
    std::string text;
    for (const auto& [clock, off] : offsets) text += fmt::format("{} {} {}\n", clock, off.secs, off.nanosecs);
    // One write per line: the kernel parses a single clock per write on some versions.
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (auto s = write_file("/proc/self/timens_offsets", line + "\n"); !s)
            return fail(Error{"write time offsets", "linux.timeOffsets", s.error().err, line});
    UniqueFd fd(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error("open", "/proc/self/ns/time_for_children"));
    if (::setns(fd.get(), CLONE_NEWTIME) != 0) return fail(sys_error("setns", "time namespace"));
    return {};
}

}  // namespace ctb::ns
