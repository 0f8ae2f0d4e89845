// Google Benchmark's JSON output (what `--benchmark_format=json` writes), so that Google
// Benchmark's own tools/compare.py and github-action-benchmark's `googlecpp` reader take ctbench
// results. Every sample becomes one "iteration" entry (repetition_index 0..n-1), which is what
// compare.py's U test needs. Only time-unit benchmarks fit this format; the others are named in
// context.ctbench_omitted. ctbench measures wall-clock time only, so cpu_time repeats real_time
// (context.ctbench_cpu_time says so).
#include <fmt/format.h>

#include "reports/writers.hpp"

namespace ctb::report {
namespace {

using json = nlohmann::json;

// Google Benchmark's time units; "" when the unit is not a time.
std::string gbench_time_unit(const std::string& unit) {
    if (unit == "ns" || unit == "ms" || unit == "s") return unit;
    if (unit == "us" || unit == "µs") return "us";
    return "";
}

json gbench_context(const Report& r) {
    return {{"date", r.run.started_at},
            {"host_name", r.run.hostname},
            {"executable", "ctbench"},
            {"num_cpus", r.run.host.cpus},
            {"mhz_per_cpu", 0},
            {"cpu_scaling_enabled", false},
            {"caches", json::array()},
            {"load_avg", json::array()},
            {"library_build_type", "release"},
            {"ctbench_version", r.run.ctbench_version},
            {"ctbench_kernel", r.run.kernel},
            {"ctbench_runtime", r.run.runtime.name},
            {"ctbench_cpu_time", "not measured: cpu_time repeats real_time"}};
}

}  // namespace

std::string render_gbench(const Report& r) {
    json benches = json::array(), omitted = json::array();
    int family = 0;
    for (const auto& b : r.benchmarks) {
        std::string unit = gbench_time_unit(b.unit);
        if (unit.empty()) {
            omitted.push_back(fmt::format("{} (unit {})", b.name, b.unit));
            continue;
        }
        for (std::size_t i = 0; i < b.samples.size(); ++i)
            benches.push_back({{"name", b.name},
                               {"family_index", family},
                               {"per_family_instance_index", 0},
                               {"run_name", b.name},
                               {"run_type", "iteration"},
                               {"repetitions", b.samples.size()},
                               {"repetition_index", i},
                               {"threads", 1},
                               {"iterations", 1},
                               {"real_time", b.samples[i]},
                               {"cpu_time", b.samples[i]},
                               {"time_unit", unit}});
        ++family;
    }
    json context = gbench_context(r);
    context["ctbench_omitted"] = omitted;
    return json{{"context", context}, {"benchmarks", benches}}.dump(2) + "\n";
}

}  // namespace ctb::report
