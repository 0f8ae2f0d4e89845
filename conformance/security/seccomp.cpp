// security.seccomp.*: OCI linux.seccomp with ctbench's default profile (runtime/security/
// default_profile.cpp lists its promises). The container holds CAP_SYS_ADMIN, so a refusal can
// only come from the filter; a control container with the same capabilities and no filter shows
// each probed operation working (or, for the syscall-probe cases, at least reaching the kernel).
// default_blocks covers promise 1 by name through everyday tools; clone3_enosys, clone_namespaces,
// keyring, vsock and personality cover promises 1-5 through raw system calls, one case each.
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
    return {{"mount", agent_argv({"mount-tmpfs", "/tmp/ctb-seccomp-mnt"})},
            {"sethostname", agent_argv({"sethostname", "ctb-seccomp"})},
            {"unshare", {"/bin/unshare", "-u", "/bin/true"}},
            {"setns", {"/bin/nsenter", "-t", "1", "-u", "/bin/true"}},
            {"umount2", {"/bin/umount", "/dev/mqueue"}}};
}

// Promised to stay allowed: personality(PER_LINUX32) and everyday syscalls (info).
std::vector<Probe> allowed_probes() {
    return {{"personality_linux32", {"/bin/linux32", "/bin/true"}}, {"info", agent_argv({"info"})}};
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
    auto rt = runtime_under_test(ctx);
    spec::Spec control = agent_spec({});
    grant_capability(control, "CAP_SYS_ADMIN");
    spec::Spec filtered = control;
    filtered.linux.seccomp = security::default_seccomp_profile();

    auto with = must(run_probes(*rt, filtered, all_probes()));
    auto without = must(run_probes(*rt, control, all_probes()));

    json evidence = json::object();
    std::vector<std::string> wrong;
    for (const auto& p : denied_probes()) {
        const ProbeResult* w = find(with, p.name);
        const ProbeResult* c = find(without, p.name);
        evidence[p.name] = {{"seccomp", w->evidence()}, {"control", c->evidence()}};
        if (!c->ok())
            setup_failed(fmt::format("control without seccomp could not run {}: {}", p.name, c->output));
        if (!refused_eperm(*w)) wrong.push_back(p.name);
    }
    for (const auto& p : allowed_probes()) {
        const ProbeResult* w = find(with, p.name);
        evidence[p.name] = {{"seccomp", p.name == "info" ? json{{"status", w->status}} : w->evidence()}};
        if (!w->ok()) wrong.push_back(p.name + " (must stay allowed)");
    }
    const json& info = find(with, "info")->doc;
    evidence["seccomp_mode"] = info.value("seccomp", json());
    if (info.value("seccomp", 0) != 2)
        wrong.push_back(fmt::format("seccomp mode {} (want 2, filter)", info.value("seccomp", json()).dump()));
    if (!wrong.empty())
        return Verdict::fail(fmt::format("default profile not enforced: {}", fmt::join(wrong, ", ")), evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "security.seccomp.default_blocks",
    .reference = "seccomp(2) SECCOMP_SET_MODE_FILTER; OCI runtime-spec config-linux.md#seccomp; "
        "Docker default profile (moby profiles/seccomp/default.json)",
    .needs = {{K::root, ""}},
    .body = default_blocks,
});

// --- the promises about arguments and answers, one case each, proven with raw system calls ---
// (`ctbench-agent syscall-probe NAME`, runtime/agent/syscalls.cpp: no libc fallback can hide
// what the filter answered).

// One promise: a syscall probe and the errno the filter must answer with ("" = must be let through).
struct Promise {
    std::string probe;
    std::string filtered_errno;
};

Probe syscall_probe(const std::string& name) { return {name, agent_argv({"syscall-probe", name})}; }

// Runs the probes with CAP_SYS_ADMIN twice, under the default profile and without a filter (the
// control), and judges each promise:
//  - refused: the filtered call fails with exactly the promised errno, and the control does NOT
//    fail with it. The control need not succeed: a kernel error of another kind (EAFNOSUPPORT for
//    a kernel without vsock, ENOKEY for a missing key) still shows the call reached the kernel,
//    which the filtered one never did. A control failing with the filter's own errno proves
//    nothing: error, or skip for ENOSYS (the kernel lacks the system call: a host limit).
//  - allowed: the filtered call succeeds.
Verdict judge(const CaseContext& ctx, const std::vector<Promise>& promises) {
    auto rt = runtime_under_test(ctx);
    spec::Spec control = agent_spec({});
    grant_capability(control, "CAP_SYS_ADMIN");
    spec::Spec filtered = control;
    filtered.linux.seccomp = security::default_seccomp_profile();
    std::vector<Probe> probes;
    for (const auto& p : promises) probes.push_back(syscall_probe(p.probe));

    auto with = must(run_probes(*rt, filtered, probes));
    auto without = must(run_probes(*rt, control, probes));

    json evidence = json::object();
    std::vector<std::string> wrong;
    for (const auto& p : promises) {
        const ProbeResult* w = find(with, p.probe);
        const ProbeResult* c = find(without, p.probe);
        // The agent always prints {"ok": ...}; without it the probe itself did not run.
        for (const ProbeResult* r : {w, c})
            if (!r->doc.contains("ok"))
                setup_failed(fmt::format("probe {} did not run (status {}): {}", p.probe, r->status,
                                                  r->output.substr(0, 300)));
        json e{{"want_under_filter", p.filtered_errno.empty() ? "ok" : p.filtered_errno},
               {"seccomp", w->evidence()},
               {"control", c->evidence()}};
        if (p.filtered_errno.empty()) {
            if (!w->ok()) wrong.push_back(fmt::format("{} refused with {} (must stay allowed)", p.probe, w->errno_name()));
        } else {
            if (w->errno_name() != p.filtered_errno)
                wrong.push_back(fmt::format("{} {} (want {})", p.probe, w->ok() ? "succeeded" : w->errno_name(),
                                            p.filtered_errno));
            if (c->errno_name() == p.filtered_errno) {
                std::string why = fmt::format("without the filter {} fails with {} too, so {} under the filter proves "
                                              "nothing",
                                              p.probe, p.filtered_errno, p.filtered_errno);
                return p.filtered_errno == "ENOSYS" ? Verdict::skip("the kernel lacks it: " + why)
                                                    : Verdict::error(why);
            }
            if (!c->ok())
                e["note"] = fmt::format("the control reached the kernel, which answered {} (not the filter's {})",
                                        c->errno_name(), p.filtered_errno);
        }
        evidence[p.probe] = std::move(e);
    }
    if (!wrong.empty())
        return Verdict::fail(fmt::format("default profile not enforced: {}", fmt::join(wrong, ", ")), evidence);
    return Verdict::pass(evidence);
}

// Promise 2: clone3 is answered ENOSYS, not EPERM, because only ENOSYS makes libc fall back to
// clone(2), whose flags the filter can see (clone3 passes them in memory, out of its reach).
// `thread` shows that fallback working: glibc's pthread_create tries clone3 first.
CTB_CONFORMANCE_CASE({
    .id = "security.seccomp.clone3_enosys",
    .reference = "seccomp(2) SECCOMP_RET_ERRNO; clone(2) clone3; Docker default profile (moby "
        "profiles/seccomp/default.json: clone3 -> ENOSYS so that libc falls back to clone)",
    .needs = {{K::root, ""}},
    .body = [](const CaseContext& ctx) {
        return judge(ctx, {{"clone3", "ENOSYS"}, {"thread", ""}});
        },
});

// Promise 3: each namespace flag alone is refused on clone(2) (the mask must catch every bit),
// while fork and threads, which clone without them, work.
CTB_CONFORMANCE_CASE({
    .id = "security.seccomp.clone_namespaces",
    .reference = "clone(2) CLONE_NEW*; seccomp(2) argument checks (libseccomp SCMP_CMP_MASKED_EQ); "
        "Docker default profile (clone with namespace flags needs CAP_SYS_ADMIN there)",
    .needs = {{K::root, ""}},
    .body = [](const CaseContext& ctx) {
        return judge(ctx, {{"clone-newns", "EPERM"},
        {"clone-newuts", "EPERM"},
        {"clone-newipc", "EPERM"},
        {"clone-newuser", "EPERM"},
        {"clone-newpid", "EPERM"},
        {"clone-newnet", "EPERM"},
        {"clone-newcgroup", "EPERM"},
        {"fork", ""},
        {"thread", ""}});
        },
});

// Promise 1, the keyring part: the kernel keyrings are not namespaced, so all three entry points
// are refused. The control's answers may be kernel errors (ENOKEY for the missing key).
CTB_CONFORMANCE_CASE({
    .id = "security.seccomp.keyring",
    .reference = "keyctl(2), add_key(2), request_key(2); seccomp(2); Docker default profile (moby "
        "profiles/seccomp/default.json: keyrings are not namespaced)",
    .needs = {{K::root, ""}},
    .body = [](const CaseContext& ctx) {
        return judge(ctx, {{"keyctl", "EPERM"}, {"add_key", "EPERM"}, {"request_key", "EPERM"}});
        },
});

// Promise 5: socket(AF_VSOCK) is refused by its first argument; other families reach the kernel.
// A kernel without vsock answers the control with EAFNOSUPPORT (recorded in the evidence): the
// call still reached it, the filtered one did not.
CTB_CONFORMANCE_CASE({
    .id = "security.seccomp.vsock",
    .reference = "socket(2), vsock(7); seccomp(2) argument checks; Docker default profile (moby "
        "profiles/seccomp/default.json: socket with AF_VSOCK (40) refused)",
    .needs = {{K::root, ""}},
    .body = [](const CaseContext& ctx) {
        return judge(ctx, {{"socket-vsock", "EPERM"}, {"socket-inet", ""}, {"socket-unix", ""}});
        },
});

// Promise 4: only the listed personas pass; PER_BSD is refused, PER_LINUX32 and the query pass.
CTB_CONFORMANCE_CASE({
    .id = "security.seccomp.personality",
    .reference = "personality(2); seccomp(2) argument checks; Docker default profile (moby "
        "profiles/seccomp/default.json: personality 0x0, 0x8, 0x20000, 0x20008, 0xffffffff)",
    .needs = {{K::root, ""}},
    .body = [](const CaseContext& ctx) {
        return judge(ctx, {{"personality-bad", "EPERM"},
        {"personality-linux32", ""},
        {"personality-query", ""}});
        },
});

}  // namespace
}  // namespace ctb::conformance::sec
