// Sampling through Google Benchmark: each repetition runs the body once (Iterations(1)) and its
// wall time becomes one sample, so the report keeps every sample (for the median and its
// confidence interval) instead of Google Benchmark's own mean/stddev aggregates.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "reports/model.hpp"

namespace ctb::bench {

// The body returns an Error to abort the series (e.g. the runtime failed to start a container):
// a benchmark must never report timings of something that did not work.
using Body = std::function<Status()>;

// Runs `warmup` unrecorded calls, then `repetitions` timed ones. Samples in milliseconds.
Result<std::vector<double>> measure_ms(const std::string& name, const Body& body, int repetitions, int warmup = 2);

// The order of the bodies in round `round` (0-based, warm-up rounds included): rows of a Williams
// design, in an order that also balances the boundary between two rounds. Over every
// round_cycle(n) rounds each body runs right after every other body equally often, counting the
// first body of a round as running after the last body of the round before; each body also
// runs at every position of a round equally often.
std::vector<std::size_t> round_order(std::size_t n, std::size_t round);
std::size_t round_cycle(std::size_t n);

// Round-robin sampling of several series: each round takes one sample of every body, in the order
// round_order gives, so drift of the host (load, frequency, a neighbour's burst) falls on every
// series alike, and so does what a sample leaves behind for the next one (the kernel's deferred
// cleanup of a container: its network namespace, cgroups, mounts). A fixed neighbour biased the
// ratios: the library, always run right after the minimal container, measured 3-6 % slower
// against it than in the opposite order. `warmup` unrecorded rounds first. Returns samples in
// milliseconds, one vector per body; an error of any body aborts all.
Result<std::vector<std::vector<double>>> measure_round_robin(const std::vector<Body>& bodies, int repetitions,
                                                             int warmup = 1);

// Samples -> BenchResult (median, min, max, CI, sample shape and its warnings filled). The unit is
// "ms"; a bench measuring something else sets `unit` afterwards (the statistics do not depend on it).
// The context gains `host_noise` (CPU governor, load, CPUs) unless the bench recorded its own.
report::BenchResult make_result(const std::string& name, std::vector<double> samples_ms, nlohmann::json context);

// Sets ratio = median / baseline median on `subject`, with a bootstrap interval of that ratio
// (both series come from this run), and a warning when the subject's own interval is wider than
// the effect (or the ratio interval contains 1), naming frequency scaling or load when present.
void set_ratio(report::BenchResult& subject, const report::BenchResult& baseline);

// What may make figures noisy on this host right now.
nlohmann::json host_noise();
std::optional<std::string> noise_warning(const report::BenchResult& subject, const report::BenchResult& baseline);

}  // namespace ctb::bench
