#include "benches/harness/measure.hpp"

#include <benchmark/benchmark.h>

namespace ctb::bench {
namespace {

// Collects every repetition's real time instead of printing.
class Collector : public benchmark::BenchmarkReporter {
public:
    std::vector<double> samples_ms;
    bool ReportContext(const Context&) override { return true; }
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& r : runs)
            if (r.run_type == Run::RT_Iteration && !r.error_occurred)
                samples_ms.push_back(r.real_accumulated_time * 1e3 / double(r.iterations));
    }
};

}  // namespace

Result<std::vector<double>> measure_ms(const std::string& name, const Body& body, int repetitions, int warmup,
                                       const SampleHooks& hooks) {
    for (int i = 0; i < warmup; ++i)
        if (auto s = body(); !s) return fail(s.error());
    std::optional<Error> failure;
    int index_counter = 0;
    benchmark::ClearRegisteredBenchmarks();
    benchmark::RegisterBenchmark(name.c_str(), [&](benchmark::State& state) {
        for (auto _ : state) {
            if (failure) continue;
            int index = index_counter++;
            auto hook = [&](const std::function<Status(int)>& h) {
                if (!h || failure) return;
                state.PauseTiming();
                if (auto s = h(index); !s) failure = s.error();
                state.ResumeTiming();
            };
            hook(hooks.before);
            if (failure) {
                state.SkipWithError(failure->message().c_str());
                continue;
            }
            if (auto s = body(); !s) failure = s.error();
            hook(hooks.after);
            if (failure) state.SkipWithError(failure->message().c_str());
        }
    })->Iterations(1)->Repetitions(repetitions)->UseRealTime()->ReportAggregatesOnly(false);
    Collector collector;
    benchmark::RunSpecifiedBenchmarks(&collector);
    benchmark::ClearRegisteredBenchmarks();
    if (failure) return fail(*failure);
    return collector.samples_ms;
}

report::BenchResult make_result(const std::string& name, std::vector<double> samples_ms, nlohmann::json context) {
    report::BenchResult r;
    r.name = name;
    r.unit = "ms";
    r.samples = std::move(samples_ms);
    r.context = std::move(context);
    report::finalize(r);
    return r;
}

void set_ratio(report::BenchResult& subject, const report::BenchResult& baseline) {
    subject.baseline = baseline.name;
    if (baseline.median > 0) subject.ratio = subject.median / baseline.median;
}

}  // namespace ctb::bench
