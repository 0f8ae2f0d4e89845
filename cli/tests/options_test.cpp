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
