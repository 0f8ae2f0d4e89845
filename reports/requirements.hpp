// What a conformance case or a benchmark needs from the host, and the check against the host
// probe. Both runners decide skips from these before anything runs, so this lives below both.
#pragma once

#include <string>
#include <vector>

#include "reports/host_probe.hpp"

namespace ctb {

// Most kinds map to one part of the host probe; a few (swap, device_node, free_memory,
// hugepage_pool, min_cpus' affinity, cgroup_feature's files) read the host's own files when
// checked, and runtime_feature asks the runtime under test. All of them are decided before
// anything runs, so every such skip shows in `ctbench run --list` with its reason.
struct Requirement {
    enum class Kind {
        root,
        namespace_type,        // "time"
        cgroup_controller,     // "memory" on either version; "blkio|io": any of the names
        cgroup_v2_controller,  // "memory" on the unified hierarchy
        cgroup_feature,        // "freezer", "devices", "io_throttle": on whichever version offers it
        overlay_feature,       // "redirect_dir"; "" for overlayfs itself
        bpf_program_type,      // "tp_btf"
        network_feature,       // "nft_nat"
        tool,                  // "runc"
        bpf_tracing,
        kernel_version,  // "5.11": at least this release
        min_cpus,        // "2": that many CPUs, all usable by this process (affinity)
        swap,            // an active swap area (/proc/swaps)
        device_node,     // "/dev/loop-control", or "/dev/fuse c 10:229" (type, major:minor checked)
        free_memory,     // "256": MiB of MemAvailable
        hugepage_pool,   // "2048kB": a non-empty (or overcommittable) pool of that size
        runtime_feature, // "time_namespace": the runtime under test supports it (see runtime_gap)
        rootful,         // why: unmet when the runtime runs unprivileged (`ctbench run --rootless`)
    };
    Kind kind;
    std::string value;
};

// Why the host (and the runtime under test: "ctbench", "runc", "crun" or a path) cannot meet `r`
// ("" when it can).
std::string unmet_requirement(const Requirement& r, const report::HostProbe& host, const std::string& runtime = "ctbench");
// A runtime name of `ctbench run --rootless` ("rootless:UID:GID:SUBID:PATH", see
// conformance/harness/rootless.hpp): whether it is one, and the runtime path it wraps.
bool rootless_runtime(const std::string& runtime);
std::string runtime_path_of(const std::string& runtime);
// The first unmet requirement of the list, or "".
std::string first_unmet(const std::vector<Requirement>& needs, const report::HostProbe& host,
                        const std::string& runtime = "ctbench");
// "namespace pid", "cgroup v2 controller memory", ... (for `ctbench list`).
std::string requirement_text(const Requirement& r);

}  // namespace ctb
