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

namespace ctb::stats {
namespace {

double mean_of(const std::vector<double>& xs) {
    double sum = 0;
    for (double x : xs) sum += x;
    return xs.empty() ? 0 : sum / double(xs.size());
}

double sample_stddev(const std::vector<double>& xs, double mean) {
    if (xs.size() < 2) return 0;
    double ss = 0;
    for (double x : xs) ss += (x - mean) * (x - mean);
    return std::sqrt(ss / double(xs.size() - 1));
}

double median_absolute_deviation(const std::vector<double>& xs, double med) {
    std::vector<double> dev;
    dev.reserve(xs.size());
    for (double x : xs) dev.push_back(std::fabs(x - med));
    return median(std::move(dev));
}

}  // namespace

SampleShape describe(const std::vector<double>& samples) {
    SampleShape s;
    s.mean = mean_of(samples);
    if (s.mean != 0) s.cv = sample_stddev(samples, s.mean) / std::fabs(s.mean);
    if (samples.size() < 3) return s;
    double med = median(samples);
    s.mad = median_absolute_deviation(samples, med);
    // With MAD = 0 (more than half the samples equal) every differing sample would have an
    // infinite score; then nothing is flagged rather than everything.
    if (s.mad > 0)
        for (std::size_t i = 0; i < samples.size(); ++i)
            if (std::fabs(0.6745 * (samples[i] - med) / s.mad) > kOutlierZ) s.outliers.push_back(i);
    double rest = median(std::vector<double>(samples.begin() + 1, samples.end()));
    if (rest != 0) s.first_sample_ratio = samples.front() / rest;
    s.warmup_effect = !s.outliers.empty() && s.outliers.front() == 0;
    return s;
}

}  // namespace ctb::stats
