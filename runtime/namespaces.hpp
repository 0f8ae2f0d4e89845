// Linux namespaces: the eight types, their clone flags and /proc/<pid>/ns names, and a probe that
// proves each type can be created here (by creating one, not by reading a kernel config).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "common/feature.hpp"

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

}  // namespace ctb::ns
