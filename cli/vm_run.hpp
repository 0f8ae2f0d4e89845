// `ctbench run --vm`: the selected conformance cases run inside a qemu microVM (Debian's cloud
// kernel or --kernel), on a pure cgroup v2 guest; the report comes back marked guest-side.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "reports/model.hpp"

namespace ctb::cli {

struct VmOptions {
    bool vm = false;
    std::string kernel, initrd, modules;
    double boot_timeout_seconds = 180;
    double command_timeout_seconds = 1800;
    int cpus = 0, memory_mib = 0;
    // --kernel, --initrd and --modules each imply --vm.
    bool wanted() const { return vm || !kernel.empty() || !initrd.empty() || !modules.empty(); }
};

// What the host-side run was asked for; the guest runs the same selection.
struct GuestSelection {
    std::string suite, filter, skip;
    double timeout_seconds = 0;
    std::vector<std::string> formats;
    std::string output;
    int repetitions = 0;     // benches: passed on to the guest's run
    bool thorough = false;
    std::string state_fs = "tmpfs";
    // `--baseline ...,vm` with veth benches selected: these workloads (tcp_stream, udp_stream,
    // tcp_rr) also run between the host and the guest over virtio-net on a tap, as the series
    // veth.<mode>/host-guest-virtio (benches/baselines/host_guest.hpp). Empty: the guest has no NIC.
    std::vector<std::string> net_modes{};
};

void add_vm_options(CLI::App& cmd, VmOptions& vm);
Status check_vm_options(const VmOptions& vm);
// Boots the guest, runs the selection there, returns its report marked guest-side (run.guest, and
// every result labelled with the accelerator that ran).
// caller_holds_lock: the caller (`run --baseline ...,vm`) holds the run lock across its host and
// guest parts, so that no other run slips in between; otherwise the guest run takes it.
Result<report::Report> run_guest(const VmOptions& vm, const GuestSelection& selection, bool caller_holds_lock = false);
int run_in_vm(const VmOptions& vm, const GuestSelection& selection);

}  // namespace ctb::cli
