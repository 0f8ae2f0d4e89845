#include <gtest/gtest.h>

#include <cmath>

#include "reports/model.hpp"
#include "reports/stats.hpp"

using namespace ctb;

TEST(Stats, MedianOddAndEven) {
    EXPECT_DOUBLE_EQ(stats::median({3, 1, 2}), 2);
    EXPECT_DOUBLE_EQ(stats::median({4, 1, 3, 2}), 2.5);
    EXPECT_DOUBLE_EQ(stats::median({}), 0);
}

TEST(Stats, MedianIntervalCoverageMatchesBinomialTables) {
    // n = 10: [x(2), x(9)] (1-based) covers with 97.85%; [x(3), x(8)] only 89.06%.
    std::vector<double> s{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    auto ci = stats::median_interval(s, 0.95);
    EXPECT_DOUBLE_EQ(ci.low, 2);
    EXPECT_DOUBLE_EQ(ci.high, 9);
    EXPECT_NEAR(ci.coverage, 0.97852, 1e-4);
}

TEST(Stats, TooFewSamplesGiveTheRangeAndItsCoverage) {
    auto ci = stats::median_interval({5, 1, 3}, 0.95);
    EXPECT_DOUBLE_EQ(ci.low, 1);
    EXPECT_DOUBLE_EQ(ci.high, 5);
    EXPECT_NEAR(ci.coverage, 0.75, 1e-9);  // 1 - 2 * (1/2)^3
}

TEST(Stats, FinalizeFillsSummary) {
    report::BenchResult b;
    b.samples = {10, 30, 20};
    report::finalize(b);
    EXPECT_DOUBLE_EQ(b.median, 20);
    EXPECT_DOUBLE_EQ(b.min, 10);
    EXPECT_DOUBLE_EQ(b.max, 30);
    EXPECT_LE(b.ci.low, b.median);
    EXPECT_GE(b.ci.high, b.median);
}

TEST(Stats, DescribeGivesCoefficientOfVariationAndMad) {
    auto s = stats::describe({10, 12, 14, 16, 18});
    EXPECT_DOUBLE_EQ(s.mean, 14);
    EXPECT_NEAR(s.cv, std::sqrt(10.0) / 14, 1e-12);  // sample stddev sqrt(40/4) over the mean
    EXPECT_DOUBLE_EQ(s.mad, 2);                       // |x - 14| = 4 2 0 2 4 -> median 2
    EXPECT_TRUE(s.outliers.empty());
    EXPECT_FALSE(s.warmup_effect);
}

TEST(Stats, ModifiedZScoreFlagsOnlyTheFarSample) {
    // median 10, MAD 1: z(30) = 0.6745 * 20 = 13.5 > 3.5; z(12) = 1.35 is not an outlier.
    auto s = stats::describe({10, 9, 11, 10, 12, 30, 8, 10, 11});
    ASSERT_EQ(s.outliers.size(), 1u);
    EXPECT_EQ(s.outliers.front(), 5u);
    EXPECT_FALSE(s.warmup_effect);
}

TEST(Stats, SlowFirstSampleIsAWarmupEffect) {
    auto s = stats::describe({25, 10, 9, 11, 10, 12, 8, 10, 11});
    EXPECT_TRUE(s.warmup_effect);
    EXPECT_DOUBLE_EQ(s.first_sample_ratio, 2.5);  // 25 over the others' median of 10
}

TEST(Stats, ConstantSamplesFlagNothing) {
    auto s = stats::describe({5, 5, 5, 5, 6});
    EXPECT_DOUBLE_EQ(s.mad, 0);
    EXPECT_TRUE(s.outliers.empty());  // MAD 0 would make every differing sample "infinitely" far
}

TEST(Stats, FinalizeWarnsAboutWarmupAndOutliersOnce) {
    report::BenchResult b;
    b.samples = {25, 10, 9, 11, 10, 12, 30, 10, 11};
    report::finalize(b);
    report::finalize(b);  // idempotent: warnings are not repeated
    ASSERT_TRUE(b.shape.has_value());
    ASSERT_EQ(b.warnings.size(), 2u);
    EXPECT_NE(b.warnings[0].find("warm-up"), std::string::npos);
    EXPECT_NE(b.warnings[1].find("1 of 9 samples are outliers"), std::string::npos);
}

TEST(Stats, RatioIntervalOfClearlyDifferentSeriesExcludesOne) {
    std::vector<double> base{10, 10.2, 9.9, 10.1, 10, 9.8, 10.3, 10, 10.1};
    std::vector<double> subject;
    for (double x : base) subject.push_back(x * 1.5);
    auto r = stats::bootstrap_median_ratio(base, subject);
    EXPECT_DOUBLE_EQ(r.ratio, 1.5);
    EXPECT_GT(r.low, 1.3);
    EXPECT_LT(r.high, 1.7);
    EXPECT_LE(r.low, r.ratio);
    EXPECT_GE(r.high, r.ratio);
}
