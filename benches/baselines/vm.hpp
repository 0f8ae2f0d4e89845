// The VM baseline's host side: is KVM there, does a guest actually boot under it, and booting
// a guest under qemu -M microvm until it reports that it reached user space.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "benches/baselines/guest_image.hpp"
#include "common/feature.hpp"

namespace ctb::vm {

// /dev/kvm as the kernel reports it. `present` means it opened and speaks KVM API 12; whether a
// guest really runs is only known by booting one (nested hosts often fail at the first
// instruction KVM must emulate).
struct KvmDevice {
    bool present = false;
    int api_version = 0;
    std::string detail;  // evidence or reason, never empty
};
KvmDevice probe_kvm_device(const std::string& path = "/dev/kvm");

enum class Accel { kvm, tcg };
std::string to_string(Accel accel);

struct BootResult {
    Accel accel = Accel::tcg;
    // yes: the ready marker's line; no: why not ("KVM internal error: emulation failure ...",
    // "timed out after 60 s without reaching userspace", "qemu exited with code 1: ...").
    Feature reached_userspace;
    double seconds = 0;          // qemu start to marker (or to the end of the attempt)
    std::string console_tail;    // last lines of qemu's serial console and stderr
    std::string guest_release;   // `uname -r` in the guest, when it reported one
    std::string ready_line;      // the ready marker's whole line, when it was printed
    double boot_seconds = 0;     // qemu start to boot_marker (0 when not seen or not asked)
    bool stalled = false;        // a command guest that had not reached boot_marker at boot_deadline
    std::string retried;         // "N boot(s) stopped: why; ...", when the guest was booted again
};

// One guest boot. The state dir (named on qemu's command line, so leftover guests are
// recognisable as ctbench's) must exist; qemu writes its pidfile there.
struct BootSpec {
    Accel accel = Accel::tcg;
    std::string kernel;
    std::string initrd;
    std::string state_dir;
    std::chrono::milliseconds deadline{60'000};
    std::string ready_marker = guest_ready_marker;
    int memory_mib = 256;
    int cpus = 1;
    // A guest that runs a command: `boot_marker` must appear within `boot_deadline` (else the
    // boot failed), then `deadline` counts from it; the run ends when qemu exits after the
    // guest powers off, not at ready_marker (which the guest prints once its command is done).
    // Empty: probe behaviour (`deadline` from qemu's start to ready_marker).
    std::string boot_marker{};
    std::chrono::milliseconds boot_deadline{0};
    // A boot still short of boot_marker after `boot_stall` is stopped and the guest booted again,
    // up to `boot_attempts` boots in all, the last with the whole boot_deadline
    // (BootResult::retried says so). TCG boots here take 2-5 s, yet one in many went silent
    // after the kernel's PCI line until the deadline, once twice in a row; another boot costs
    // seconds where the deadline cost minutes. 0: one boot.
    std::chrono::milliseconds boot_stall{0};
    int boot_attempts = 3;
    std::vector<std::string> extra_args{};  // devices and chardevs, appended to the command
    std::string extra_append{};             // appended to the kernel command line
    // A guest that waits for the host in the middle of its command (the network workloads): the
    // first whole console line containing `pause_marker` is handed to `at_pause`, which runs on
    // this thread while the guest waits; the deadline keeps counting. Empty: no pause.
    std::string pause_marker{};
    std::function<void(const std::string& line)> at_pause{};
};

std::vector<std::string> qemu_command(const BootSpec& spec);
// Runs qemu until the marker's line is printed (success), qemu reports a fatal KVM error,
// qemu exits, or the deadline passes; qemu is then stopped by its pid.
BootResult boot_guest(const BootSpec& spec);

// The probe guest (busybox initramfs printing guest_ready_marker) booted from a private state
// dir /run/ctbench/vm-probe-<pid>, which is removed afterwards on every path. Not for
// concurrent use from several threads of one process (they would share the state dir).
BootResult boot_probe_guest(Accel accel, std::chrono::milliseconds deadline);

struct AccelProbe {
    KvmDevice device;
    Feature kvm;        // a guest reached userspace under KVM, or why KVM is unusable
    BootResult chosen;  // KVM's boot when it worked, else TCG's; chosen.accel says which ran
};
// KVM when the device is present and a guest boots under it, else TCG. Each boot gets
// `deadline_per_boot`.
AccelProbe probe_best_accel(std::chrono::milliseconds deadline_per_boot);

}  // namespace ctb::vm
