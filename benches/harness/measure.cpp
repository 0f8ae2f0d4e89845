#include "benches/harness/measure.hpp"

#include <unistd.h>

#include <algorithm>
#include <benchmark/benchmark.h>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

#include "common/files.hpp"
#include "reports/stats.hpp"

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

Result<std::vector<double>> measure_ms(const std::string& name, const Body& body, int repetitions, int warmup) {
    for (int i = 0; i < warmup; ++i)
        if (auto s = body(); !s) return fail(s.error());
    std::optional<Error> failure;
    benchmark::ClearRegisteredBenchmarks();
    benchmark::RegisterBenchmark(name.c_str(), [&](benchmark::State& state) {
        for (auto _ : state) {
            if (failure) continue;
            if (auto s = body(); !s) failure = s.error();
            if (failure) state.SkipWithError(failure->message().c_str());
        }
    })->Iterations(1)->Repetitions(repetitions)->UseRealTime()->ReportAggregatesOnly(false);
    Collector collector;
    benchmark::RunSpecifiedBenchmarks(&collector);
    benchmark::ClearRegisteredBenchmarks();
    if (failure) return fail(*failure);
    return collector.samples_ms;
}

namespace {

// Row `row` of the Williams design. The first row interleaves from both ends: 0, 1, n-1, 2, n-2,
// ... Its successive differences are all distinct mod n, so shifting it by r = 0..n-1 puts every
// ordered pair side by side once when n is even; for odd n the mirrored rows (the second n)
// supply the missing half.
std::vector<std::size_t> williams_row(std::size_t n, std::size_t row) {
    std::vector<std::size_t> order(n);
    const std::size_t shift = row % n;
    for (std::size_t j = 0, low = 0, high = n; j < n; ++j)
        order[j] = ((j == 0 || j % 2 == 1 ? low++ : --high) + shift) % n;
    if (row >= n) std::reverse(order.begin(), order.end());
    return order;
}

std::size_t williams_rows(std::size_t n) { return n % 2 == 0 ? n : 2 * n; }

// The sequence of rows, one per round. The rows balance who runs after whom inside a round, but
// the first body of a round runs after the last one of the round before: cycling the rows in
// order gave that boundary always the same difference, so in the start bench (six series) the
// library ran after crun 14 times in 40 rounds and after every other series about 7 times. Here
// the rows follow an Eulerian circuit of the graph "row i may precede row j unless the last
// body of i is the first of j": every row then precedes each such row once per circuit, and
// over a whole circuit every body runs right after every other one equally often, boundaries
// included (n (n-1) rounds for even n, 2n (2n-2) for odd n). With two bodies or fewer the graph
// falls apart and the rows simply cycle.
std::vector<std::size_t> row_sequence(std::size_t n) {
    const std::size_t rows = williams_rows(n);
    std::vector<std::vector<std::size_t>> next(rows);  // unused edges, taken from the back
    std::size_t edges = 0;
    for (std::size_t i = 0; i < rows; ++i) {
        std::size_t last = williams_row(n, i).back();
        for (std::size_t j = rows; j-- > 0;)
            if (williams_row(n, j).front() != last) next[i].push_back(j), ++edges;
    }
    // Hierholzer: walk unused edges until stuck, then back up and splice in the detours.
    std::vector<std::size_t> circuit, stack{0};
    while (!stack.empty()) {
        std::size_t at = stack.back();
        if (next[at].empty()) {
            circuit.push_back(at);
            stack.pop_back();
        } else {
            stack.push_back(next[at].back());
            next[at].pop_back();
        }
    }
    std::reverse(circuit.begin(), circuit.end());
    circuit.pop_back();  // it ends where it began: the cycle repeats from its start
    if (edges == 0 || circuit.size() != edges) {
        circuit.resize(rows);
        for (std::size_t i = 0; i < rows; ++i) circuit[i] = i;
    }
    return circuit;
}

}  // namespace

std::size_t round_cycle(std::size_t n) { return n == 0 ? 0 : row_sequence(n).size(); }

std::vector<std::size_t> round_order(std::size_t n, std::size_t round) {
    if (n == 0) return {};
    auto rows = row_sequence(n);
    return williams_row(n, rows[round % rows.size()]);
}

Result<std::vector<std::vector<double>>> measure_round_robin(const std::vector<Body>& bodies, int repetitions,
                                                             int warmup) {
    std::vector<std::vector<double>> samples(bodies.size());
    std::size_t n = bodies.size();
    const auto rows = n == 0 ? std::vector<std::size_t>{} : row_sequence(n);
    for (int round = -warmup; round < repetitions && n > 0; ++round) {
        for (std::size_t i : williams_row(n, rows[static_cast<std::size_t>(round + warmup) % rows.size()])) {
            auto start = std::chrono::steady_clock::now();
            if (auto s = bodies[i](); !s) return fail(s.error());
            double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            if (round >= 0) samples[i].push_back(ms);
        }
    }
    return samples;
}

report::BenchResult make_result(const std::string& name, std::vector<double> samples_ms, nlohmann::json context) {
    report::BenchResult r;
    r.name = name;
    r.unit = "ms";
    r.samples = std::move(samples_ms);
    r.context = std::move(context);
    if (r.context.is_object() && !r.context.contains("host_noise")) r.context["host_noise"] = host_noise();
    report::finalize(r);
    return r;
}

void set_ratio(report::BenchResult& subject, const report::BenchResult& baseline) {
    subject.baseline = baseline.name;
    if (baseline.median <= 0 || subject.samples.empty() || baseline.samples.empty()) return;
    subject.ratio = subject.median / baseline.median;
    auto interval = stats::bootstrap_median_ratio(baseline.samples, subject.samples, 0.95);
    subject.ratio_ci = report::ConfidenceInterval{interval.low, interval.high, interval.level};
    if (auto w = noise_warning(subject, baseline)) subject.warnings.push_back(*w);
}

namespace {

// What an idle CPU does, which sets what a wake-up costs: in a guest, haltpoll with
// guest_halt_poll_ns 0 (as here) halts an idle vCPU at once, so every wake-up is an exit to the
// hypervisor; a start sample that follows idle time took 12-27 % longer than one that follows work.
std::string cpu_idle() {
    const std::string dir = "/sys/devices/system/cpu/cpuidle/";
    auto driver = read_file(dir + "current_driver");
    if (!driver) return "none (no cpuidle: the default idle loop)";
    std::string out = trim(*driver);
    auto governor = read_file(dir + "current_governor");
    if (!governor) governor = read_file(dir + "current_governor_ro");
    if (governor) out += ", governor " + trim(*governor);
    if (auto poll = read_file("/sys/module/haltpoll/parameters/guest_halt_poll_ns"))
        out += ", guest_halt_poll_ns " + trim(*poll);
    return out;
}

}  // namespace

nlohmann::json host_noise() {
    nlohmann::json j;
    auto governor = read_file("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
    j["cpu_governor"] = governor ? trim(*governor) : "none (no cpufreq: frequency set by the host or hypervisor)";
    j["cpu_idle"] = cpu_idle();
    if (auto load = read_file("/proc/loadavg")) j["loadavg_1m"] = std::atof(load->c_str());
    j["cpus"] = ::sysconf(_SC_NPROCESSORS_ONLN);
    return j;
}

std::optional<std::string> noise_warning(const report::BenchResult& subject, const report::BenchResult& baseline) {
    if (!subject.ratio || !subject.ratio_ci || subject.median <= 0) return std::nullopt;
    double effect = std::fabs(*subject.ratio - 1);
    double half_width = (subject.ci.high - subject.ci.low) / 2 / subject.median;
    bool unresolved = subject.ratio_ci->low <= 1 && subject.ratio_ci->high >= 1;
    if (half_width <= effect && !unresolved) return std::nullopt;
    std::string why;
    const auto& noise = subject.context.value("host_noise", nlohmann::json::object());
    if (auto g = noise.value("cpu_governor", std::string()); !g.empty() && g != "performance" && !g.starts_with("none"))
        why += fmt::format("; CPU frequency scaling is on (governor {})", g);
    double load = noise.value("loadavg_1m", 0.0);
    long cpus = noise.value("cpus", 0L);
    if (cpus > 0 && load > double(cpus)) why += fmt::format("; the host was busy (load {:.1f} on {} CPUs)", load, cpus);
    return fmt::format("the median's interval (+/-{:.1f} %) is wider than the effect against {} ({:+.1f} %, ratio "
                       "interval {:.3f}..{:.3f}): the difference is not resolved{}",
                       half_width * 100, baseline.name, (*subject.ratio - 1) * 100, subject.ratio_ci->low,
                       subject.ratio_ci->high, why);
}

}  // namespace ctb::bench
