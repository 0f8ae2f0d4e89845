// The start attribution of a whole series (one Attribution per sample) as the report carries it:
// `trace.phases` ({name, on_cpu_ms, blocked_ms, share, top_wait}, medians over the samples),
// `trace.unattributed_share`, `trace.tracer` (program kind, events seen and lost), and the
// consistency check `trace.sum_error` (how far the buckets of a sample are from its wall time).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bpf/attribution.hpp"

namespace ctb::bpf {

class TraceSeries {
public:
    // Names a kernel stack id ("synchronize_rcu < ..."); called once per id and sample.
    using StackLabel = std::function<std::string(int)>;

    // `wall_ms`: the sample's time as the benchmark measured it; sum_error checks the buckets
    // against it (measure_traced times a sample at its window's bounds, so there it is exact).
    void add(const Attribution& a, double wall_ms, const StackLabel& label);
    std::size_t samples() const { return samples_.size(); }

    // `tracer`: {"program_type", "events_seen", "events_lost"} of the tracer that recorded it.
    nlohmann::json summary(nlohmann::json tracer) const;

private:
    struct Sample {
        std::map<Phase, Bucket> phases;
        double unattributed_ns = 0, window_ns = 0, wall_ns = 0;
        std::map<std::string, double> namespace_ops;
        std::map<std::string, double> blocked_reasons;
        std::map<std::string, double> runtime_calls;
    };
    std::vector<Sample> samples_;
    std::map<Phase, std::map<std::string, double>> waits_;  // phase -> blocking point -> ns (all samples)
};

}  // namespace ctb::bpf
