// Freezer: a frozen container's processes make no progress at all (its counter stops), and
// thawing lets them carry on. The adapter has no pause/resume, so the case freezes the
// container's own cgroup on the host, located from /proc/<pid>/cgroup of its init (v1
// freezer.state, or v2 cgroup.freeze, whichever the reference cgroup manager would use).
#include <fmt/format.h>

#include "common/deadline.hpp"
#include "conformance/cgroup/helpers.hpp"

namespace ctb::conformance::cgroup_cases {
namespace {

// Samples printed so far by `agent count` (one line every 100 ms) and the last count.
struct Progress {
    std::size_t samples = 0;
    std::uint64_t count = 0;
    double elapsed_s = 0;
};

Progress progress(RunningContainer& c) {
    Progress p;
    auto out = c.wait(std::chrono::milliseconds(0));
    if (!out) return p;
    for (const auto& line : json_lines(out->out)) {
        ++p.samples;
        p.count = line.value("count", std::uint64_t{0});
        p.elapsed_s = line.value("elapsed_s", 0.0);
    }
    return p;
}

json to_json(const Progress& p) { return {{"samples", p.samples}, {"count", p.count}, {"elapsed_s", p.elapsed_s}}; }

// Thaws on every path once frozen, so the container can always be deleted.
struct ThawGuard {
    cgroup::Manager& manager;
    bool frozen = false;
    ~ThawGuard() {
        if (frozen) (void)manager.thaw();
    }
};

Verdict stops_and_resumes(const CaseContext& ctx) {
    // The window in which a frozen counter must not move: 6 sample periods.
    constexpr auto kFrozenWindow = std::chrono::milliseconds(600);
    if (hierarchy_of(ctx.host, "freezer") != "v1" && ctx.host.cgroups.v2_mount.empty())
        return Verdict::skip("no cgroup v1 freezer hierarchy and no cgroup2 mount (cgroup.freeze)");
    auto rt = make_runtime(ctx.runtime);
    if (!rt) return Verdict::error(rt.error().message());
    auto c = (*rt)->start(request_for(agent_spec({"count", "30"})));
    if (!c) return runtime_failure("start the counting container", c.error());
    if (!retry_until(Deadline(std::chrono::seconds(5)), [&] { return progress(**c).samples >= 3; }))
        return Verdict::error("the counter printed fewer than 3 samples in 5 s");
    auto cg = open_cgroup((*c)->pid());
    if (!cg) return Verdict::error(cg.error().message());

    ThawGuard guard{**cg};
    if (auto ok = (*cg)->freeze(); !ok) return runtime_failure("freeze the container's cgroup", ok.error());
    guard.frozen = true;
    Progress at_freeze = progress(**c);
    bool moved = retry_until(Deadline(kFrozenWindow), [&] { return progress(**c).samples > at_freeze.samples; });
    Progress after_window = progress(**c);
    if (auto ok = (*cg)->thaw(); !ok) return Verdict::error("thaw: " + ok.error().message());
    guard.frozen = false;
    bool resumed = retry_until(Deadline(std::chrono::seconds(3)), [&] {
        Progress p = progress(**c);
        return p.samples >= after_window.samples + 2 && p.count > after_window.count;
    });
    Progress after_thaw = progress(**c);

    json e = {{"at_freeze", to_json(at_freeze)}, {"after_frozen_window", to_json(after_window)},
              {"after_thaw", to_json(after_thaw)}, {"frozen_window_ms", kFrozenWindow.count()},
              {"freezer", hierarchy_of(ctx.host, "freezer") == "v1" ? "v1 freezer.state" : "v2 cgroup.freeze"}};
    if (moved) return Verdict::fail("the counter kept printing while its cgroup was frozen", e);
    if (!resumed) return Verdict::fail("the counter did not advance within 3 s of the thaw", e);
    return Verdict::pass(e);
}

CTB_CONFORMANCE_CASE("cgroup.freezer.stops_and_resumes",
                     "Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst; Documentation/admin-guide/cgroup-v2.rst (cgroup.freeze)",
                     {{K::root, ""}}, stops_and_resumes);

}  // namespace
}  // namespace ctb::conformance::cgroup_cases
