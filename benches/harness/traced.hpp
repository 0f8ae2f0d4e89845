// Benchmarks under the start tracer. A traced series alternates: even repetitions run with the
// tracer detached, odd ones with it attached (their event streams are attributed to phases,
// bpf/attribution.hpp). The medians of the two halves give the tracer's overhead ratio, measured
// in the same run as everything else. A sample is timed at the same instants as its trace window.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benches/harness/measure.hpp"
#include "bpf/ksyms.hpp"
#include "bpf/start_tracer.hpp"
#include "reports/host_probe.hpp"

namespace ctb::bench {

// The start tracer for a bench, or why there is none (recorded in every figure's context).
struct Tracing {
    std::unique_ptr<bpf::StartTracer> tracer;
    bpf::KernelSymbols symbols;
    std::string off_reason;  // "" when tracer is set

    static Tracing open(const report::HostProbe& host);
    // "tp_btf" / "raw_tp", or "off: <reason>".
    std::string label() const;
};

struct TracedSamples {
    std::vector<double> untraced_ms;  // the series' figure
    std::vector<double> traced_ms;    // samples whose windows were attributed
    nlohmann::json trace;             // TraceSeries::summary + overhead_ratio; null when untraced
};

// `repetitions` untraced samples, plus as many traced ones when `tracing` has a tracer. The
// tracer follows the calling thread (the bench child), the tasks in `also_follow` (a helper the
// body asks for the work, started before) and every task they create.
Result<TracedSamples> measure_traced(const std::string& name, const Body& body, int repetitions, Tracing& tracing,
                                     const std::vector<pid_t>& also_follow = {});

}  // namespace ctb::bench
