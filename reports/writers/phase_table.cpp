// The start tracer's phase breakdown of several series side by side (phase x series), for the
// text summary of `ctbench run` and for `ctbench trace`.
#include <fmt/format.h>

#include "reports/writers.hpp"

namespace ctb::report {
namespace {

// Phase names in the order the tracer reports them (the first series that has a trace decides).
std::vector<std::string> phase_order(const std::vector<std::pair<std::string, nlohmann::json>>& series) {
    std::vector<std::string> names;
    for (const auto& [_, trace] : series)
        for (const auto& row : trace.value("phases", nlohmann::json::array()))
            if (std::find(names.begin(), names.end(), row.value("name", "")) == names.end())
                names.push_back(row.value("name", ""));
    return names;
}

std::pair<double, double> phase_ms(const nlohmann::json& trace, const std::string& phase) {
    for (const auto& row : trace.value("phases", nlohmann::json::array()))
        if (row.value("name", "") == phase) return {row.value("on_cpu_ms", 0.0), row.value("blocked_ms", 0.0)};
    return {0, 0};
}

}  // namespace

std::string render_phase_table(const std::vector<std::pair<std::string, nlohmann::json>>& series) {
    if (series.empty()) return {};
    std::string out = fmt::format("{:<17}", "phase (ms)");
    for (const auto& [title, _] : series) out += fmt::format(" {:>19}", title.substr(0, 19));
    out += "\n";
    for (const auto& phase : phase_order(series)) {
        std::string line = fmt::format("{:<17}", phase);
        bool any = false;
        for (const auto& [_, trace] : series) {
            auto [on, off] = phase_ms(trace, phase);
            any = any || on + off >= 0.0005;
            line += fmt::format(" {:>19}", fmt::format("{:.3f} +{:.3f} off", on, off));
        }
        if (any) out += line + "\n";
    }
    std::string line = fmt::format("{:<17}", "unattributed");
    for (const auto& [_, trace] : series)
        line += fmt::format(" {:>19}", fmt::format("{:.1f} %", 100 * trace.value("unattributed_share", 0.0)));
    out += line + "\n";
    line = fmt::format("{:<17}", "tracer overhead");
    for (const auto& [_, trace] : series) line += fmt::format(" {:>19}", fmt::format("x{:.3f}", trace.value("overhead_ratio", 0.0)));
    return out + line + "\n";
}

std::string render_phase_table(const Report& r) {
    std::vector<std::pair<std::string, nlohmann::json>> series;
    for (const auto& b : r.benchmarks)
        // Only the start tracer's traces have phases (I/O and network traces have their own tables).
        if (b.trace.is_object() && b.trace.contains("phases"))
            series.emplace_back(b.name.substr(b.name.find('/') + 1), b.trace);
    if (series.empty()) return {};
    return "start phases, medians (on-CPU + blocked), tracer " +
           series.front().second["tracer"].value("program_type", "?") + ":\n" + render_phase_table(series);
}

}  // namespace ctb::report
