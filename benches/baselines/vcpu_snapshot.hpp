// What a stalled guest's vCPUs were doing. A TCG guest here once in many boots goes silent after
// the kernel's PCI line and never reaches userspace (vm.hpp, BootSpec::boot_stall); its console
// says nothing more (the guest boots `quiet`). Right before such a guest is stopped, qemu's
// human monitor (a unix socket in the boot's state dir) is asked for every vCPU's registers, and
// each RIP is named with the guest kernel's System.map, so the stall's reason says where the
// kernel was: "CPU#0 halted in default_idle+0x..., CPU#1 in smp_call_function_many_cond+0x...".
// Debian's /boot/System.map-* is a one-line placeholder (the real map is in the kernel's -dbg
// package): then the addresses are given as they are, and the guest boots with nokaslr so that
// they can be looked up there.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ctb::vm {

// qemu arguments for a monitor listening on `socket_path` (qemu makes the socket at start).
std::vector<std::string> monitor_args(const std::string& socket_path);

// The boot's vCPUs in one line, or why they could not be read ("no monitor answer: ...").
std::string vcpu_snapshot(const std::string& socket_path, const std::string& system_map,
                          std::chrono::milliseconds timeout);

// /boot/vmlinuz-X -> /boot/System.map-X when that file exists; "" otherwise.
std::string system_map_for(const std::string& kernel);

// The parts, for tests.
struct VcpuState {
    int cpu = -1;
    std::uint64_t rip = 0;
    bool halted = false;
};
// `info registers -a` as qemu's monitor prints it: "CPU#0" then lines with "RIP=... HLT=0|1".
std::vector<VcpuState> parse_info_registers(const std::string& text);
// "name+0xoff" for a text symbol at or below `rip` (at most 1 MiB below), "" when none.
std::string symbolize(std::uint64_t rip, const std::string& system_map_text);
std::string describe(const std::vector<VcpuState>& vcpus, const std::string& system_map_text);

}  // namespace ctb::vm
