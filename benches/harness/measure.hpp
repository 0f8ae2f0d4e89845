// Sampling through Google Benchmark: each repetition runs the body once (Iterations(1)) and its
// wall time becomes one sample, so the report keeps every sample (for the median and its
// confidence interval) instead of Google Benchmark's own mean/stddev aggregates.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "reports/model.hpp"

namespace ctb::bench {

// The body returns an Error to abort the series (e.g. the runtime failed to start a container):
// a benchmark must never report timings of something that did not work.
using Body = std::function<Status()>;

// Called around each timed repetition (index 0..repetitions-1) with the clock paused: tracers
// are attached, detached and drained here, outside what is measured.
struct SampleHooks {
    std::function<Status(int)> before, after;
};

// Runs `warmup` unrecorded calls, then `repetitions` timed ones. Samples in milliseconds.
Result<std::vector<double>> measure_ms(const std::string& name, const Body& body, int repetitions, int warmup = 2,
                                       const SampleHooks& hooks = {});

// Samples -> BenchResult (median, min, max, CI filled).
report::BenchResult make_result(const std::string& name, std::vector<double> samples_ms, nlohmann::json context);

// Sets ratio = median / baseline median on `subject`.
void set_ratio(report::BenchResult& subject, const report::BenchResult& baseline);

}  // namespace ctb::bench
