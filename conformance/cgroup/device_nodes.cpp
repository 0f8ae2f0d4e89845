// linux.devices and the device cgroup, against a control each:
//  - cgroup.devices.spec_nodes: the devices a spec lists are created in the container's /dev with
//    the type, major, minor, fileMode, uid and gid it gives (read by the host through
//    /proc/<init>/root, a kernel view the runtime has no part in) and are usable: the owner writes
//    the 0620 node, another user gets EACCES, the zero device reads zeros. The control container,
//    without linux.devices, has no such node.
//  - cgroup.devices.unlisted_refused: a device node that no rule allows (the spec's default deny
//    plus the runtime's default list) cannot be opened in the container (EPERM from the device
//    cgroup: v1 devices.deny, or the v2 BPF device program), nor created and then opened; with one
//    allow rule for it the same node opens. An open that unexpectedly succeeds is `fail`.
// The refused device is /dev/fuse (c 10:229): not on any runtime's default allow list, and opening
// it needs no capability and does nothing.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/cgroup/helpers.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::cgroup_cases {
namespace {

constexpr std::uint32_t kOwner = 1234, kGroup = 2345, kOther = 1000;
constexpr const char* kNull = "/dev/ctbnull";  // c 1:3, 0620, kOwner:kGroup
constexpr const char* kZero = "/dev/ctbzero";  // c 1:5, 0666, root

spec::Device device(const std::string& path, std::int64_t major, std::int64_t minor, std::uint32_t mode, std::uint32_t uid,
                    std::uint32_t gid) {
    spec::Device d;
    d.path = path;
    d.type = "c";
    d.major = major;
    d.minor = minor;
    d.file_mode = mode;
    d.uid = uid;
    d.gid = gid;
    return d;
}

spec::DeviceRule allow(std::int64_t major, std::int64_t minor, const std::string& access) {
    spec::DeviceRule r;
    r.allow = true;
    r.type = "c";
    r.major = major;
    r.minor = minor;
    r.access = access;
    return r;
}

spec::Spec with_devices(spec::Spec s) {
    s.linux.devices = {device(kNull, 1, 3, 0620, kOwner, kGroup), device(kZero, 1, 5, 0666, 0, 0)};
    resources(s).devices.push_back(allow(1, 3, "rwm"));
    resources(s).devices.push_back(allow(1, 5, "rwm"));
    return s;
}

// The node as the kernel shows it to the host, through the init's root.
json host_stat(pid_t init, const std::string& path) {
    std::string p = fmt::format("/proc/{}/root{}", init, path);
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return {{"errno_name", err_name(errno)}};
    return {{"char_device", S_ISCHR(st.st_mode)}, {"major", major(st.st_rdev)}, {"minor", minor(st.st_rdev)},
            {"mode", fmt::format("{:o}", st.st_mode & 07777)}, {"uid", st.st_uid}, {"gid", st.st_gid}};
}

std::vector<sec::Probe> use_probes() {
    return {{"write_null", agent_argv({"write", kNull, "x"})},
            {"read_zero", {"/bin/sh", "-c", fmt::format("head -c 8 {} | od -An -tx1 | tr -d ' \\n'", kZero)}}};
}

std::string expect_node(const json& got, unsigned maj, unsigned min, const std::string& mode, std::uint32_t uid,
                        std::uint32_t gid) {
    json want = {{"char_device", true}, {"major", maj}, {"minor", min}, {"mode", mode}, {"uid", uid}, {"gid", gid}};
    return got == want ? "" : fmt::format("wanted {}, the host sees {}", want.dump(), got.dump());
}

Verdict spec_nodes(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    json e;
    {
        Started c = must_start(*rt, RunRequest{with_devices(agent_spec({"sleep", "20"}))});
        e["null"] = host_stat(c->pid(), kNull);
        e["zero"] = host_stat(c->pid(), kZero);
        auto used = must(sec::exec_probes(*c, use_probes()), "use the devices as root");
        e["root_write_null"] = sec::find(used, "write_null")->evidence();
        e["root_read_zero"] = trim(sec::find(used, "read_zero")->output);
    }
    {
        Started control = must_start(*rt, RunRequest{agent_spec({"sleep", "20"})});
        e["control_null"] = host_stat(control->pid(), kNull);
    }
    auto as_user = [&](std::uint32_t uid) {
        spec::Spec s = with_devices(agent_spec({}));
        s.process.user = {uid, uid, std::nullopt, {}};
        auto r = must(sec::run_probes(*rt, s, {{"write_null", agent_argv({"write", kNull, "x"})}}),
                      fmt::format("write {} as uid {}", kNull, uid));
        if (auto why = sec::could_not_run(r); !why.empty()) setup_failed(why);
        return *sec::find(r, "write_null");
    };
    auto owner = as_user(kOwner), other = as_user(kOther);
    e["owner_write_null"] = owner.evidence();
    e["other_write_null"] = other.evidence();
    require(e["control_null"].value("errno_name", "") == "ENOENT", "control", kNull,
            "a container without linux.devices has the node too: " + e["control_null"].dump());
    Checks checks;
    auto null_wrong = expect_node(e["null"], 1, 3, "620", kOwner, kGroup);
    checks.expect(null_wrong.empty(), fmt::format("{} is not created as listed: {}", kNull, null_wrong));
    auto zero_wrong = expect_node(e["zero"], 1, 5, "666", 0, 0);
    checks.expect(zero_wrong.empty(), fmt::format("{} is not created as listed: {}", kZero, zero_wrong));
    checks.expect(e["root_write_null"].value("status", 1) == 0, "root could not write the listed null device");
    checks.expect(e["root_read_zero"] == "0000000000000000", "the listed zero device did not read zeros");
    checks.expect(owner.ok(), fmt::format("uid {} (the node's owner, mode 0620) could not write it", kOwner));
    checks.expect(other.errno_name() == "EACCES",
                  fmt::format("uid {} (neither owner nor group, mode 0620) was not refused with EACCES", kOther));
    return checks.verdict(e);
}

constexpr std::int64_t kFuseMajor = 10, kFuseMinor = 229;
constexpr const char* kBound = "/mnt/ctbdev";

// Opens the host-made node through a bind mount, then creates one inside and opens it.
std::vector<sec::Probe> refuse_probes() {
    std::string made = "/tmp/ctbfuse";
    return {{"open_bound", agent_argv({"open", std::string(kBound) + "/fuse"})},
            {"mknod", {"/bin/mknod", made, "c", std::to_string(kFuseMajor), std::to_string(kFuseMinor)}},
            {"open_made", agent_argv({"open", made})}};
}

Verdict unlisted_refused(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir dir("devices");
    std::string node = dir.path() + "/fuse";
    check_sys(::mknod(node.c_str(), S_IFCHR | 0666, makedev(kFuseMajor, kFuseMinor)), "mknod", node);
    check_sys(::chmod(node.c_str(), 0666), "chmod", node);
    spec::Spec refused = agent_spec({});
    refused.mounts.push_back({kBound, "bind", dir.path(), {"bind"}});
    spec::Spec allowed = refused;
    resources(allowed).devices.push_back(allow(kFuseMajor, kFuseMinor, "rwm"));
    auto r = must(sec::run_probes(*rt, refused, refuse_probes()), "container without a rule for c 10:229");
    auto ctl = must(sec::run_probes(*rt, allowed, refuse_probes()), "control container allowing c 10:229");
    json e = {{"device", "c 10:229"}};
    for (const char* n : {"open_bound", "mknod", "open_made"}) {
        e["unlisted"][n] = sec::find(r, n)->evidence();
        e["allowed"][n] = sec::find(ctl, n)->evidence();
    }
    require(sec::find(ctl, "open_bound")->ok() && sec::find(ctl, "open_made")->ok(), "control", "c 10:229",
            "the node could not be opened even with an allow rule: " + e["allowed"].dump());
    Checks checks;
    checks.expect(sec::find(r, "open_bound")->errno_name() == "EPERM",
                  "opening a device no rule allows did not fail with EPERM (" +
                      (sec::find(r, "open_bound")->ok() ? std::string("it opened") : sec::find(r, "open_bound")->errno_name()) + ")");
    // mknod may be allowed (runc's default list allows "m" for every char device); then the open must fail.
    bool made = sec::find(r, "mknod")->ok();
    checks.expect(made ? sec::find(r, "open_made")->errno_name() == "EPERM" : true,
                  "a device node created inside for a device no rule allows could be opened");
    return checks.verdict(e);
}

std::vector<Requirement> device_node_needs() {
    return {{K::root, ""}, {K::cgroup_feature, "devices"}, {K::namespace_type, "mount"}};
}

CTB_CONFORMANCE_CASE({
    .id = "cgroup.devices.spec_nodes",
    .reference = "OCI runtime-spec config-linux.md#devices (type, major, minor, fileMode, uid, gid); mknod(2); path_resolution(7)",
    .needs = device_node_needs(),
    .body = spec_nodes,
});
CTB_CONFORMANCE_CASE({
    .id = "cgroup.devices.unlisted_refused",
    .reference = "Documentation/admin-guide/cgroup-v1/devices.rst; Documentation/admin-guide/cgroup-v2.rst "
                 "(Device controller, BPF_PROG_TYPE_CGROUP_DEVICE); OCI runtime-spec config-linux.md#allowed-device-list",
    .needs = with(device_node_needs(), {{K::device_node, "/dev/fuse c 10:229"}}),
    .body = unlisted_refused,
});

}  // namespace
}  // namespace ctb::conformance::cgroup_cases
