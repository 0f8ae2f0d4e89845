#include "runtime/namespaces.hpp"

#include <sched.h>
#include <sys/stat.h>

#include <cerrno>
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
