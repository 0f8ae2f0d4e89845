// Mann-Whitney U with the asymptotic p-value SciPy computes for compare.py (scipy.stats.mannwhitneyu,
// method "asymptotic", use_continuity=True): mid-ranks for ties, the variance reduced by
// sum(t^3 - t) / (n (n - 1)) over tie groups, z from max(U1, U2) - mean - 1/2.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "reports/stats.hpp"

namespace ctb::stats {
namespace {

struct Ranked {
    double rank_sum_a = 0;
    double tie_term = 0;  // sum over tie groups of t^3 - t
};

// Ranks the pooled samples (1-based, ties get the mean of their ranks).
Ranked rank_pooled(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<std::pair<double, bool>> pooled;  // value, belongs to a
    pooled.reserve(a.size() + b.size());
    for (double x : a) pooled.emplace_back(x, true);
    for (double x : b) pooled.emplace_back(x, false);
    std::sort(pooled.begin(), pooled.end(), [](const auto& l, const auto& r) { return l.first < r.first; });
    Ranked out;
    for (std::size_t i = 0; i < pooled.size();) {
        std::size_t j = i;
        while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
        double t = double(j - i);
        double mid_rank = (double(i + 1) + double(j)) / 2;
        for (std::size_t k = i; k < j; ++k)
            if (pooled[k].second) out.rank_sum_a += mid_rank;
        out.tie_term += t * t * t - t;
        i = j;
    }
    return out;
}

}  // namespace

UTest mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b) {
    UTest out;
    double n1 = double(a.size()), n2 = double(b.size()), n = n1 + n2;
    if (a.empty() || b.empty()) return out;
    Ranked r = rank_pooled(a, b);
    out.u1 = r.rank_sum_a - n1 * (n1 + 1) / 2;
    out.u2 = n1 * n2 - out.u1;
    double mean = n1 * n2 / 2;
    double variance = n1 * n2 / 12 * ((n + 1) - r.tie_term / (n * (n - 1)));
    if (variance <= 0) return out;  // every value equal: no evidence of a difference
    out.z = (std::max(out.u1, out.u2) - mean - 0.5) / std::sqrt(variance);
    // Two-sided: 2 * P(Z > z) = erfc(z / sqrt 2), capped at 1 as SciPy does.
    out.p_value = std::min(1.0, std::erfc(out.z / std::sqrt(2.0)));
    return out;
}

}  // namespace ctb::stats
