// Statistics for benchmark samples. The median's confidence interval is distribution-free
// (order statistics of the binomial(n, 1/2)), because latency samples are rarely normal.
#pragma once

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
