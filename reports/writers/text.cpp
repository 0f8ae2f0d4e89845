// Human-readable outputs: the terminal summary (text) and the Markdown page.
#include <fmt/format.h>

#include <map>

#include "reports/writers.hpp"

namespace ctb::report {
namespace {

std::map<std::string, Summary> per_area(const Report& r) {
    std::map<std::string, Summary> areas;
    for (const auto& c : r.conformance) {
        Summary& s = areas[c.area];
        switch (c.outcome) {
            case Outcome::pass: ++s.pass; break;
            case Outcome::fail: ++s.fail; break;
            case Outcome::skip: ++s.skip; break;
            case Outcome::error: ++s.error; break;
        }
    }
    return areas;
}

// "1.52x [1.47, 1.58] crun": the ratio and, when known, its interval.
std::string ratio_text(const BenchResult& b) {
    if (!b.ratio) return "";
    std::string interval = b.ratio_ci ? fmt::format(" [{:.2f}, {:.2f}]", b.ratio_ci->low, b.ratio_ci->high) : "";
    return fmt::format("{:.2f}x{} {}", *b.ratio, interval, b.baseline.value_or(""));
}

std::string bench_line(const BenchResult& b) {
    std::string line = fmt::format("{:<44} median {:>12.1f} {:<6} [{:.1f}, {:.1f}] n={}", b.name, b.median, b.unit,
                                   b.ci.low, b.ci.high, b.samples.size());
    if (b.shape) line += fmt::format(" cv={:.1f}%", b.shape->cv * 100);
    if (b.ratio) line += "  " + ratio_text(b);
    if (b.fidelity)
        line += fmt::format("  ({:.2f}x {} {}: {})", b.fidelity->ratio, b.fidelity->tool, b.fidelity->tool_version,
                            b.fidelity->metric);
    // tcp_rr's second pair, both ends of each tool on one CPU (benches/veth/same_cpu.hpp).
    if (auto pinned = b.context.find("fidelity_same_cpu"); pinned != b.context.end() && pinned->is_object())
        line += fmt::format("\n    fidelity with both ends on CPU {}: {:.3f}x [{:.3f}, {:.3f}]", pinned->value("cpu", -1),
                            pinned->value("ratio", 0.0), pinned->value("ci_low", 0.0), pinned->value("ci_high", 0.0));
    for (const auto& w : b.warnings) line += "\n    warning: " + w;
    return line;
}

}  // namespace

std::string render_text(const Report& r) {
    std::string out = fmt::format("ctbench {} on {} ({}), runtime {}, cgroups {}\n", r.run.ctbench_version,
                                  r.run.hostname, r.run.kernel, r.run.runtime.name, r.run.cgroup_mode);
    if (r.run.guest)
        out += fmt::format("inside a VM guest ({}, {} CPUs, {} MiB) on host {} ({}): {}\n", r.run.guest->accel,
                           r.run.guest->cpus, r.run.guest->memory_mib, r.run.guest->host_hostname,
                           r.run.guest->host_kernel, r.run.guest->accel_note);
    if (!r.conformance.empty()) {
        out += fmt::format("\n{:<12} {:>5} {:>5} {:>5} {:>5}\n", "area", "pass", "fail", "skip", "error");
        for (const auto& [area, s] : per_area(r))
            out += fmt::format("{:<12} {:>5} {:>5} {:>5} {:>5}\n", area, s.pass, s.fail, s.skip, s.error);
        for (const auto& c : r.conformance)
            if (c.outcome != Outcome::pass)
                out += fmt::format("  {:<5} {}: {}\n", to_string(c.outcome), c.id, c.reason);
    }
    if (!r.benchmarks.empty()) {
        out += "\n";
        for (const auto& b : r.benchmarks) out += bench_line(b) + "\n";
        if (auto phases = render_phase_table(r); !phases.empty()) out += "\n" + phases;
        if (auto net = render_net_trace_table(r); !net.empty()) out += "\n" + net;
    }
    for (const auto& b : r.benchmarks_not_run)
        out += fmt::format("{} bench {}: {}\n", b.error ? "error" : "skip ", b.name, b.reason);
    Summary s = r.summary();
    out += fmt::format("\n{} passed, {} failed, {} skipped, {} errors, {} benchmarks\n", s.pass, s.fail, s.skip,
                       s.error, r.benchmarks.size());
    return out;
}

std::string render_markdown(const Report& r) {
    Summary s = r.summary();
    std::string out = fmt::format("# ctbench report\n\n{} on `{}`, kernel `{}`, runtime `{}`, cgroups {}.\n\n",
                                  r.run.started_at, r.run.hostname, r.run.kernel, r.run.runtime.name,
                                  r.run.cgroup_mode);
    out += fmt::format("**{} passed, {} failed, {} skipped, {} errors**\n\n", s.pass, s.fail, s.skip, s.error);
    if (!r.conformance.empty()) {
        out += "| case | outcome | reason |\n|---|---|---|\n";
        for (const auto& c : r.conformance)
            out += fmt::format("| `{}` | {} | {} |\n", c.id, to_string(c.outcome), c.reason);
    }
    if (!r.benchmarks.empty()) {
        out += "\n| benchmark | median | 95% CI | cv | ratio | fidelity |\n|---|---|---|---|---|---|\n";
        for (const auto& b : r.benchmarks)
            out += fmt::format("| `{}` | {:.1f} {} | [{:.1f}, {:.1f}] | {} | {} | {} |\n", b.name, b.median, b.unit,
                               b.ci.low, b.ci.high, b.shape ? fmt::format("{:.1f}%", b.shape->cv * 100) : "",
                               ratio_text(b),
                               b.fidelity ? fmt::format("{:.2f}x {}", b.fidelity->ratio, b.fidelity->tool) : "");
    }
    return out;
}

}  // namespace ctb::report
