// security.caps.*: capabilities(7) as OCI process.capabilities sets them. Each case proves the
// set by what the kernel refuses (mount, sethostname), with a control container that holds the
// capability and succeeds, so that the refusal is shown to come from the missing capability.
#include <linux/capability.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "conformance/harness/registry.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::sec {
namespace {

using K = ::ctb::conformance::Requirement::Kind;
using nlohmann::json;

constexpr std::uint64_t kSysAdmin = std::uint64_t{1} << CAP_SYS_ADMIN;

// Both need CAP_SYS_ADMIN (mount(2); sethostname(2) in the container's own uts namespace).
std::vector<Probe> sys_admin_probes() {
    return {{"mount", agent_argv({"mount-tmpfs", "/tmp/ctb-caps-mnt"})},
            {"sethostname", agent_argv({"sethostname", "ctb-caps"})}};
}

Verdict no_sys_admin_by_default(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    spec::Spec dflt = agent_spec({});
    spec::Spec admin = dflt;
    grant_capability(admin, "CAP_SYS_ADMIN");
    auto probes = sys_admin_probes();
    probes.push_back({"info", agent_argv({"info"})});
    auto denied = must(run_probes(*rt, dflt, probes));
    auto allowed = must(run_probes(*rt, admin, probes));

    const json& info = find(denied, "info")->doc;
    json evidence{{"default_effective", info.value("capabilities", json::object()).value("effective", json())}};
    std::vector<std::string> wrong;
    for (const auto& p : sys_admin_probes()) {
        const ProbeResult* d = find(denied, p.name);
        const ProbeResult* a = find(allowed, p.name);
        evidence[p.name] = {{"default", d->evidence()}, {"with_cap_sys_admin", a->evidence()}};
        if (d->errno_name() != "EPERM")
            wrong.push_back(fmt::format("{} by default: {}", p.name, d->ok() ? "ok" : d->errno_name()));
    }
    if (!wrong.empty())
        return Verdict::fail(fmt::format("CAP_SYS_ADMIN operations not refused: {}", fmt::join(wrong, "; ")), evidence);
    for (const auto& p : sys_admin_probes())
        if (!find(allowed, p.name)->ok())
            setup_failed(fmt::format("control container with CAP_SYS_ADMIN could not {} either: {}", p.name,
                                              find(allowed, p.name)->errno_name()));
    return Verdict::pass(evidence);
}

// A uid-1000 process without no_new_privs runs a setuid-root copy of the agent: for a root euid
// the kernel sets permitted = effective = bounding at exec (capabilities(7)), so the bounding
// set is the one thing that decides whether CAP_SYS_ADMIN can be regained.
spec::Spec setuid_spec(bool bounding_has_sys_admin) {
    spec::Spec s = agent_spec({});
    s.process.user = {1000, 1000, std::nullopt, {}};
    s.process.no_new_privileges = false;
    if (bounding_has_sys_admin) s.process.capabilities->bounding.push_back("CAP_SYS_ADMIN");
    return s;
}

std::vector<Probe> bounding_probes() {
    return {{"info", agent_argv({"info"})},
            {"suid-info", agent_argv({"setuid-exec", kSetuidAgent, "info"})},
            {"suid-mount", agent_argv({"setuid-exec", kSetuidAgent, "mount-tmpfs", "/tmp/ctb-caps-mnt"})}};
}

struct SetuidView {
    std::uint64_t bounding, permitted, effective;
    long euid;
    std::string mount;  // errno name of the setuid mount ("" = it worked)
};

SetuidView view_of(const std::vector<ProbeResult>& r) {
    const json& info = find(r, "info")->doc;
    const json& suid = find(r, "suid-info")->doc;
    auto caps = [](const json& doc, const char* set) {
        return parse_mask(doc.value("capabilities", json::object()).value(set, json()));
    };
    long euid = suid.contains("uid") ? suid["uid"].value("effective", -1L) : -1L;
    return {caps(info, "bounding"), caps(suid, "permitted"), caps(suid, "effective"), euid,
            find(r, "suid-mount")->errno_name()};
}

json to_json(const SetuidView& v) {
    return {{"bounding", mask_hex(v.bounding)},
            {"setuid_permitted", mask_hex(v.permitted)},
            {"setuid_effective", mask_hex(v.effective)},
            {"setuid_euid", v.euid},
            {"setuid_mount", v.mount.empty() ? "ok" : v.mount}};
}

Verdict bounding_enforced(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir scratch("security");
    auto layer = must(setuid_agent_layer(scratch));
    spec::Spec spec = setuid_spec(false);
    auto expected = must(capability_mask(spec.process.capabilities->bounding));

    auto bounded = must(run_probes(*rt, spec, bounding_probes(), {layer}));
    auto control = must(run_probes(*rt, setuid_spec(true), bounding_probes(), {layer}));
    for (const auto* r : {&bounded, &control})
        if (auto why = could_not_run(*r); !why.empty())
            return Verdict::fail(why);
    SetuidView b = view_of(bounded), c = view_of(control);
    json evidence{
        {"spec_bounding", mask_hex(expected)}, {"bounded", to_json(b)}, {"control_with_sys_admin", to_json(c)}};

    if (c.euid != 0 || (c.effective & kSysAdmin) == 0 || !c.mount.empty())
        setup_failed(
            "control: a setuid-root binary with CAP_SYS_ADMIN in the bounding set did not gain it "
            "(setuid not honoured here?): " +
            evidence["control_with_sys_admin"].dump());
    if (b.bounding != expected) return Verdict::fail("bounding set differs from the spec's", evidence);
    if (b.euid != 0)
        return Verdict::fail("setuid-root binary did not run with euid 0 (no_new_privileges is false)", evidence);
    if ((b.permitted & ~expected) != 0 || (b.effective & kSysAdmin) != 0)
        return Verdict::fail("setuid-root exec gained capabilities outside the bounding set", evidence);
    if (b.mount != "EPERM")
        return Verdict::fail("setuid-root process could mount without CAP_SYS_ADMIN in bounding", evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "security.caps.no_sys_admin_by_default",
    .reference = "capabilities(7) CAP_SYS_ADMIN; mount(2); sethostname(2); OCI runtime-spec config.md#process",
    .needs = {{K::root, ""}},
    .body = no_sys_admin_by_default,
});

CTB_CONFORMANCE_CASE({
    .id = "security.caps.bounding_enforced",
    .reference = "capabilities(7) \"Capability bounding set\" and execve transformation; OCI runtime-spec "
        "config.md#process (capabilities.bounding)",
    .needs = {{K::root, ""}},
    .body = bounding_enforced,
});

}  // namespace
}  // namespace ctb::conformance::sec
