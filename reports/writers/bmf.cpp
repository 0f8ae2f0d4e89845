// Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format/):
// {"<benchmark>": {"<measure>": {"value", "lower_value", "upper_value"}}}. Times go out as the
// `latency` measure in nanoseconds, rates as `throughput`; anything else as a measure named after
// its unit. lower/upper are the median's confidence interval from the report.
#include <cctype>

#include "reports/writers.hpp"

namespace ctb::report {
namespace {

// Nanoseconds per unit for time units, 0 for everything else.
double to_ns(const std::string& unit) {
    if (unit == "ns") return 1;
    if (unit == "us" || unit == "µs") return 1e3;
    if (unit == "ms") return 1e6;
    if (unit == "s") return 1e9;
    return 0;
}

std::string measure_slug(const std::string& unit) {
    if (to_ns(unit) > 0) return "latency";
    if (unit.find("/s") != std::string::npos) return "throughput";
    std::string slug;
    for (char c : unit) slug += std::isalnum(static_cast<unsigned char>(c)) ? char(std::tolower(c)) : '-';
    return slug.empty() ? "value" : slug;
}

}  // namespace

std::string render_bmf(const Report& r) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& b : r.benchmarks) {
        double scale = to_ns(b.unit) > 0 ? to_ns(b.unit) : 1;
        out[b.name][measure_slug(b.unit)] = {
            {"value", b.median * scale}, {"lower_value", b.ci.low * scale}, {"upper_value", b.ci.high * scale}};
    }
    return out.dump(2) + "\n";
}

}  // namespace ctb::report
