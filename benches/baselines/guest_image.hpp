// The guest side of the VM baseline: which kernel to boot and the initramfs it boots into.
// The initramfs is busybox plus an /init script; benchmarks bring their own /init and files.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb::vm {

// The line the probe guest prints once it runs /init in user space. The console is scanned for
// it, so it must not occur in kernel messages.
inline constexpr const char* guest_ready_marker = "CTBENCH-GUEST-READY";

// A regular file placed in the initramfs, e.g. a benchmark's payload.
struct GuestFile {
    std::string path;     // inside the guest, absolute ("/bench/run.sh")
    std::string content;
    unsigned mode = 0755;
};

struct InitramfsSpec {
    std::string init_script;             // becomes /init; must start with "#!/bin/busybox sh"
    std::vector<GuestFile> files{};      // extra files; their parent directories are created
    std::vector<std::string> dirs{};     // extra empty directories (absolute: "/run", "/tmp")
    std::string busybox = "/bin/busybox"; // host binary copied to /bin/busybox; must be static
    bool gzip = true;                    // gzip-compressed cpio, else plain cpio newc
};

// Newest /boot/vmlinuz-* (under boot_dir), preferring Debian cloud kernels: they boot fastest
// under -M microvm and have the 8250 console built in.
Result<std::string> find_guest_kernel(const std::string& boot_dir = "/boot");

// /init of the probe guest: mount /proc, print "CTBENCH-GUEST-READY kernel=<uname -r>", power off.
std::string probe_init_script();

// Writes a cpio newc archive (gzip per spec) with /bin /proc /sys /dev, /dev/console,
// /bin/busybox, /init and spec.files.
Status write_initramfs(const std::string& path, const InitramfsSpec& spec);

// write_initramfs with probe_init_script(), gzip-compressed.
Status write_probe_initramfs(const std::string& path);

// Fails unless `path` is an ELF executable without a program interpreter: a dynamically linked
// busybox (Debian's "busybox" rather than "busybox-static") cannot run in the bare initramfs.
Status check_static_executable(const std::string& path);

}  // namespace ctb::vm
