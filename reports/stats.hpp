// Statistics for benchmark samples. The median's confidence interval is distribution-free
// (order statistics of the binomial(n, 1/2)), because latency samples are rarely normal.
#pragma once

#include <cstddef>
#include <vector>

namespace ctb::stats {

double median(std::vector<double> samples);

struct Interval {
    double low = 0, high = 0;
    double coverage = 0;  // the interval's actual coverage (>= the requested level when n allows)
};

// Smallest symmetric order-statistic interval [x(j), x(n-1-j)] covering the median with at least
// `level` probability. With too few samples it returns [min, max] and the coverage it has.
Interval median_interval(std::vector<double> samples, double level = 0.95);

}  // namespace ctb::stats

namespace ctb::stats {

// Mann-Whitney U test (two-sided), as Google Benchmark's compare.py runs it through SciPy's
// mannwhitneyu: U of the first sample from mid-ranks, p from the normal approximation with the
// tie correction of the variance and a continuity correction of 0.5 (reports/mannwhitney.cpp).
struct UTest {
    double u1 = 0;      // U statistic of the first sample (pairs in which it is larger, ties count 1/2)
    double u2 = 0;      // n1 * n2 - u1
    double z = 0;       // standardised max(u1, u2), after the continuity correction
    double p_value = 1; // two-sided
};

// Requires both samples non-empty. Identical samples (zero variance) give p = 1.
UTest mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b);

// compare.py warns below this many repetitions per side: the normal approximation is poor.
inline constexpr std::size_t kMinUTestSamples = 9;

// Percentile bootstrap of median(b) / median(a): each resample draws both samples with
// replacement. A fixed seed makes the interval a function of the inputs (reports/bootstrap.cpp).
struct RatioInterval {
    double ratio = 0;  // median(b) / median(a) of the samples themselves
    double low = 0, high = 0;
    double level = 0.95;
    int resamples = 0;
};

inline constexpr unsigned long long kBootstrapSeed = 0x63746265ull;  // "ctbe"

RatioInterval bootstrap_median_ratio(const std::vector<double>& a, const std::vector<double>& b,
                                     double level = 0.95, int resamples = 2000,
                                     unsigned long long seed = kBootstrapSeed);

}  // namespace ctb::stats

namespace ctb::stats {

// Shape of one series' samples beyond its median: how spread they are, which ones stand out, and
// whether the first one was a warm-up. Flags are warnings for the reader, never a verdict.
struct SampleShape {
    double mean = 0;
    double cv = 0;   // coefficient of variation: sample standard deviation / mean (0 when mean is 0)
    double mad = 0;  // median absolute deviation (unscaled)
    // Indices of samples whose modified z-score |0.6745 (x - median) / MAD| exceeds
    // kOutlierZ (Iglewicz and Hoaglin; hyperfine flags outliers the same way).
    std::vector<std::size_t> outliers;
    // First sample / median of the others: a cold cache, a lazy binding, a first page fault.
    double first_sample_ratio = 1;
    bool warmup_effect = false;  // the first sample is itself an outlier
};

inline constexpr double kOutlierZ = 3.5;

// Needs at least one sample; with fewer than 3 only mean and cv are meaningful.
SampleShape describe(const std::vector<double>& samples);

}  // namespace ctb::stats
