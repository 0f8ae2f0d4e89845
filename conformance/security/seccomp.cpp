// security.seccomp.*: OCI linux.seccomp with ctbench's default profile (runtime/security/
// default_profile.cpp lists its promises). The container holds CAP_SYS_ADMIN, so a refusal can
// only come from the filter; a control container with the same capabilities and no filter shows
// each probed operation working.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "conformance/harness/registry.hpp"
#include "conformance/security/helpers.hpp"
#include "runtime/security/seccomp.hpp"

namespace ctb::conformance::sec {
namespace {

using K = ::ctb::conformance::Requirement::Kind;
using nlohmann::json;

// Operations the profile promises to refuse with EPERM, each through a probe the image can run:
// the agent for mount/sethostname (it reports errno), busybox applets for the others (their
// message carries strerror). None changes anything outside the container's own namespaces.
std::vector<Probe> denied_probes() {
    return {{"mount", agent({"mount-tmpfs", "/tmp/ctb-seccomp-mnt"})},
            {"sethostname", agent({"sethostname", "ctb-seccomp"})},
            {"unshare", {"/bin/unshare", "-u", "/bin/true"}},
            {"setns", {"/bin/nsenter", "-t", "1", "-u", "/bin/true"}},
            {"umount2", {"/bin/umount", "/dev/mqueue"}}};
}

// Promised to stay allowed: personality(PER_LINUX32) and everyday syscalls (info).
std::vector<Probe> allowed_probes() {
    return {{"personality_linux32", {"/bin/linux32", "/bin/true"}}, {"info", agent({"info"})}};
}

bool refused_eperm(const ProbeResult& r) {
    return !r.ok() && (r.errno_name() == "EPERM" || r.output.find("Operation not permitted") != std::string::npos);
}

std::vector<Probe> all_probes() {
    auto probes = denied_probes();
    for (auto& p : allowed_probes()) probes.push_back(std::move(p));
    return probes;
}

Verdict default_blocks(const CaseContext& ctx) {
    auto rt = make_runtime(ctx.runtime);
    if (!rt) return Verdict::error(rt.error().message());
    spec::Spec control = agent_spec({});
    grant_capability(control, "CAP_SYS_ADMIN");
    spec::Spec filtered = control;
    filtered.linux.seccomp = security::default_seccomp_profile();

    auto with = run_probes(**rt, filtered, all_probes());
    if (!with) return Verdict::error(with.error().message());
    auto without = run_probes(**rt, control, all_probes());
    if (!without) return Verdict::error(without.error().message());

    json evidence = json::object();
    std::vector<std::string> wrong;
    for (const auto& p : denied_probes()) {
        const ProbeResult* w = find(*with, p.name);
        const ProbeResult* c = find(*without, p.name);
        evidence[p.name] = {{"seccomp", w->evidence()}, {"control", c->evidence()}};
        if (!c->ok())
            return Verdict::error(fmt::format("control without seccomp could not run {}: {}", p.name, c->output));
        if (!refused_eperm(*w)) wrong.push_back(p.name);
    }
    for (const auto& p : allowed_probes()) {
        const ProbeResult* w = find(*with, p.name);
        evidence[p.name] = {{"seccomp", p.name == "info" ? json{{"status", w->status}} : w->evidence()}};
        if (!w->ok()) wrong.push_back(p.name + " (must stay allowed)");
    }
    const json& info = find(*with, "info")->doc;
    evidence["seccomp_mode"] = info.value("seccomp", json());
    if (info.value("seccomp", 0) != 2)
        wrong.push_back(fmt::format("seccomp mode {} (want 2, filter)", info.value("seccomp", json()).dump()));
    if (!wrong.empty())
        return Verdict::fail(fmt::format("default profile not enforced: {}", fmt::join(wrong, ", ")), evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE("security.seccomp.default_blocks",
                     "seccomp(2) SECCOMP_SET_MODE_FILTER; OCI runtime-spec config-linux.md#seccomp; "
                     "Docker default profile (moby profiles/seccomp/default.json)",
                     {{K::root, ""}}, default_blocks);

}  // namespace
}  // namespace ctb::conformance::sec
