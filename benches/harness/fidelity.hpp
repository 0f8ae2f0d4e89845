// Fidelity of a ctbench engine against an external tool (fio, iperf3, sockperf) measured in the
// same run, round by round: in round i the engine and the tool each take one sample of the same
// path with the same load, one right after the other (their order alternating), so a burst of host
// load lasting longer than a round lands on both members of the pair. The fidelity ratio is the
// median of the per-round ratios ours_i / theirs_i, with the distribution-free interval of that
// median (reports/stats.hpp). Comparing a median of engine samples with a median of tool samples
// taken minutes apart let host drift decide the ratio (0.5x to 2x here on a loaded 2-core VM).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ctb::bench {

struct PairedRatio {
    double ratio = 0;            // median of the per-round ratios
    double low = 0, high = 0;    // its interval (order statistics of the ratios)
    double coverage = 0;         // the interval's actual coverage
    std::vector<double> per_round;  // ours_i / theirs_i in round order
};

// Needs as many samples of each side as there were rounds (>= 1), all positive and finite; an
// Error names the side and the round otherwise (a zero is a broken run, never a ratio).
Result<PairedRatio> paired_ratio(const std::vector<double>& ours, const std::vector<double>& theirs,
                                 double level = 0.95);

// The targets: a throughput at least 0.95x the tool's, a latency within 5 % of it.
struct FidelityTarget {
    bool latency = false;
    bool met(double ratio) const;
    std::string describe() const;  // ">= 0.95x" or "within 5 %"
};

// `context.fidelity_rounds` of the series carrying the figure: the rounds, the per-round ratios,
// the median's interval, the target and whether the median meets it and whether the whole
// interval does (a median inside the target with an interval reaching outside it is not resolved
// on this host at this load).
nlohmann::json fidelity_rounds_context(const PairedRatio& r, const FidelityTarget& t);

}  // namespace ctb::bench
