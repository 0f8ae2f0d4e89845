// The harness itself: requirement decisions, selection and per-case isolation.
#include <gtest/gtest.h>
#include <unistd.h>

#include "conformance/harness/kit.hpp"
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
CTB_CONFORMANCE_CASE({
    .id = "zz.harness.passes",
    .reference = "test",
    .needs = {},
    .body = [](const CaseContext&) { return Verdict::pass({{"x", 1}}); },
});
CTB_CONFORMANCE_CASE({
    .id = "zz.harness.fails",
    .reference = "test",
    .needs = {},
    .body = [](const CaseContext&) { return Verdict::fail("wrong"); },
});
CTB_CONFORMANCE_CASE({
    .id = "zz.harness.crashes",
    .reference = "test",
    .needs = {},
    .body = [](const CaseContext&) -> Verdict { ::abort(); },
});
CTB_CONFORMANCE_CASE({
    .id = "zz.harness.hangs",
    .reference = "test",
    .needs = {},
    .timeout = std::chrono::milliseconds(200),
    .body = [](const CaseContext&) -> Verdict { ::pause(); return Verdict::pass(); },
});
CTB_CONFORMANCE_CASE({
    .id = "zz.harness.setup_breaks",
    .reference = "test",
    .needs = {},
    .body = [](const CaseContext&) -> Verdict {
        must(Status(fail(sys_error("open", "/ctb-fixture/missing", ENOENT))), "read the fixture");
        return Verdict::pass();
    },
});
CTB_CONFORMANCE_CASE({
    .id = "zz.harness.checks",
    .reference = "test",
    .needs = {},
    .body = [](const CaseContext&) {
        Checks c;
        c.expect(true, "never listed");
        c.expect(false, "first promise broken");
        c.expect(false, "second promise broken");
        return c.verdict({{"seen", 2}});
    },
});
CTB_CONFORMANCE_CASE({
    .id = "zz.harness.needs_time",
    .reference = "test",
    .needs = {{K::namespace_type, "time"}},
    .body = [](const CaseContext&) { return Verdict::pass(); },
});

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

TEST(Requirements, VocabularyBeyondTheProbe) {
    auto h = hybrid_host();
    h.kernel = "5.10.0-28-amd64";
    h.cpus = 1;
    EXPECT_EQ(unmet_requirement({K::kernel_version, "5.4"}, h), "");
    EXPECT_EQ(unmet_requirement({K::kernel_version, "6.5"}, h), "kernel 5.10.0-28-amd64 is older than 6.5");
    EXPECT_EQ(unmet_requirement({K::min_cpus, "2"}, h), "the host has 1 CPU(s), the case needs 2");
    // Either name of a controller: v1 blkio or v2 io.
    EXPECT_EQ(unmet_requirement({K::cgroup_controller, "io|memory"}, h), "");
    EXPECT_EQ(unmet_requirement({K::cgroup_controller, "io|blkio"}, h), "cgroup controller io is not mounted");
    EXPECT_EQ(unmet_requirement({K::cgroup_feature, "freezer"}, h), "");  // the hybrid host has a cgroup2 mount
    EXPECT_EQ(unmet_requirement({K::device_node, "/dev/null"}, h), "");
    EXPECT_EQ(unmet_requirement({K::device_node, "/dev/null c 1:3"}, h), "");
    EXPECT_EQ(unmet_requirement({K::device_node, "/dev/null c 1:5"}, h), "/dev/null is not the device c 1:5 on this host");
    EXPECT_NE(unmet_requirement({K::device_node, "/dev/ctb-no-such-node"}, h), "");
    EXPECT_EQ(unmet_requirement({K::free_memory, "1"}, h), "");
    EXPECT_NE(unmet_requirement({K::free_memory, "999999999"}, h).find("MiB of memory available"), std::string::npos);
    // The built-in runtime supports every runtime feature a case names.
    EXPECT_EQ(unmet_requirement({K::runtime_feature, "time_namespace"}, h, "ctbench"), "");
    EXPECT_EQ(requirement_text({K::min_cpus, "2"}), "cpus>=2");
    EXPECT_EQ(requirement_text({K::runtime_feature, "time_namespace"}), "runtime:time_namespace");
    // A sysctl's value, read from /proc/sys (kernel/ostype is "Linux" on every Linux host).
    EXPECT_EQ(unmet_requirement({K::sysctl, "kernel/ostype=Linux"}, h), "");
    EXPECT_EQ(unmet_requirement({K::sysctl, "kernel/ostype=Hurd"}, h), "the host sets kernel/ostype to Linux, the case needs Hurd");
    EXPECT_NE(unmet_requirement({K::sysctl, "kernel/ctb-no-such=1"}, h).find("cannot read /proc/sys/kernel/ctb-no-such"),
              std::string::npos);
    EXPECT_EQ(requirement_text({K::sysctl, "kernel/dmesg_restrict=1"}), "sysctl:kernel/dmesg_restrict=1");
}

// The built-in runtime answers for a runtime feature from its own parse tables: they take the
// idmap mount option, so a case needing idmapped mounts runs with it (as ctbench-runtime too).
TEST(Requirements, BuiltinRuntimeAnswersFromItsParseTables) {
    auto h = hybrid_host();
    Case c{.id = "volume.idmap_like", .reference = "", .needs = {{K::runtime_feature, "idmapped_mounts"}}, .body = {}};
    EXPECT_EQ(skip_reason(c, h, "ctbench"), "");
    EXPECT_EQ(skip_reason(c, h, "/usr/local/bin/ctbench-runtime"), "");
}

TEST(Registry, AreasAreTheBuildsList) {
    EXPECT_EQ(areas(), (std::vector<std::string>{"ns", "cgroup", "overlay", "ports", "network", "volume", "security", "lifecycle"}));
}

TEST(Selection, ByAreaFilterAndSkip) {
    Selection s;
    s.areas = {"zz"};
    EXPECT_EQ(select(s).size(), 7u);
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
    // A setup failure raised in the body is `error`, with the error's chain (step, object, errno).
    EXPECT_EQ(by_id["zz.harness.setup_breaks"].outcome, report::Outcome::error);
    EXPECT_NE(by_id["zz.harness.setup_breaks"].reason.find("read the fixture: open"), std::string::npos);
    EXPECT_NE(by_id["zz.harness.setup_breaks"].reason.find("ENOENT"), std::string::npos);
    EXPECT_EQ(by_id["zz.harness.checks"].outcome, report::Outcome::fail);
    EXPECT_EQ(by_id["zz.harness.checks"].reason, "first promise broken; second promise broken");
    EXPECT_EQ(by_id["zz.harness.checks"].evidence["seen"], 2);
    EXPECT_EQ(by_id["zz.harness.needs_time"].outcome, report::Outcome::skip);
    EXPECT_EQ(by_id["zz.harness.needs_time"].reason, "namespace time unavailable: unshare(time): EINVAL");
}
