// security.user.* and security.nnp.*: OCI process.user and process.noNewPrivileges, proven by
// what the kernel's permission checks do with the identity (EACCES, file ownership, setuid exec)
// rather than by reading the ids back.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "conformance/harness/registry.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::sec {
namespace {

using K = ::ctb::conformance::Requirement::Kind;
using nlohmann::json;

constexpr long kUid = 1000, kGid = 1000, kExtraGid = 2000;

// Files the image does not have, in an extra layer: one only root may read, one only group
// kExtraGid may read (so the additional gid must really be in effect).
Result<std::string> identity_layer(const ScratchDir& scratch) {
    std::string layer = scratch.path() + "/user-layer";
    if (auto s = write_owned_file(layer + "/etc/ctbench-root-only", "secret\n", 0600, 0, 0); !s) return fail(s.error());
    if (auto s = write_owned_file(layer + "/etc/ctbench-group-2000", "group\n", 0640, 0, kExtraGid); !s)
        return fail(s.error());
    return layer;
}

std::vector<Probe> identity_probes() {
    return {{"info", agent_argv({"info"})},
            {"read_root_only", agent_argv({"cat", "/etc/ctbench-root-only"})},
            {"write_root_owned", agent_argv({"open", "/etc/hostname", "--write"})},
            {"read_group_2000", agent_argv({"cat", "/etc/ctbench-group-2000"})},
            {"create", agent_argv({"touch", "/tmp/ctb-user-owned"})},
            {"stat_created", agent_argv({"stat", "/tmp/ctb-user-owned"})}};
}

// Differences between what info reports and process.user; empty when they match.
std::vector<std::string> identity_mismatches(const json& info) {
    std::vector<std::string> wrong;
    for (const char* k : {"real", "effective", "saved"}) {
        if (info.value("uid", json::object()).value(k, -1L) != kUid) wrong.push_back(fmt::format("uid.{}", k));
        if (info.value("gid", json::object()).value(k, -1L) != kGid) wrong.push_back(fmt::format("gid.{}", k));
    }
    // setgroups(additionalGids); a runtime that also lists the primary gid changes nothing.
    std::set<long> groups;
    for (const auto& g : info.value("groups", json::array())) groups.insert(g.get<long>());
    groups.erase(kGid);
    if (groups != std::set<long>{kExtraGid}) wrong.push_back("groups " + info.value("groups", json::array()).dump());
    return wrong;
}

Verdict runs_as_spec_user(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir scratch("security");
    auto layer = must(identity_layer(scratch));
    spec::Spec spec = agent_spec({});
    spec.process.user = {kUid, kGid, std::nullopt, {kExtraGid}};
    auto r = must(run_probes(*rt, spec, identity_probes(), {layer}));

    if (auto why = could_not_run(r); !why.empty())
        return Verdict::fail(why);
    json evidence = json::object();
    for (const auto& p : r) evidence[p.name] = p.name == "info" ? json(nullptr) : p.evidence();
    const json& info = find(r, "info")->doc;
    evidence["info"] = {{"uid", info.value("uid", json())},
                        {"gid", info.value("gid", json())},
                        {"groups", info.value("groups", json())}};
    auto wrong = identity_mismatches(info);
    if (find(r, "read_root_only")->errno_name() != "EACCES") wrong.push_back("root-only 0600 file not EACCES");
    if (find(r, "write_root_owned")->errno_name() != "EACCES") wrong.push_back("root-owned 0644 file writable");
    if (!find(r, "read_group_2000")->ok())
        wrong.push_back("0640 file of group 2000 unreadable (additional gid not in effect)");
    const json& st = find(r, "stat_created")->doc;
    if (!find(r, "create")->ok() || st.value("uid", -1L) != kUid || st.value("gid", -1L) != kGid)
        wrong.push_back("new file not owned by 1000:1000");
    if (!wrong.empty())
        return Verdict::fail(fmt::format("process.user not in effect: {}", fmt::join(wrong, "; ")), evidence);
    return Verdict::pass(evidence);
}

// uid 1000 runs a setuid-root copy of the agent, which reports its own ids.
spec::Spec nnp_spec(bool no_new_privileges) {
    spec::Spec s = agent_spec({});
    s.process.user = {kUid, kGid, std::nullopt, {}};
    s.process.no_new_privileges = no_new_privileges;
    return s;
}

long setuid_euid(const std::vector<ProbeResult>& r) {
    const json& doc = find(r, "suid")->doc;
    return doc.contains("uid") ? doc["uid"].value("effective", -1L) : -1L;
}

Verdict nnp_blocks_setuid(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir scratch("security");
    auto layer = must(setuid_agent_layer(scratch));
    std::vector<Probe> probes{{"suid", agent_argv({"setuid-exec", kSetuidAgent, "info"})}};
    auto blocked = must(run_probes(*rt, nnp_spec(true), probes, {layer}));
    auto control = must(run_probes(*rt, nnp_spec(false), probes, {layer}));

    for (const auto* r : {&blocked, &control})
        if (auto why = could_not_run(*r); !why.empty())
            return Verdict::fail(why);
    const json& doc = find(blocked, "suid")->doc;
    json evidence{{"nnp_true", {{"euid", setuid_euid(blocked)}, {"no_new_privs", doc.value("no_new_privs", json())}}},
                  {"nnp_false_euid", setuid_euid(control)}};
    if (setuid_euid(control) != 0)
        setup_failed(
            "control: without no_new_privileges the setuid-root binary did not get euid 0 "
            "(setuid not honoured here?): " +
            find(control, "suid")->evidence().dump());
    if (setuid_euid(blocked) != kUid)
        return Verdict::fail("with noNewPrivileges the setuid-root binary did not keep euid 1000", evidence);
    if (doc.value("no_new_privs", false) != true)
        return Verdict::fail("no_new_privs not set in the process (yet setuid was ignored)", evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "security.user.runs_as_spec_user",
    .reference = "OCI runtime-spec config.md#user (uid, gid, additionalGids); credentials(7); "
        "path_resolution(7)",
    .needs = {{K::root, ""}},
    .body = runs_as_spec_user,
});

CTB_CONFORMANCE_CASE({
    .id = "security.nnp.blocks_setuid",
    .reference = "prctl(2) PR_SET_NO_NEW_PRIVS; kernel Documentation/userspace-api/no_new_privs.rst; "
        "OCI runtime-spec config.md#process (noNewPrivileges)",
    .needs = {{K::root, ""}},
    .body = nnp_blocks_setuid,
});

}  // namespace
}  // namespace ctb::conformance::sec
