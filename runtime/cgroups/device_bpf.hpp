// cgroup v2 has no devices controller: device access is decided by a BPF_PROG_TYPE_CGROUP_DEVICE
// program attached to the cgroup. We build it from raw instructions (no clang, no BPF object at
// run time); the idea follows crun's ebpf.c and runc's devicefilter, the code is our own.
//
// Program shape: load type, access, major, minor from struct bpf_cgroup_dev_ctx into r2..r5;
// then one block per rule, last spec rule first, so that the first block that matches returns
// that rule's verdict (= the last matching rule wins, as writes to devices.allow/deny do in v1);
// then the default verdict (set by the latest "a" rule; deny when there is none).
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/cgroups/convert.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::cgroup {

// Pure: the instructions for `rules` (OCI order). Errors name the rule ("devices[2]: ...").
Converted<std::vector<bpf_insn>> device_program(const std::vector<spec::DeviceRule>& rules);

// Loads `program` and attaches it to the cgroup directory fd with BPF_F_ALLOW_MULTI, then
// detaches the programs that were attached to that cgroup before (an earlier apply), so that a
// new rule set replaces the old one instead of being ANDed with it. `cgroup_path` is for errors.
Status attach_device_program(int cgroup_fd, const std::vector<bpf_insn>& program, const std::string& cgroup_path);

}  // namespace ctb::cgroup
