// The statistics compare relies on: Mann-Whitney U against values SciPy 1.10 gives (the same
// function compare.py calls; each value below was also checked by hand where noted), and the
// bootstrap interval of a ratio of medians on synthetic data whose true ratio is known.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "reports/stats.hpp"

using namespace ctb;

TEST(MannWhitney, ScipyDocumentationExample) {
    // scipy.stats.mannwhitneyu docs: males vs females, method="asymptotic" -> U=17, p=0.11134688653314041
    auto t = stats::mann_whitney_u({19, 22, 16, 29, 24}, {20, 11, 17, 12});
    EXPECT_DOUBLE_EQ(t.u1, 17);
    EXPECT_DOUBLE_EQ(t.u2, 3);
    EXPECT_NEAR(t.p_value, 0.11134688653314041, 1e-12);
}

TEST(MannWhitney, CompletelySeparatedSamples) {
    // By hand: U1 = 0, mean 12.5, var = 25/12 * 11, z = (25 - 12.5 - 0.5) / sqrt(var) = 2.5067,
    // p = erfc(z / sqrt 2) = 0.0121858 (SciPy: 0.012185780355344813).
    auto t = stats::mann_whitney_u({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
    EXPECT_DOUBLE_EQ(t.u1, 0);
    EXPECT_NEAR(t.z, 2.50672, 1e-5);
    EXPECT_NEAR(t.p_value, 0.012185780355344813, 1e-12);
    // The test is symmetric in its p-value.
    EXPECT_NEAR(stats::mann_whitney_u({6, 7, 8, 9, 10}, {1, 2, 3, 4, 5}).p_value, t.p_value, 1e-15);
}

TEST(MannWhitney, TiesUseMidRanksAndTheTieCorrection) {
    // By hand: pooled ranks 1 | 2.5 2.5 | 5.5 x4 | 8.5 8.5 | 10; R_a = 22.5, U1 = 22.5 - 21 = 1.5.
    // SciPy: statistic=1.5, pvalue=0.026826219079541514 (without the tie term it would be 0.0285).
    auto t = stats::mann_whitney_u({1, 2, 2, 3, 3, 3}, {3, 4, 4, 5});
    EXPECT_DOUBLE_EQ(t.u1, 1.5);
    EXPECT_NEAR(t.p_value, 0.026826219079541514, 1e-12);
    auto larger = stats::mann_whitney_u({1, 2, 2, 3, 3, 3, 7, 8, 9, 10}, {3, 4, 4, 5, 11, 12, 13, 14, 15});
    EXPECT_DOUBLE_EQ(larger.u1, 17.5);
    EXPECT_NEAR(larger.p_value, 0.02667534171423388, 1e-12);
}

TEST(MannWhitney, IdenticalValuesGiveNoEvidence) {
    auto t = stats::mann_whitney_u({5, 5, 5}, {5, 5, 5});
    EXPECT_DOUBLE_EQ(t.u1, 4.5);
    EXPECT_DOUBLE_EQ(t.p_value, 1.0);
}

TEST(Bootstrap, SameInputsSameInterval) {
    std::vector<double> a{10, 11, 12, 13, 14, 15, 16}, b{12, 13, 14, 15, 16, 17, 18};
    auto x = stats::bootstrap_median_ratio(a, b), y = stats::bootstrap_median_ratio(a, b);
    EXPECT_DOUBLE_EQ(x.low, y.low);
    EXPECT_DOUBLE_EQ(x.high, y.high);
    EXPECT_DOUBLE_EQ(x.ratio, 15.0 / 13.0);
    EXPECT_LE(x.low, x.ratio);
    EXPECT_GE(x.high, x.ratio);
    EXPECT_EQ(x.resamples, 2000);
    // Another seed moves the interval a little, not the point estimate.
    auto z = stats::bootstrap_median_ratio(a, b, 0.95, 2000, 7);
    EXPECT_DOUBLE_EQ(z.ratio, x.ratio);
}

// 200 synthetic experiments: log-normal latencies (sigma 0.2, 30 samples per side) whose true
// medians are 100 and 110. The 95% interval must contain 1.1 in roughly 95% of them; the percentile
// bootstrap of a median is known to be a little liberal with n = 30, hence the band.
TEST(Bootstrap, CoverageOnSyntheticData) {
    std::mt19937_64 rng(12345);
    std::lognormal_distribution<double> base(std::log(100.0), 0.2), slower(std::log(110.0), 0.2);
    const int experiments = 200;
    int covered = 0;
    for (int e = 0; e < experiments; ++e) {
        std::vector<double> a(30), b(30);
        for (auto& x : a) x = base(rng);
        for (auto& x : b) x = slower(rng);
        auto ci = stats::bootstrap_median_ratio(a, b, 0.95, 1000, 1000 + e);
        if (ci.low <= 1.1 && 1.1 <= ci.high) ++covered;
    }
    double coverage = double(covered) / experiments;
    EXPECT_GE(coverage, 0.88) << covered << "/" << experiments;
    EXPECT_LE(coverage, 0.995) << covered << "/" << experiments;
}

TEST(Bootstrap, EmptyOrZeroBaselineGivesNoInterval) {
    auto empty = stats::bootstrap_median_ratio({}, {1, 2});
    EXPECT_EQ(empty.resamples, 0);
    auto zero = stats::bootstrap_median_ratio({0, 0, 0}, {1, 2, 3});
    EXPECT_EQ(zero.resamples, 0);
}
