// cgroup layout detection: which version each controller runs on (v1, v2 or hybrid hosts), where
// each hierarchy is mounted, and whether ctbench may create its own sub-tree there.
// Found from /proc/self/mountinfo, /proc/cgroups and cgroup.controllers, i.e. from the kernel.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/feature.hpp"

namespace ctb::cgroup {

enum class Mode { none, v1, v2, hybrid };
std::string to_string(Mode mode);

struct Hierarchy {
    int version = 1;                       // 1 or 2
    std::string mount;                     // /sys/fs/cgroup/memory, /sys/fs/cgroup/unified, ...
    std::vector<std::string> controllers;  // v1: from the mount options; v2: cgroup.controllers
    std::string name;                      // v1 named hierarchies (name=systemd); empty otherwise
};

struct Layout {
    Mode mode = Mode::none;
    std::vector<Hierarchy> hierarchies;
    std::vector<std::string> known_controllers;  // every controller the kernel has (/proc/cgroups)

    // The hierarchy that holds `controller`, if it is mounted anywhere.
    const Hierarchy* find(const std::string& controller) const;
    const Hierarchy* v2() const;
};

// Pure parsers, unit tested against recorded host files.
std::vector<Hierarchy> parse_mountinfo(const std::string& mountinfo);
std::vector<std::string> parse_proc_cgroups(const std::string& proc_cgroups);
Mode classify(const std::vector<Hierarchy>& hierarchies);

// Reads the live host. v2 hierarchies get their controllers from <mount>/cgroup.controllers.
// The answer is kept while the caller's mount namespace and its mount table stay the same (the
// kernel flags every change on a watched /proc/self/mountinfo): a create and its delete then
// read the host once, not twice. Controllers move between hierarchies only by mounting.
Result<Layout> detect();

// The directory under each hierarchy that holds everything ctbench creates.
inline constexpr const char* kParentName = "ctbench";

// Tries to create (and removes again) <mount>/ctbench/probe-<pid>; for v2 also checks that the
// controller is enabled in that child (delegated through cgroup.subtree_control).
Feature probe_subtree(const Hierarchy& hierarchy, const std::string& controller);

}  // namespace ctb::cgroup
