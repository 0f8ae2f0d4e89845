// What a conformance case or a benchmark needs from the host, and the check against the host
// probe. Both runners decide skips from these before anything runs, so this lives below both.
#pragma once

#include <string>
#include <vector>

#include "reports/host_probe.hpp"

namespace ctb {

// Each kind maps to one part of the host probe.
struct Requirement {
    enum class Kind { root, namespace_type, cgroup_controller, cgroup_v2_controller, overlay_feature,
                      bpf_program_type, network_feature, tool, bpf_tracing };
    Kind kind;
    std::string value;  // "time", "memory", "redirect_dir", "tp_btf", "nft_nat", "runc" ...
};

// Why the host cannot meet `r` ("" when it can).
std::string unmet_requirement(const Requirement& r, const report::HostProbe& host);
// The first unmet requirement of the list, or "".
std::string first_unmet(const std::vector<Requirement>& needs, const report::HostProbe& host);
// "namespace pid", "cgroup v2 controller memory", ... (for `ctbench list`).
std::string requirement_text(const Requirement& r);

}  // namespace ctb
