// Assembles the host probe from each kernel area's own probe (namespaces, cgroups, overlay, BPF,
// KVM, networking) plus the tools ctbench drives. Used by `doctor` and at the start of `run`.
#pragma once

#include "reports/host_probe.hpp"

namespace ctb::cli {

struct ProbeOptions {
    bool boot_guests = false;  // --probe-kvm: boot a real guest under KVM and under TCG
};

report::HostProbe probe_host(const ProbeOptions& options = {});

}  // namespace ctb::cli
