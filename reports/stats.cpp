#include "reports/stats.hpp"

#include <algorithm>
#include <cmath>

namespace ctb::stats {
namespace {

// Coverage of [x(j), x(n-1-j)] (0-based order statistics): the median lies between them when
// B, the number of samples below it, is in [j+1, n-1-j], with B ~ binomial(n, 1/2).
double symmetric_coverage(std::size_t n, std::size_t j) {
    double total = 0;
    for (std::size_t k = j + 1; k + j + 1 <= n; ++k) {
        // log C(n, k) - n log 2, summed in log space to stay finite for large n
        double log_p = std::lgamma(double(n) + 1) - std::lgamma(double(k) + 1) - std::lgamma(double(n - k) + 1) -
                       double(n) * std::log(2.0);
        total += std::exp(log_p);
    }
    return total;
}

}  // namespace

double median(std::vector<double> samples) {
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    std::size_t n = samples.size();
    return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

Interval median_interval(std::vector<double> samples, double level) {
    if (samples.empty()) return {};
    std::sort(samples.begin(), samples.end());
    std::size_t n = samples.size();
    Interval best{samples.front(), samples.back(), symmetric_coverage(n, 0)};
    // Widen j (narrow the interval) while coverage stays at or above the requested level.
    for (std::size_t j = 1; 2 * j < n; ++j) {
        double c = symmetric_coverage(n, j);
        if (c < level) break;
        best = {samples[j], samples[n - 1 - j], c};
    }
    return best;
}

}  // namespace ctb::stats
