// Freezer: a frozen container's processes make no progress at all (its counter stops), and
// thawing lets them carry on. The adapter has no pause/resume, so the case freezes the
// container's own cgroup on the host, located from /proc/<pid>/cgroup of its init, by writing the
// kernel's own file (v1 freezer.state, or v2 cgroup.freeze): no runtime code is involved.
#include <fmt/format.h>

#include "common/deadline.hpp"
#include "common/files.hpp"
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

// The container's freezer, as the kernel exposes it: v1 freezer.state ("FROZEN"/"THAWED", with
// FREEZING until every task stopped), v2 cgroup.freeze ("1"/"0", cgroup.events says "frozen 1").
struct Freezer {
    std::string dir;
    bool v1 = false;

    Status set(bool frozen) const {
        if (v1) return write_file(dir + "/freezer.state", frozen ? "FROZEN" : "THAWED");
        return write_file(dir + "/cgroup.freeze", frozen ? "1" : "0");
    }
    bool is_frozen() const {
        if (v1) return trim(read_file(dir + "/freezer.state").value_or("")) == "FROZEN";
        return read_file(dir + "/cgroup.events").value_or("").find("frozen 1") != std::string::npos;
    }
};

// Thaws on every path once frozen, so the container can always be deleted.
struct ThawGuard {
    const Freezer& freezer;
    bool frozen = false;
    ~ThawGuard() {
        if (frozen) (void)freezer.set(false);
    }
};

Verdict stops_and_resumes(const CaseContext& ctx) {
    // The window in which a frozen counter must not move: 6 sample periods.
    constexpr auto kFrozenWindow = std::chrono::milliseconds(600);
    auto rt = runtime_under_test(ctx);
    auto c = start(*rt, request_for(agent_spec({"count", "30"})));
    if (!c) return runtime_failure("start the counting container", c.error());
    if (!retry_until(Deadline(std::chrono::seconds(5)), [&] { return progress(**c).samples >= 3; }))
        setup_failed("the counter printed fewer than 3 samples in 5 s");
    bool v1 = hierarchy_of(ctx.host, "freezer") == "v1";
    Freezer freezer{must(cgroup_dir(ctx.host, (*c)->pid(), v1 ? "freezer" : "")), v1};

    ThawGuard guard{freezer};
    must(freezer.set(true), "freeze the container's cgroup");
    guard.frozen = true;
    // The write starts freezing; the kernel says when every task is stopped.
    bool frozen = retry_until(Deadline(std::chrono::seconds(2)), [&] { return freezer.is_frozen(); });
    Progress at_freeze = progress(**c);
    bool moved = retry_until(Deadline(kFrozenWindow), [&] { return progress(**c).samples > at_freeze.samples; });
    Progress after_window = progress(**c);
    must(freezer.set(false), "thaw the container's cgroup");
    guard.frozen = false;
    bool resumed = retry_until(Deadline(std::chrono::seconds(3)), [&] {
        Progress p = progress(**c);
        return p.samples >= after_window.samples + 2 && p.count > after_window.count;
    });
    Progress after_thaw = progress(**c);

    json e = {{"at_freeze", to_json(at_freeze)}, {"after_frozen_window", to_json(after_window)},
              {"after_thaw", to_json(after_thaw)}, {"frozen_window_ms", kFrozenWindow.count()},
              {"freezer", v1 ? freezer.dir + "/freezer.state" : freezer.dir + "/cgroup.freeze"},
              {"kernel_reported_frozen", frozen}};
    if (!frozen) return Verdict::fail("the kernel never reported the cgroup frozen within 2 s of the freeze", e);
    if (moved) return Verdict::fail("the counter kept printing while its cgroup was frozen", e);
    if (!resumed) return Verdict::fail("the counter did not advance within 3 s of the thaw", e);
    return Verdict::pass(e);
}

CTB_CONFORMANCE_CASE({
    .id = "cgroup.freezer.stops_and_resumes",
    .reference = "Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst; Documentation/admin-guide/cgroup-v2.rst (cgroup.freeze)",
    .needs = {{K::root, ""}, {K::cgroup_feature, "freezer"}},
    .body = stops_and_resumes,
});

}  // namespace
}  // namespace ctb::conformance::cgroup_cases
