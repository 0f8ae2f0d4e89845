// pids controller: a fork bomb meets the limit (fork fails with EAGAIN), while forking within
// the limit works.
#include <fmt/format.h>

#include "conformance/cgroup/helpers.hpp"

namespace ctb::conformance::cgroup_cases {
namespace {

constexpr int kLimit = 10;

Result<RunOutput> run_fork(Runtime& rt, int children) {
    RunRequest r;
    r.spec = agent_spec({"fork", std::to_string(children)});
    resources(r.spec).pids = spec::PidsResources{kLimit};
    return rt.run(r);
}

Verdict limit(const CaseContext& ctx) {
    // The agent itself is one of the kLimit tasks; its children wait on a pipe so all of them
    // are alive at once, which is what pids.max counts.
    constexpr int kBomb = 50, kWithin = kLimit - 2;
    auto rt = runtime_under_test(ctx);
    auto bomb = run_fork(*rt, kBomb);
    if (!bomb) return runtime_failure("run the fork bomb", bomb.error());
    auto within = run_fork(*rt, kWithin);
    if (!within) return runtime_failure("run the control", within.error());
    json b = bomb->json(), w = within->json();
    json e = {{"pids_limit", kLimit}, {"bomb", b}, {"within_limit", w}};
    if (!b.contains("created") || !w.contains("created"))
        setup_failed(fmt::format("the agent gave no result: {:?} {:?} / {:?} {:?}", bomb->out, bomb->err,
                                          within->out, within->err));
    if (b["first_error"] != "EAGAIN")
        return Verdict::fail(fmt::format("fork past pids.max {} failed with {}, not EAGAIN", kLimit, b["first_error"].dump()), e);
    if (b["created"].get<int>() >= kLimit)
        return Verdict::fail(fmt::format("{} children were created under a limit of {} tasks", b["created"].get<int>(), kLimit), e);
    if (w["created"] != kWithin)
        return Verdict::fail(fmt::format("only {} of {} forks within the limit succeeded", w["created"].dump(), kWithin), e);
    return Verdict::pass(e);
}

CTB_CONFORMANCE_CASE({
    .id = "cgroup.pids.limit",
    .reference = "Documentation/admin-guide/cgroup-v1/pids.rst; OCI runtime-spec config-linux.md#pids",
    .needs = {{K::root, ""}, {K::cgroup_controller, "pids"}},
    .body = limit,
});

}  // namespace
}  // namespace ctb::conformance::cgroup_cases
