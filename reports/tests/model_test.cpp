#include <gtest/gtest.h>

#include "reports/tests/sample.hpp"
#include "reports/writers.hpp"

using namespace ctb::report;

TEST(ReportModel, JsonRoundTripKeepsEveryField) {
    Report r = samples::sample_report();
    nlohmann::json j = to_json(r);
    auto back = report_from_json(j);
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(to_json(*back), j);
    EXPECT_EQ(back->run.host.kvm.kvm_boot->reached_userspace.detail, "KVM internal error: emulation failure");
    EXPECT_FALSE(back->run.host.bpf_program_types.at("kprobe").available);
}

TEST(ReportModel, SampledInRoundsRoundTripsAndIsOmittedWhenFalse) {
    Report r = samples::sample_report();
    ASSERT_FALSE(r.benchmarks.empty());
    EXPECT_FALSE(to_json(r)["benchmarks"][0].contains("sampled_in_rounds"));
    r.benchmarks[0].sampled_in_rounds = true;
    nlohmann::json j = to_json(r);
    EXPECT_EQ(j["benchmarks"][0]["sampled_in_rounds"], true);
    auto back = report_from_json(j);
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_TRUE(back->benchmarks[0].sampled_in_rounds);
}

TEST(ReportModel, GuestRunRoundTripsAndShowsInText) {
    Report r = samples::sample_report();
    EXPECT_FALSE(to_json(r)["run"].contains("guest"));  // host runs carry no guest block
    r.run.guest = GuestRunInfo{"tcg", "TCG (software emulation): figures from this guest are not a KVM baseline",
                               "/boot/vmlinuz-6.1.0-57-cloud-amd64", "/var/lib/ctbench/guest/suite-x.cpio.gz",
                               "6.1.0-57-cloud-amd64", "6.18.0", "host", 2, 2048, 5.5, 60.25, 0};
    nlohmann::json j = to_json(r);
    auto back = report_from_json(j);
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(to_json(*back), j);
    ASSERT_TRUE(back->run.guest);
    EXPECT_EQ(back->run.guest->accel, "tcg");
    EXPECT_EQ(back->run.guest->memory_mib, 2048);
    EXPECT_NE(render_text(*back).find("not a KVM baseline"), std::string::npos);
}

TEST(ReportModel, SummaryCountsOutcomes) {
    Summary s = samples::sample_report().summary();
    EXPECT_EQ(s.pass, 1);
    EXPECT_EQ(s.fail, 1);
    EXPECT_EQ(s.skip, 1);
    EXPECT_EQ(s.error, 1);
}

TEST(ReportModel, RejectsWrongKindVersionAndOutcome) {
    nlohmann::json j = to_json(samples::sample_report());
    auto wrong_kind = j;
    wrong_kind["kind"] = "other";
    EXPECT_FALSE(report_from_json(wrong_kind).has_value());
    auto wrong_version = j;
    wrong_version["schema_version"] = 99;
    auto e = report_from_json(wrong_version);
    ASSERT_FALSE(e.has_value());
    EXPECT_NE(e.error().message().find("schema_version"), std::string::npos);
    auto wrong_outcome = j;
    wrong_outcome["conformance"][0]["outcome"] = "maybe";
    e = report_from_json(wrong_outcome);
    ASSERT_FALSE(e.has_value());
    EXPECT_NE(e.error().message().find("outcome"), std::string::npos);
    auto missing = j;
    missing["run"].erase("kernel");
    EXPECT_FALSE(report_from_json(missing).has_value());
}

TEST(Writers, EveryFormatRendersEveryCase) {
    Report r = samples::sample_report();
    for (const auto& f : formats()) {
        std::string out = f.render(r);
        if (f.name == "json") continue;
        if (f.name == "gbench" || f.name == "bmf") {  // benchmark formats: every bench instead
            for (const auto& b : r.benchmarks) EXPECT_NE(out.find(b.name), std::string::npos) << f.name << " " << b.name;
            continue;
        }
        for (const auto& c : r.conformance) {
            if (f.name == "text" && c.outcome == Outcome::pass) continue;  // the summary lists only non-passes
            EXPECT_NE(out.find(c.id), std::string::npos) << f.name << " " << c.id;
        }
    }
}

TEST(Writers, JunitEscapesAndCountsOutcomes) {
    std::string xml = render_junit(samples::sample_report());
    EXPECT_NE(xml.find("lower layer modified &lt;&amp;&gt;"), std::string::npos);
    // The bench that did not run is a skipped testcase too.
    EXPECT_NE(xml.find("<testsuites name=\"ctbench\" tests=\"6\" failures=\"1\" errors=\"1\" skipped=\"2\">"),
              std::string::npos);
    EXPECT_NE(xml.find("<testsuite name=\"conformance.overlay\" tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\""),
              std::string::npos);
    EXPECT_NE(xml.find("<skipped message=\"memory controller is on cgroup v1 (hybrid host)\"/>"), std::string::npos);
}

TEST(Writers, TapMarksSkipsAndFailures) {
    std::string tap = render_tap(samples::sample_report());
    EXPECT_NE(tap.find("1..4\n"), std::string::npos);
    EXPECT_NE(tap.find("ok 1 - ns.pid.init_is_1\n"), std::string::npos);
    EXPECT_NE(tap.find("ok 2 - cgroup.memory.oom_kill # SKIP memory controller"), std::string::npos);
    EXPECT_NE(tap.find("not ok 3 - overlay.copy_up.chmod"), std::string::npos);
    EXPECT_NE(tap.find("not ok 4 - security.seccomp.default"), std::string::npos);
}

TEST(Writers, UnknownFormatIsNotFound) {
    EXPECT_EQ(find_format("yaml"), nullptr);
    EXPECT_NE(find_format("junit"), nullptr);
}
