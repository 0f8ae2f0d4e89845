// The guest image that runs the ctbench suite inside a VM: an initramfs with ctbench,
// ctbench-runtime and ctbench-agent, their shared libraries and dynamic loader, busybox, the
// guest kernel's modules the suite needs, and an /init that mounts a pure cgroup v2 host, runs
// the requested ctbench command and sends its JSON report to the host over virtio-serial.
// Images are cached under /var/lib/ctbench/guest by the sha256 of everything that goes in.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb::vm {

// Console lines of the suite guest's /init (the console is for logs; the report goes over the
// virtio-serial port named report_port_name).
inline constexpr const char* guest_booted_marker = "CTBENCH-GUEST-BOOTED";
inline constexpr const char* guest_done_marker = "CTBENCH-GUEST-DONE";
inline constexpr const char* report_port_name = "ctbench.report";

// Modules the suite needs that Debian builds as modules: overlayfs, veth, bridge, nftables NAT,
// loop (io.max), fuse (/dev/fuse, the device the devices case denies), virtio-mmio +
// virtio_console (the report port), virtio_net (the NIC on the launcher's tap), tun. Built-ins are fine too.
const std::vector<std::string>& suite_modules();

struct SuiteImageSpec {
    std::string ctbench{};      // host binaries copied into /usr/local/bin
    std::string runtime{};
    std::string agent{};
    std::string modules_dir{};  // /lib/modules/<guest release>
    std::string cache_dir = "/var/lib/ctbench/guest";
    std::string busybox = "/bin/busybox";
    std::vector<std::string> modules = suite_modules();
};

struct SuiteImage {
    std::string path;                    // the cached initramfs
    std::string digest;                  // sha256 of its inputs (names the file)
    bool cache_hit = false;
    std::vector<std::string> modules;    // paths below modules_dir, in load order
    std::vector<std::string> libraries;  // host paths of the shared libraries and the loader
};

// The release a bzImage was built for (the kernel_version string of its setup header):
// "6.1.0-57-cloud-amd64". Fails with the path named for a missing file or a non-bzImage.
Result<std::string> kernel_release_of(const std::string& kernel_image);

// `names` and everything they depend on (modules.dep), dependencies first, each once, as paths
// relative to modules_dir. A name listed in modules.builtin is built in and needs nothing.
Result<std::vector<std::string>> module_load_order(const std::string& modules_dir,
                                                   const std::vector<std::string>& names);

// The shared libraries `binary` needs (transitively) and its program interpreter, as ldd
// resolves them; empty for a static binary.
Result<std::vector<std::string>> shared_libraries(const std::string& binary);

// /init: switch from the initramfs to a tmpfs root (pivot_root refuses the initramfs, and every
// container needs pivot_root), mount proc, sys, devtmpfs, cgroup2 only, tracefs and bpffs,
// insmod `modules` (guest paths), run `ctbench <args>` (base64 of newline-separated args in the
// kernel parameter ctbench_args) with --format json, send the report, power off.
std::string suite_init_script(const std::vector<std::string>& modules);

// Builds (or finds in the cache) the suite image for spec.
Result<SuiteImage> build_suite_image(const SuiteImageSpec& spec);

}  // namespace ctb::vm
