// Escape regressions, each against a control:
//  - security.escape.mount_symlink_dest (CVE-2021-30465 class): a mount destination that is a
//    symlink in the image pointing out of the rootfs ("/../../../<host dir>") is resolved inside
//    the rootfs: the tmpfs lands there (the container sees it at the path the link names), never
//    on the host directory. The control is the same mount at a plain directory.
//  - security.escape.host_kernel_files: with the default spec (no CAP_SYS_ADMIN, masked and
//    read-only paths), writes to /proc/sysrq-trigger, a non-namespaced /proc/sys file, the cgroup
//    filesystem and /sys/firmware are refused, and (where the host sets kernel.dmesg_restrict)
//    reading the kernel log is refused without CAP_SYSLOG. Each target is one that exists on the
//    host; what is written is harmless even if it got through (sysrq "h" prints help, the sysctl
//    gets its current value).
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::sec {
namespace {

// The fs type (stat -f) of `path` inside the container, as busybox prints it ("tmpfs").
std::vector<std::string> fs_type(const std::string& path) { return {"/bin/stat", "-f", "-c", "%T", path}; }

Verdict mount_symlink_dest(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir scratch("symlink-dest");
    std::string host_dir = scratch.mkdir("host-target");  // what the link points at, on the host
    must(write_file(host_dir + "/host-only", "host\n"));
    std::string layer = scratch.mkdir("layer");
    // /escape -> /../../../../<host_dir>: relative to the host's root this is host_dir itself.
    std::string link_target = "/../../../../../.." + host_dir;
    check_sys(::symlink(link_target.c_str(), (layer + "/escape").c_str()), "symlink", layer + "/escape");
    spec::Spec s = agent_spec({});
    s.mounts.push_back({"/escape", "tmpfs", "tmpfs", {"size=1m"}});
    s.mounts.push_back({"/plain", "tmpfs", "tmpfs", {"size=1m"}});  // the control
    auto refused_or = run_probes(*rt, s,
                                 {{"escape_type", fs_type("/escape/")},
                                  {"plain_type", fs_type("/plain/")},
                                  {"escape_sees_host_file", agent_argv({"stat", "/escape/host-only"})},
                                  {"write", agent_argv({"write", "/escape/from-container", "x"})}},
                                 {layer});
    struct stat st {};
    bool host_written = ::stat((host_dir + "/from-container").c_str(), &st) == 0;
    bool host_file_kept = ::stat((host_dir + "/host-only").c_str(), &st) == 0;
    json e = {{"link", {{"/escape", link_target}}}, {"host_dir", host_dir}, {"host_written", host_written}};
    if (!refused_or) {
        // Refusing a destination that leaves the rootfs is safe too.
        e["runtime_refused"] = refused_or.error().message();
        Checks c;
        c.expect(!host_written && host_file_kept, "the refused container still changed the host directory");
        return c.verdict(e);
    }
    const auto& r = *refused_or;
    for (const char* n : {"escape_type", "plain_type", "escape_sees_host_file", "write"}) e[n] = find(r, n)->evidence();
    require(trim(find(r, "plain_type")->output) == "tmpfs", "control", "/plain",
            "a tmpfs at a plain directory is not a tmpfs inside: " + find(r, "plain_type")->output);
    Checks c;
    c.expect(trim(find(r, "escape_type")->output) == "tmpfs",
             "the tmpfs for a symlinked destination is not where the link resolves inside the rootfs");
    c.expect(find(r, "escape_sees_host_file")->errno_name() == "ENOENT",
             "the symlinked destination shows the host directory's file inside the container");
    c.expect(!host_written, "a write inside the container reached the host directory the link names");
    c.expect(host_file_kept, "the host directory's file is gone");
    return c.verdict(e);
}

Verdict host_kernel_files(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    // Each target exists on the host (checked), so a refusal inside is the container's doing.
    std::vector<std::string> targets{"/proc/sysrq-trigger", "/proc/sys/vm/swappiness", "/sys/fs/cgroup/cgroup.procs"};
    std::vector<std::string> present;
    struct stat st {};
    for (const auto& t : targets)
        if (::stat(t.c_str(), &st) == 0) present.push_back(t);
    std::vector<Probe> probes;
    for (const auto& t : present) {
        std::string harmless = t == "/proc/sysrq-trigger" ? "h" : t == "/sys/fs/cgroup/cgroup.procs" ? "0"
                                                                : trim(read_file(t).value_or("60"));
        probes.push_back({t, agent_argv({"write", t, harmless})});
    }
    probes.push_back({"firmware", {"/bin/touch", "/sys/firmware/ctb-probe"}});
    probes.push_back({"dmesg", {"/bin/dmesg"}});
    auto r = must(run_probes(*rt, agent_spec({}), probes), "run the probes");
    bool restricted = trim(read_file("/proc/sys/kernel/dmesg_restrict").value_or("0")) == "1";
    json e = {{"host_dmesg_restrict", restricted}};
    for (const auto& p : r) e[p.name] = p.evidence();
    Checks c;
    for (const auto& t : present)
        c.expect(!find(r, t)->ok(), "a write to the host's " + t + " succeeded from the container");
    c.expect(!find(r, "firmware")->ok(), "/sys/firmware is writable from the container");
    if (restricted) c.expect(!find(r, "dmesg")->ok(), "the container read the kernel log without CAP_SYSLOG");
    return c.verdict(e);
}

CTB_CONFORMANCE_CASE({
    .id = "security.escape.mount_symlink_dest",
    .reference = "CVE-2021-30465; OCI runtime-spec config.md#mounts (destination inside the container); openat2(2) RESOLVE_IN_ROOT",
    .needs = {{K::root, ""}, {K::namespace_type, "mount"}},
    .body = mount_symlink_dest,
});
CTB_CONFORMANCE_CASE({
    .id = "security.escape.host_kernel_files",
    .reference = "proc(5) /proc/sysrq-trigger, /proc/sys; dmesg(1) kernel.dmesg_restrict, syslog(2) CAP_SYSLOG; "
                 "OCI runtime-spec config-linux.md#masked-paths, #readonly-paths",
    .needs = {{K::root, ""}, {K::namespace_type, "mount"}},
    .body = host_kernel_files,
});

}  // namespace
}  // namespace ctb::conformance::sec
