// The paired fidelity statistic on fixed samples: per-round ratios, their median and its
// distribution-free interval, the targets, and the refusals (unequal rounds, zero, NaN).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "benches/harness/fidelity.hpp"

namespace ctb::bench {
namespace {

TEST(PairedRatio, MedianOfPerRoundRatiosNotRatioOfMedians) {
    // Round 3 is a burst of load that halved both sides: its ratio is 1 like the others. The
    // ratio of the medians (10 / 10.5) would say 0.95; the rounds say the engines agree.
    std::vector<double> ours{10, 10, 5, 10, 10}, theirs{10, 10, 5, 10, 10};
    auto r = paired_ratio(ours, theirs);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_DOUBLE_EQ(r->ratio, 1.0);
    EXPECT_EQ(r->per_round.size(), 5u);
    std::vector<double> a{10, 12, 14}, b{20, 12, 7};  // ratios 0.5, 1, 2
    auto s = paired_ratio(a, b);
    ASSERT_TRUE(s.has_value());
    EXPECT_DOUBLE_EQ(s->ratio, 1.0);
    EXPECT_DOUBLE_EQ(s->per_round[0], 0.5);
    EXPECT_DOUBLE_EQ(s->per_round[2], 2.0);
}

TEST(PairedRatio, IntervalIsOrderStatisticsOfTheRatios) {
    // Nine rounds with ratios 0.91 .. 0.99: n = 9 gives [x(2), x(6)] (0-based order statistics
    // 1 and 7) at >= 95 % binomial coverage: 1 - 2 * P(B(9, 1/2) <= 1) = 0.9609.
    std::vector<double> ours, theirs;
    for (int i = 0; i < 9; ++i) {
        ours.push_back(91 + (i * 4) % 9);  // a permutation of 91..99
        theirs.push_back(100);
    }
    auto r = paired_ratio(ours, theirs);
    ASSERT_TRUE(r.has_value());
    EXPECT_NEAR(r->ratio, 0.95, 1e-12);
    EXPECT_NEAR(r->low, 0.92, 1e-12);
    EXPECT_NEAR(r->high, 0.98, 1e-12);
    EXPECT_NEAR(r->coverage, 0.9609375, 1e-9);
    // Round order is kept in per_round (the report shows which round strayed).
    EXPECT_NEAR(r->per_round[1], 0.95, 1e-12);
}

TEST(PairedRatio, FewRoundsGiveMinToMaxWithTheirCoverage) {
    auto r = paired_ratio({1, 2}, {1, 1});
    ASSERT_TRUE(r.has_value());
    EXPECT_DOUBLE_EQ(r->low, 1.0);
    EXPECT_DOUBLE_EQ(r->high, 2.0);
    EXPECT_NEAR(r->coverage, 0.5, 1e-12);  // 1 - 2 * (1/2)^2
}

TEST(PairedRatio, RefusesWhatIsNotAPairing) {
    auto unequal = paired_ratio({1, 2, 3}, {1, 2});
    ASSERT_FALSE(unequal.has_value());
    EXPECT_NE(unequal.error().message().find("3 engine samples against 2 tool samples"), std::string::npos)
        << unequal.error().message();
    EXPECT_FALSE(paired_ratio({}, {}).has_value());
    auto zero = paired_ratio({1, 2}, {1, 0});
    ASSERT_FALSE(zero.has_value());
    EXPECT_NE(zero.error().message().find("tool sample of round 1"), std::string::npos) << zero.error().message();
    auto nan = paired_ratio({std::numeric_limits<double>::quiet_NaN()}, {1});
    ASSERT_FALSE(nan.has_value());
    EXPECT_NE(nan.error().message().find("engine sample of round 0"), std::string::npos) << nan.error().message();
}

TEST(FidelityTarget, ThroughputAndLatency) {
    FidelityTarget thr{false}, lat{true};
    EXPECT_TRUE(thr.met(0.95));
    EXPECT_TRUE(thr.met(1.40));  // faster than the tool is not a fidelity problem for throughput
    EXPECT_FALSE(thr.met(0.9499));
    EXPECT_TRUE(lat.met(0.95));
    EXPECT_TRUE(lat.met(1.05));
    EXPECT_FALSE(lat.met(0.94));  // lower latency than the tool is a difference too
    EXPECT_FALSE(lat.met(1.06));
}

TEST(FidelityRoundsContext, SaysWhetherTheIntervalIsInsideTheTarget) {
    PairedRatio inside{1.0, 0.97, 1.04, 0.96, {0.97, 1.0, 1.04}};
    auto c = fidelity_rounds_context(inside, FidelityTarget{true});
    EXPECT_EQ(c["rounds"], 3);
    EXPECT_EQ(c["target"], "within 5 %");
    EXPECT_EQ(c["target_met"], true);
    EXPECT_EQ(c["ci_within_target"], true);
    PairedRatio wide{1.0, 0.80, 1.30, 0.96, {0.8, 1.0, 1.3}};
    auto w = fidelity_rounds_context(wide, FidelityTarget{true});
    EXPECT_EQ(w["target_met"], true);
    EXPECT_EQ(w["ci_within_target"], false);
    auto t = fidelity_rounds_context(wide, FidelityTarget{false});
    EXPECT_EQ(t["target"], ">= 0.95x");
    EXPECT_EQ(t["ci_within_target"], false);  // the low end is 0.80x
    EXPECT_DOUBLE_EQ(t["ci_low"].get<double>(), 0.80);
}

}  // namespace
}  // namespace ctb::bench
