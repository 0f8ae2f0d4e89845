// The round-robin order of measure_round_robin: every round a permutation of the series, and over
// a full cycle every series runs right after every other one equally often (first-order carryover
// balanced), whatever the number of series.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <utility>

#include "benches/harness/measure.hpp"

namespace ctb::bench {
namespace {

TEST(RoundOrder, EveryRoundIsAPermutation) {
    for (std::size_t n = 1; n <= 9; ++n)
        for (std::size_t round = 0; round < 3 * n; ++round) {
            auto order = round_order(n, round);
            std::vector<std::size_t> sorted = order, all(n);
            std::sort(sorted.begin(), sorted.end());
            std::iota(all.begin(), all.end(), 0);
            EXPECT_EQ(sorted, all) << "n=" << n << " round=" << round;
        }
    EXPECT_TRUE(round_order(0, 0).empty());
}

TEST(RoundOrder, EverySeriesFollowsEveryOtherEquallyOftenOverACycle) {
    for (std::size_t n = 2; n <= 9; ++n) {
        const std::size_t cycle = n % 2 == 0 ? n : 2 * n;
        std::map<std::pair<std::size_t, std::size_t>, int> after;  // (before, next) -> times
        for (std::size_t round = 0; round < cycle; ++round) {
            auto order = round_order(n, round);
            for (std::size_t j = 1; j < n; ++j) after[{order[j - 1], order[j]}]++;
        }
        const int want = n % 2 == 0 ? 1 : 2;
        EXPECT_EQ(after.size(), n * (n - 1)) << "n=" << n << ": some series never follows some other";
        for (const auto& [pair, times] : after)
            EXPECT_EQ(times, want) << "n=" << n << ": " << pair.second << " after " << pair.first;
    }
}

TEST(RoundOrder, NoSeriesHasAFixedPredecessor) {
    // The old rotation (start one later each round) always ran series 2 right after series 1.
    int library_after_minimal = 0;
    for (std::size_t round = 0; round < 6; ++round) {
        auto order = round_order(6, round);
        auto at = std::find(order.begin(), order.end(), 2u);
        if (at != order.begin() && *(at - 1) == 1u) ++library_after_minimal;
    }
    EXPECT_EQ(library_after_minimal, 1);
}

}  // namespace
}  // namespace ctb::bench
