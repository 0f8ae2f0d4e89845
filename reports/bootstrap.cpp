// Percentile bootstrap for the ratio of two medians. The generator is std::mt19937_64, whose output
// sequence the C++ standard fixes, and indices come from it by rejection sampling rather than
// std::uniform_int_distribution (whose algorithm differs between standard libraries), so a seed
// gives the same interval everywhere.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

#include "reports/stats.hpp"

namespace ctb::stats {
namespace {

// Uniform index in [0, n) without modulo bias.
std::size_t draw_index(std::mt19937_64& rng, std::size_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do x = rng();
    while (x >= limit);
    return std::size_t(x % n);
}

double resampled_median(const std::vector<double>& from, std::vector<double>& scratch, std::mt19937_64& rng) {
    scratch.resize(from.size());
    for (auto& x : scratch) x = from[draw_index(rng, from.size())];
    return median(std::move(scratch));
}

// Linear interpolation between order statistics (the "type 7" quantile numpy uses by default).
double quantile(const std::vector<double>& sorted, double q) {
    double pos = q * double(sorted.size() - 1);
    std::size_t lo = std::size_t(std::floor(pos));
    std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

RatioInterval bootstrap_median_ratio(const std::vector<double>& a, const std::vector<double>& b, double level,
                                     int resamples, unsigned long long seed) {
    RatioInterval out;
    out.level = level;
    if (a.empty() || b.empty() || resamples < 1) return out;
    double base = median(a);
    out.ratio = base != 0 ? median(b) / base : 0;
    std::mt19937_64 rng(seed);
    std::vector<double> ratios, scratch;
    ratios.reserve(std::size_t(resamples));
    for (int i = 0; i < resamples; ++i) {
        double ma = resampled_median(a, scratch, rng);
        double mb = resampled_median(b, scratch, rng);
        if (ma != 0) ratios.push_back(mb / ma);
    }
    if (ratios.empty()) return out;
    std::sort(ratios.begin(), ratios.end());
    out.low = quantile(ratios, (1 - level) / 2);
    out.high = quantile(ratios, 1 - (1 - level) / 2);
    out.resamples = int(ratios.size());
    return out;
}

}  // namespace ctb::stats
