#include <gtest/gtest.h>

#include "cli/options.hpp"

using namespace ctb::cli;

TEST(Suites, KnownSuitesAndAreas) {
    auto all = parse_suite("all");
    ASSERT_TRUE(all.has_value());
    EXPECT_TRUE(all->conformance && all->bench);
    EXPECT_TRUE(all->conformance_areas.empty());
    auto ns = parse_suite("ns");
    ASSERT_TRUE(ns.has_value());
    EXPECT_TRUE(ns->conformance);
    EXPECT_FALSE(ns->bench);
    EXPECT_EQ(ns->conformance_areas, std::vector<std::string>{"ns"});
    auto start = parse_suite("start");
    ASSERT_TRUE(start.has_value());
    EXPECT_TRUE(start->bench);
    EXPECT_FALSE(start->conformance);
}

TEST(Suites, UnknownSuiteListsTheValidOnes) {
    auto r = parse_suite("nosuch");
    ASSERT_FALSE(r.has_value());
    std::string msg = r.error().message();
    EXPECT_NE(msg.find("--suite 'nosuch'"), std::string::npos) << msg;
    for (const auto& s : valid_suites()) EXPECT_NE(msg.find(s), std::string::npos) << s;
}

TEST(Formats, CommaSeparatedAndRepeatedDeduplicated) {
    auto r = parse_formats({"json,junit", "json"});
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0]->name, "json");
    EXPECT_EQ((*r)[1]->name, "junit");
}

TEST(Formats, UnknownFormatNamesFlagAndValues) {
    auto r = parse_formats({"json,yaml"});
    ASSERT_FALSE(r.has_value());
    std::string msg = r.error().message();
    EXPECT_NE(msg.find("--format 'yaml'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("junit"), std::string::npos) << msg;
}

TEST(Regex, InvalidRegexNamesTheFlag) {
    auto r = parse_regex("--filter", "ns.(pid");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("--filter 'ns.(pid'"), std::string::npos);
    auto empty = parse_regex("--skip", "");
    ASSERT_TRUE(empty.has_value());
    EXPECT_FALSE(empty->has_value());
}

TEST(Runtime, BuiltinAndMissing) {
    auto builtin = resolve_runtime("ctbench");
    ASSERT_TRUE(builtin.has_value());
    EXPECT_EQ(builtin->path, "");
    auto missing = resolve_runtime("/nonexistent/oci-runtime");
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().message().find("--runtime '/nonexistent/oci-runtime'"), std::string::npos);
}

// --- --baseline bare,container,vm (cli/baselines.cpp) ---
#include "benches/harness/measure.hpp"
#include "cli/baselines.hpp"

TEST(Baselines, ParsesTheListAndNamesABadValue) {
    auto all = parse_baselines({"bare,container", "vm"});
    ASSERT_TRUE(all.has_value());
    EXPECT_TRUE(all->host && all->vm);
    auto none = parse_baselines({});
    ASSERT_TRUE(none.has_value());
    EXPECT_FALSE(none->any());
    auto bad = parse_baselines({"bare,lxc"});
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(bad.error().message().find("--baseline"), std::string::npos);
    EXPECT_NE(bad.error().message().find("lxc"), std::string::npos);
    EXPECT_FALSE(parse_baselines({","}).has_value());
}

TEST(Baselines, GuestSeriesComeBackBesideTheHostsWithAVmOverHostRatio) {
    using ctb::bench::make_result;
    ctb::report::Report host, guest;
    host.benchmarks.push_back(make_result("overlayio.seqread/bare", {10, 10, 10}, {}));
    host.benchmarks.push_back(make_result("overlayio.seqread/container", {12, 12, 12}, {}));
    ctb::bench::set_ratio(host.benchmarks[1], host.benchmarks[0]);
    guest.benchmarks.push_back(make_result("overlayio.seqread/bare", {20, 20, 20}, {}));
    guest.benchmarks.push_back(make_result("overlayio.seqread/container", {30, 30, 30}, {}));
    ctb::bench::set_ratio(guest.benchmarks[1], guest.benchmarks[0]);
    guest.benchmarks.push_back(make_result("overlayio.only-in-guest/x", {1}, {}));
    guest.benchmarks_not_run.push_back({"veth.tcp", "no iperf3", false});
    ctb::report::GuestRunInfo info;
    info.accel = "tcg";
    info.boot_seconds = 2.5;
    guest.run.guest = info;

    merge_guest_series(host, guest);
    auto find = [&](const std::string& n) -> const ctb::report::BenchResult* {
        for (const auto& b : host.benchmarks)
            if (b.name == n) return &b;
        return nullptr;
    };
    const auto* bare_vm = find("overlayio.seqread/bare@vm");
    ASSERT_NE(bare_vm, nullptr);
    EXPECT_EQ(bare_vm->baseline, "overlayio.seqread/bare");
    EXPECT_DOUBLE_EQ(*bare_vm->ratio, 2.0);
    const auto* container_vm = find("overlayio.seqread/container@vm");
    ASSERT_NE(container_vm, nullptr);
    EXPECT_DOUBLE_EQ(*container_vm->ratio, 2.5);  // against the host's container series
    EXPECT_EQ(container_vm->context["in_guest_ratio"]["baseline"], "overlayio.seqread/bare@vm");
    EXPECT_DOUBLE_EQ(container_vm->context["in_guest_ratio"]["ratio"].get<double>(), 1.5);
    const auto* lonely = find("overlayio.only-in-guest/x@vm");
    ASSERT_NE(lonely, nullptr);
    EXPECT_FALSE(lonely->baseline.has_value());
    const auto* boot = find("start.vm-boot/to-userspace@vm");
    ASSERT_NE(boot, nullptr);
    EXPECT_DOUBLE_EQ(boot->median, 2500);
    ASSERT_TRUE(host.run.guest.has_value());
    EXPECT_EQ(host.run.guest->accel, "tcg");
    ASSERT_EQ(host.benchmarks_not_run.size(), 1u);
    EXPECT_EQ(host.benchmarks_not_run[0].name, "veth.tcp@vm");
    EXPECT_EQ(find("overlayio.seqread/bare")->median, 10);  // the host's own series untouched
}
