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
constexpr const char* kFuseNode = "/dev/ctbfuse";

struct Opens {
    json device, null;
};

Result<Opens> try_opens(Runtime& rt, bool allow) {
    RunRequest r;
    r.spec = shell_spec(fmt::format("{a} open {n}\n{a} open /dev/null", fmt::arg("a", kAgent), fmt::arg("n", kFuseNode)));
    spec::Device d;
    d.path = kFuseNode;
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
        return fail(plain_error("open probes", kFuseNode, fmt::format("stdout {:?} stderr {:?}", out->out, out->err)));
    return Opens{lines[0], lines[1]};
}

Verdict denied(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    auto deny = try_opens(*rt, false);
    if (!deny) return runtime_failure("run the container without the device allowed", deny.error());
    auto allow = try_opens(*rt, true);
    if (!allow) return runtime_failure("run the container with the device allowed", allow.error());
    json e = {{"device", fmt::format("{} (c {}:{})", kFuseNode, kMajor, kMinor)},
              {"denied", {{"device", deny->device}, {"dev_null", deny->null}}},
              {"allowed", {{"device", allow->device}, {"dev_null", allow->null}}}};
    if (allow->device.value("ok", false) != true)
        setup_failed(fmt::format("{} cannot be opened even when allowed ({}): the probe proves nothing here", kFuseNode,
                                          allow->device.value("errno_name", "?")));
    if (deny->device.value("errno_name", "") != "EPERM")
        return Verdict::fail(fmt::format("opening a device outside the allow list gave {}, not EPERM",
                                         deny->device.value("ok", false) ? "success" : deny->device["errno_name"].dump()), e);
    if (deny->null.value("ok", false) != true || allow->null.value("ok", false) != true)
        return Verdict::fail("/dev/null, on the default allow list, could not be opened", e);
    return Verdict::pass(e);
}

CTB_CONFORMANCE_CASE({
    .id = "cgroup.devices.denied",
    .reference = "Documentation/admin-guide/cgroup-v1/devices.rst; OCI runtime-spec config-linux.md#allowed-device-list",
    .needs = {{K::root, ""}, {K::cgroup_feature, "devices"}, {K::device_node, "/dev/fuse c 10:229"}},
    .body = denied,
});

}  // namespace
}  // namespace ctb::conformance::cgroup_cases
