// The round-robin order of measure_round_robin: every round a permutation of the series, and over
// a full cycle every series runs right after every other one equally often (first-order carryover
// balanced, the boundary between two rounds included) and at every position equally often,
// whatever the number of series.
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

// Who ran right before whom over `rounds` consecutive rounds from `first`, the first body of a
// round counted as running after the last body of the round before.
std::map<std::pair<std::size_t, std::size_t>, int> predecessors(std::size_t n, std::size_t first, std::size_t rounds) {
    std::map<std::pair<std::size_t, std::size_t>, int> after;  // (before, next) -> times
    auto previous = round_order(n, first == 0 ? round_cycle(n) - 1 : first - 1);
    for (std::size_t round = first; round < first + rounds; ++round) {
        auto order = round_order(n, round);
        after[{previous.back(), order.front()}]++;
        for (std::size_t j = 1; j < n; ++j) after[{order[j - 1], order[j]}]++;
        previous = order;
    }
    return after;
}

TEST(RoundOrder, EverySeriesFollowsEveryOtherEquallyOftenOverACycleBoundariesIncluded) {
    for (std::size_t n = 3; n <= 9; ++n) {
        const std::size_t cycle = round_cycle(n);
        EXPECT_EQ(cycle, n % 2 == 0 ? n * (n - 1) : 2 * n * (2 * n - 2)) << "n=" << n;
        for (std::size_t first : {std::size_t{0}, std::size_t{1}, cycle / 2}) {
            auto after = predecessors(n, first, cycle);
            EXPECT_EQ(after.size(), n * (n - 1)) << "n=" << n << ": a series ran after itself or never after another";
            const int want = static_cast<int>(cycle / (n - 1));  // each series has `cycle` predecessors
            for (const auto& [pair, times] : after)
                EXPECT_EQ(times, want) << "n=" << n << ": " << pair.second << " after " << pair.first;
        }
    }
}

TEST(RoundOrder, EverySeriesTakesEveryPositionEquallyOftenOverACycle) {
    for (std::size_t n = 1; n <= 9; ++n) {
        std::map<std::pair<std::size_t, std::size_t>, int> at;  // (series, position) -> times
        for (std::size_t round = 0; round < round_cycle(n); ++round) {
            auto order = round_order(n, round);
            for (std::size_t p = 0; p < n; ++p) at[{order[p], p}]++;
        }
        EXPECT_EQ(at.size(), n * n) << "n=" << n;
        for (const auto& [where, times] : at) EXPECT_EQ(times, at.begin()->second) << "n=" << n;
    }
}

TEST(RoundOrder, TwoSeriesAlternateFirstPlace) {
    // Too few rows for a circuit that avoids a series running after itself: the rows cycle.
    EXPECT_EQ(round_cycle(2), 2u);
    EXPECT_EQ(round_order(2, 0), (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(round_order(2, 1), (std::vector<std::size_t>{1, 0}));
    EXPECT_EQ(round_order(2, 2), (std::vector<std::size_t>{0, 1}));
}

TEST(RoundOrder, TheLibraryNoLongerFollowsCrunTwiceAsOften) {
    // start.lifecycle's six series, 60 rounds after one warm-up round, as measure_round_robin
    // runs them. With the rows cycled in order, series 2 (the library) ran after series 4 (crun)
    // 14 times in 40 rounds and after each other series 6 or 7 times.
    auto after = predecessors(6, 1, 60);
    for (std::size_t before = 0; before < 6; ++before) {
        if (before == 2) continue;
        EXPECT_EQ(after[std::make_pair(before, std::size_t{2})], 12) << "after " << before;
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
