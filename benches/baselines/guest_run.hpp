// Running a ctbench command inside a qemu microVM and bringing its JSON report back: the
// launcher behind `ctbench run --vm`. The accelerator is KVM when a probe guest boots under it,
// else TCG (with the reason); every result says which ran.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "benches/baselines/guest_net.hpp"
#include "benches/baselines/suite_image.hpp"
#include "benches/baselines/vm.hpp"
#include "common/error.hpp"

namespace ctb::vm {

struct GuestRunSpec {
    std::string kernel{};       // bzImage; empty: find_guest_kernel()
    std::string initrd{};       // an initramfs of your own; empty: build_suite_image()
    std::string modules_dir{};  // empty: /lib/modules/<release of kernel>
    std::string ctbench{}, runtime{}, agent{};  // host binaries for the image
    std::vector<std::string> ctbench_args{};    // e.g. {"run", "--suite", "cgroup"}; no newlines
    std::chrono::milliseconds boot_deadline{180'000};
    std::chrono::milliseconds boot_stall{30'000};  // then booted again (BootSpec::boot_stall)
    std::chrono::milliseconds command_deadline{1'800'000};
    int cpus = 0;        // 0: the host's, at most 4
    int memory_mib = 0;  // 0: 2 GiB, less on a small host
    std::optional<Accel> accel{};  // force one; empty: KVM if a probe guest boots under it
    std::string state_root = "/run/ctbench";
    // A sparse raw file of this size under the run's state dir, attached as a virtio-blk disk
    // and formatted ext4 by the guest for its /run; 0: none (the guest uses a loop over RAM).
    long long scratch_disk_mib = 8192;
    // Guest networking (guest_net.hpp): when set, the launcher makes a bridge and a tap, gives the
    // guest a virtio-net NIC on it, and the guest's /init, before its ctbench command, brings its
    // side up and serves the agent's netbench-server; this runs on the host meanwhile (the guest
    // waits until it returns). Not called when the guest's side did not come up (GuestRun::network
    // says why). It runs inside the launcher's console loop and must not throw (qemu would not be
    // reaped); the console is not read meanwhile, which is fine for a guest that only waits.
    std::function<void(const GuestNetEndpoint&)> with_network{};
};

struct GuestRun {
    Accel accel = Accel::tcg;
    std::string accel_note;  // why this accelerator; for TCG, that its figures are no KVM baseline
    std::string kernel, initrd, modules_dir, guest_release;
    bool image_cache_hit = false;
    int cpus = 0, memory_mib = 0;
    double boot_seconds = 0, total_seconds = 0;
    int guest_exit = -1;      // ctbench's exit code in the guest
    // What the guest's /run (state, scratch files of the I/O benches) lives on: "virtio-blk",
    // "loop over guest RAM" or "tmpfs ..." (from the guest's own last line); and how qemu backs
    // the virtio disk ("cache=none": O_DIRECT on the host, no host page cache in the figures).
    std::string scratch, scratch_backing;
    // The guest's clocksource: "tsc" gives ns timings; "jiffies" or "refined-jiffies" only ticks.
    std::string clocksource;
    // With with_network: the guest's network line ("ready addr=... if=eth0" or "failed: why"), or
    // why there was none.
    std::string network;
    std::string report_json;  // what came over the report port
    std::string console_tail;
};

// The plain statement every TCG result carries.
inline constexpr const char* tcg_note =
    "TCG (software emulation): figures from this guest are not a KVM baseline";

// Boots the guest in a private state dir under state_root (removed on every path; qemu is
// killed by pid on a deadline), runs the command, returns the report. Errors name the cause and
// include the last console lines.
Result<GuestRun> run_in_guest(const GuestRunSpec& spec);

}  // namespace ctb::vm
