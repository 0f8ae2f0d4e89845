// Linux namespaces: the eight types, their clone flags and /proc/<pid>/ns names, and a probe that
// proves each type can be created here (by creating one, not by reading a kernel config).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/feature.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::ns {

struct NamespaceType {
    std::string_view name;        // "mount", "uts", ... (the OCI runtime-spec names)
    int clone_flag;               // CLONE_NEWNS, ...
    std::string_view proc_name;   // entry under /proc/<pid>/ns/
    // pid and time namespaces apply to children only: unshare() changes *_for_children.
    std::string_view proc_name_for_children;
};

// mount, uts, ipc, pid, net, user, cgroup, time: in that order.
const std::array<NamespaceType, 8>& all_types();
std::optional<NamespaceType> find_type(std::string_view name);

// Inode number of /proc/<pid>/ns/<proc_name> ("self" for the caller), or 0 if unreadable.
unsigned long ns_inode(const std::string& pid, std::string_view proc_name);

// Creates a namespace of this type in a throwaway child process and reports the new inode
// against the caller's, or why the kernel refused.
Feature probe(const NamespaceType& type);

// How a container's namespaces come to be. clone3 creates most of them at once (the user
// namespace first, by the kernel's own ordering, so it owns the others). Two are created later
// by the init itself: cgroup (only after the init sits in its cgroup, so that cgroup becomes the
// namespace's root) and time (offsets can only be written before the first task enters).
struct Plan {
    int clone_flags = 0;
    bool new_cgroup = false;
    bool new_time = false;
    bool new_user = false;
    bool new_mount = false;
    bool new_uts = false;
    bool new_net = false;
    // Namespaces joined by path, in setns order (user first). pid is joined by the parent.
    std::vector<std::pair<NamespaceType, std::string>> joins;
    std::string pid_path;  // join this pid namespace ("" = none)
};

// Errors name the spec field (linux.namespaces[i].type / .path).
Result<Plan> plan(const spec::Spec& spec);

// Parent side: uid_map/gid_map of the child, written once it exists. setgroups is denied only
// when required (the writer lacks CAP_SETGID over the parent namespace, i.e. rootless).
Status write_id_mappings(pid_t pid, const spec::Spec& spec);

// Child side, before anything else: setns into each joined namespace.
Status join(const Plan& plan);

// Child side: unshare a time namespace, write the offsets, and move into it.
Status enter_new_time_namespace(const std::map<std::string, spec::TimeOffset>& offsets);

}  // namespace ctb::ns
