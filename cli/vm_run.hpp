// `ctbench run --vm`: the selected conformance cases run inside a qemu microVM (Debian's cloud
// kernel or --kernel), on a pure cgroup v2 guest; the report comes back marked guest-side.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

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
};

void add_vm_options(CLI::App& cmd, VmOptions& vm);
int run_in_vm(const VmOptions& vm, const GuestSelection& selection);

}  // namespace ctb::cli
