#include <gtest/gtest.h>

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
