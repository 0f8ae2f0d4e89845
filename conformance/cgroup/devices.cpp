// Devices controller (v1 devices.allow/deny, v2 device BPF program): a device node that exists in
// the container but is not allowed cannot be opened (EPERM), while an allowed one can.
//
// The device is /dev/fuse (c 10:229), chosen because it is NOT in the default allow list that
// runtimes append after the spec's rules (runc's AllowedDevices: null, zero, full, random,
// urandom, tty, ptmx, tun, pts): a deny rule for /dev/zero would be re-allowed by that list.
// The same node is opened twice, denied and explicitly allowed, so the only difference between
// EPERM and success is the cgroup rule. Opening /dev/fuse needs no capability and does nothing.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fmt/format.h>

#include "conformance/cgroup/helpers.hpp"

namespace ctb::conformance::cgroup_cases {
namespace {

constexpr std::int64_t kMajor = 10, kMinor = 229;
constexpr const char* kNode = "/dev/ctbfuse";

struct Opens {
    json device, null;
};

Result<Opens> try_opens(Runtime& rt, bool allow) {
    RunRequest r;
    r.spec = shell_spec(fmt::format("{a} open {n}\n{a} open /dev/null", fmt::arg("a", kAgent), fmt::arg("n", kNode)));
    spec::Device d;
    d.path = kNode;
    d.type = "c";
    d.major = kMajor;
    d.minor = kMinor;
    d.file_mode = 0666;
    r.spec.linux.devices.push_back(d);
    spec::DeviceRule rule;
    rule.allow = allow;
    rule.type = "c";
    rule.major = kMajor;
    rule.minor = kMinor;
    rule.access = allow ? "rw" : "rwm";
    resources(r.spec).devices.push_back(rule);
    auto out = rt.run(r);
    if (!out) return fail(out.error());
    auto lines = json_lines(out->out);
    if (lines.size() != 2)
        return fail(plain_error("open probes", kNode, fmt::format("stdout {:?} stderr {:?}", out->out, out->err)));
    return Opens{lines[0], lines[1]};
}

std::string host_device_gap() {
    struct stat st {};
    if (::stat("/dev/fuse", &st) != 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != kMajor || minor(st.st_rdev) != kMinor)
        return "the host has no /dev/fuse (c 10:229), the unlisted device this case denies";
    return {};
}

Verdict denied(const CaseContext& ctx) {
    if (hierarchy_of(ctx.host, "devices") != "v1" && ctx.host.cgroups.v2_mount.empty())
        return Verdict::skip("no cgroup v1 devices hierarchy and no cgroup2 mount for a device program");
    if (auto gap = host_device_gap(); !gap.empty()) return Verdict::skip(gap);
    auto rt = make_runtime(ctx.runtime);
    if (!rt) return Verdict::error(rt.error().message());
    auto deny = try_opens(**rt, false);
    if (!deny) return runtime_failure("run the container without the device allowed", deny.error());
    auto allow = try_opens(**rt, true);
    if (!allow) return runtime_failure("run the container with the device allowed", allow.error());
    json e = {{"device", fmt::format("{} (c {}:{})", kNode, kMajor, kMinor)},
              {"denied", {{"device", deny->device}, {"dev_null", deny->null}}},
              {"allowed", {{"device", allow->device}, {"dev_null", allow->null}}}};
    if (allow->device.value("ok", false) != true)
        return Verdict::error(fmt::format("{} cannot be opened even when allowed ({}): the probe proves nothing here", kNode,
                                          allow->device.value("errno_name", "?")));
    if (deny->device.value("errno_name", "") != "EPERM")
        return Verdict::fail(fmt::format("opening a device outside the allow list gave {}, not EPERM",
                                         deny->device.value("ok", false) ? "success" : deny->device["errno_name"].dump()), e);
    if (deny->null.value("ok", false) != true || allow->null.value("ok", false) != true)
        return Verdict::fail("/dev/null, on the default allow list, could not be opened", e);
    return Verdict::pass(e);
}

CTB_CONFORMANCE_CASE("cgroup.devices.denied",
                     "Documentation/admin-guide/cgroup-v1/devices.rst; OCI runtime-spec config-linux.md#allowed-device-list",
                     {{K::root, ""}}, denied);

}  // namespace
}  // namespace ctb::conformance::cgroup_cases
