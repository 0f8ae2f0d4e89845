// The harness itself: requirement decisions, selection and per-case isolation.
#include <gtest/gtest.h>
#include <unistd.h>

#include "conformance/harness/runner.hpp"

using namespace ctb;
using namespace ctb::conformance;
using K = Requirement::Kind;

namespace {

report::HostProbe hybrid_host() {
    report::HostProbe h;
    h.root = true;
    h.namespaces["time"] = Feature::no("unshare(time): EINVAL");
    h.namespaces["pid"] = Feature::yes("created");
    h.cgroups = {"hybrid", "/sys/fs/cgroup/unified",
                 {{"memory", "v1", "/sys/fs/cgroup/memory", Feature::yes("ok")},
                  {"hugetlb", "v2", "/sys/fs/cgroup/unified", Feature::no("hugetlb is not delegated")}}};
    h.overlay = Feature::yes("ok");
    h.overlay_features["index"] = Feature::yes("ok");
    h.bpf_program_types["kprobe"] = Feature::no("no kprobe PMU");
    h.tools = {{"runc", Feature::yes("/usr/sbin/runc"), "1.1.5"}};
    return h;
}

// Test-only cases: registered in this binary alone.
CTB_CONFORMANCE_CASE("zz.harness.passes", "test", {}, [](const CaseContext&) { return Verdict::pass({{"x", 1}}); });
CTB_CONFORMANCE_CASE("zz.harness.fails", "test", {}, [](const CaseContext&) { return Verdict::fail("wrong"); });
CTB_CONFORMANCE_CASE("zz.harness.crashes", "test", {}, [](const CaseContext&) -> Verdict { ::abort(); });
CTB_CONFORMANCE_CASE("zz.harness.hangs", "test", {}, [](const CaseContext&) -> Verdict { ::pause(); return Verdict::pass(); },
                     std::chrono::milliseconds(200));
CTB_CONFORMANCE_CASE("zz.harness.needs_time", "test", {{K::namespace_type, "time"}},
                     [](const CaseContext&) { return Verdict::pass(); });

}  // namespace

TEST(Requirements, ExplainWhyTheHostCannotRunACase) {
    auto h = hybrid_host();
    EXPECT_EQ(unmet_requirement({K::namespace_type, "pid"}, h), "");
    EXPECT_EQ(unmet_requirement({K::namespace_type, "time"}, h), "namespace time unavailable: unshare(time): EINVAL");
    EXPECT_EQ(unmet_requirement({K::cgroup_controller, "memory"}, h), "");
    EXPECT_EQ(unmet_requirement({K::cgroup_v2_controller, "memory"}, h),
              "memory controller is on cgroup v1 (hybrid host)");
    EXPECT_EQ(unmet_requirement({K::cgroup_controller, "io"}, h), "cgroup controller io is not mounted");
    EXPECT_EQ(unmet_requirement({K::cgroup_v2_controller, "hugetlb"}, h),
              "cgroup controller hugetlb: hugetlb is not delegated");
    EXPECT_EQ(unmet_requirement({K::overlay_feature, "index"}, h), "");
    EXPECT_EQ(unmet_requirement({K::overlay_feature, "metacopy"}, h), "overlay feature metacopy was not probed");
    EXPECT_EQ(unmet_requirement({K::bpf_program_type, "kprobe"}, h), "BPF program type kprobe unavailable: no kprobe PMU");
    EXPECT_EQ(unmet_requirement({K::tool, "crun"}, h), "crun was not probed");
    h.root = false;
    EXPECT_EQ(unmet_requirement({K::root, ""}, h), "needs root");
}

TEST(Selection, ByAreaFilterAndSkip) {
    Selection s;
    s.areas = {"zz"};
    EXPECT_EQ(select(s).size(), 5u);
    s.filter = std::regex("harness\\.(passes|fails)");
    EXPECT_EQ(select(s).size(), 2u);
    s.skip = std::regex("fails");
    ASSERT_EQ(select(s).size(), 1u);
    EXPECT_EQ(select(s)[0]->id, "zz.harness.passes");
    s.areas = {"ns"};
    s.filter.reset();
    s.skip.reset();
    for (const Case* c : select(s)) EXPECT_EQ(c->area(), "ns");
}

TEST(Runner, OutcomesCrossTheProcessBoundary) {
    auto h = hybrid_host();
    Selection s;
    s.areas = {"zz"};
    std::map<std::string, report::CaseResult> by_id;
    for (auto& r : run_cases(select(s), h, {})) by_id[r.id] = r;
    EXPECT_EQ(by_id["zz.harness.passes"].outcome, report::Outcome::pass);
    EXPECT_EQ(by_id["zz.harness.passes"].evidence["x"], 1);
    EXPECT_EQ(by_id["zz.harness.fails"].outcome, report::Outcome::fail);
    EXPECT_EQ(by_id["zz.harness.fails"].reason, "wrong");
    EXPECT_EQ(by_id["zz.harness.crashes"].outcome, report::Outcome::error);
    EXPECT_NE(by_id["zz.harness.crashes"].reason.find("signal"), std::string::npos);
    EXPECT_EQ(by_id["zz.harness.hangs"].outcome, report::Outcome::error);
    EXPECT_NE(by_id["zz.harness.hangs"].reason.find("timed out"), std::string::npos);
    EXPECT_EQ(by_id["zz.harness.needs_time"].outcome, report::Outcome::skip);
    EXPECT_EQ(by_id["zz.harness.needs_time"].reason, "namespace time unavailable: unshare(time): EINVAL");
}
