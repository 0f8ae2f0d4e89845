// The default container: what `runc spec` (runc 1.1.5, the one installed here) writes, with the
// differences below, so that ctbench's reference runtime, runc and crun all start from one spec.
#include "runtime/spec/names.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::spec {

namespace {

template <std::size_t N>
std::vector<std::string> to_strings(const std::array<std::string_view, N>& names) {
    return {names.begin(), names.end()};
}

// Docker's default capability set (moby oci/caps/defaults.go): what most containers in the wild
// run with, so benchmark numbers mean the same as for Docker users. `runc spec` has only three.
std::vector<std::string> docker_default_capabilities() {
    return {"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",         "CAP_FOWNER",
            "CAP_MKNOD",  "CAP_NET_RAW",      "CAP_SETGID",         "CAP_SETUID",
            "CAP_SETFCAP", "CAP_SETPCAP",     "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
            "CAP_KILL",   "CAP_AUDIT_WRITE"};
}

Process default_process() {
    Process p;
    p.terminal = false;  // runc spec says true; conformance cases run without a console socket
    p.args = {"sh"};
    p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
    p.cwd = "/";
    Capabilities caps;
    caps.bounding = caps.effective = caps.permitted = docker_default_capabilities();
    p.capabilities = caps;
    p.rlimits = {Rlimit{"RLIMIT_NOFILE", 1024, 1024}};
    p.no_new_privileges = true;
    return p;
}

std::vector<Mount> default_mounts() {
    return {
        {"/proc", "proc", "proc", {}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
        {"/dev/pts", "devpts", "devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
        {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
        {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
        {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
    };
}

Linux default_linux() {
    Linux l;
    // runc 1.1's list plus cgroup, which newer runc adds and which keeps the host's cgroup paths
    // out of /proc/self/cgroup.
    for (const char* type : {"pid", "network", "ipc", "uts", "mount", "cgroup"})
        l.namespaces.push_back({type, ""});
    // Deny every device by default; the runtime allows the standard ones (/dev/null ...) itself.
    l.resources.emplace().devices.push_back(DeviceRule{});  // DeviceRule{} is "deny a *:* rwm"
    l.masked_paths = {"/proc/acpi",          "/proc/asound",      "/proc/kcore",       "/proc/keys",
                      "/proc/latency_stats", "/proc/timer_list",  "/proc/timer_stats", "/proc/sched_debug",
                      "/sys/firmware",       "/proc/scsi"};
    l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    return l;
}

}  // namespace

Spec default_spec() {
    Spec s;
    s.oci_version = "1.0.2";  // runc 1.1.5 reports spec 1.0.2-dev, crun 1.8.1 spec 1.0.0; both accept it
    s.process = default_process();
    s.root = Root{"rootfs", false};  // runc spec says readonly; cases write to /
    s.hostname = "ctbench";
    s.mounts = default_mounts();
    s.linux = default_linux();
    return s;
}

std::vector<std::string> all_capability_names() { return to_strings(detail::kCapabilities); }
std::vector<std::string> all_namespace_types() { return to_strings(detail::kNamespaceTypes); }
std::vector<std::string> all_rlimit_names() { return to_strings(detail::kRlimits); }

}  // namespace ctb::spec
