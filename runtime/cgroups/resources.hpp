// Internal: linux.resources -> cgroup files, one function per cgroup version. The backends
// decide where (which directories); these decide what is written, in which order.
#pragma once

#include <map>
#include <string>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::cgroup {

// v1: controller name ("memory", "cpu", "cpuset", ...) -> this cgroup's directory in the
// hierarchy that holds it. A section whose controller is absent is an error naming it.
Status apply_v1(const std::map<std::string, std::string>& dir_of, const spec::Resources& resources);

// v2: the cgroup's directory; controllers are checked against its cgroup.controllers (what the
// parent delegated). Device rules become a BPF program on the directory.
Status apply_v2(const std::string& dir, const spec::Resources& resources);

// Error for a section whose controller is missing: "apply <field>: cgroup controller <name> is
// not available (<why>)".
Error missing_controller(const std::string& field, const std::string& controller, const std::string& why);
inline constexpr const char* kMissingPrefix = "cgroup controller ";
inline constexpr const char* kMissingSuffix = " is not available";

}  // namespace ctb::cgroup
