// The HTML report: one self-contained page (inline CSS, script and SVG; nothing fetched) with the
// run summary, the host, the conformance table by area (skip reasons inline, evidence behind
// <details>), benchmark charts and tables, the phase breakdown when traces exist, and for two
// runs a comparison view on top of the candidate's report.
#include <fmt/format.h>

#include <map>

#include "reports/compare.hpp"
#include "reports/writers.hpp"
#include "reports/writers/html.hpp"

namespace ctb::report {
namespace {

using html::escape;
using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); }

std::string head(const std::string& title) {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
           "script-src 'unsafe-inline'; img-src data:\">\n<title>" +
           escape(title) + "</title>\n" + html::style() + "</head>\n<body>\n";
}

std::string run_summary(const Report& r) {
    Summary s = r.summary();
    std::string out = fmt::format("<h1>ctbench report: {} on {}</h1>\n", escape(r.run.suite), escape(r.run.hostname));
    out += fmt::format("<p>{} to {}, ctbench {} ({}), runtime <b>{}</b> {}, kernel {}, cgroups {}</p>\n",
                       escape(r.run.started_at), escape(r.run.finished_at), escape(r.run.ctbench_version),
                       escape(r.run.git_revision), escape(r.run.runtime.name), escape(r.run.runtime.version),
                       escape(r.run.kernel), escape(r.run.cgroup_mode));
    out += fmt::format("<p class=\"counts\"><span class=\"pass\">{} passed</span><span class=\"fail\">{} failed</span>"
                       "<span class=\"skip\">{} skipped</span><span class=\"error\">{} errors</span><span>{} benchmarks</span>"
                       "<span>{} benchmarks not run</span></p>\n",
                       s.pass, s.fail, s.skip, s.error, r.benchmarks.size(), r.benchmarks_not_run.size());
    return out;
}

std::string feature_rows(const std::string& group, const std::map<std::string, Feature>& features) {
    std::string out;
    for (const auto& [name, f] : features)
        out += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>\n", escape(group),
                           escape(name), f.available ? "pass" : "skip", f.available ? "yes" : "no", escape(f.detail));
    return out;
}

std::string host_section(const Report& r) {
    const HostProbe& h = r.run.host;
    std::string out = "<h2 id=\"host\">Host</h2>\n";
    out += fmt::format("<p>{} {}, {} CPUs, {:.1f} GiB, root: {}, cgroup mode {} (v2 at {})</p>\n", escape(h.kernel),
                       escape(h.arch), h.cpus, double(h.memory_bytes) / double(1ull << 30), h.root ? "yes" : "no",
                       escape(h.cgroups.mode), escape(h.cgroups.v2_mount));
    out += "<details><summary>Probed features</summary>\n<table><tr><th>group</th><th>feature</th><th>available</th><th>evidence or reason</th></tr>\n";
    out += feature_rows("namespace", h.namespaces) + feature_rows("overlay", h.overlay_features) +
           feature_rows("bpf program type", h.bpf_program_types) + feature_rows("network", h.network);
    for (const auto& c : h.cgroups.controllers)
        out += feature_rows("cgroup " + c.hierarchy, {{c.name, c.subtree}});
    for (const auto& t : h.tools) out += feature_rows("tool", {{t.name, t.present}});
    return out + "</table>\n</details>\n";
}

std::string case_row(const CaseResult& c) {
    std::string evidence = c.evidence.empty() ? ""
                                              : "<details><summary>evidence</summary><pre>" + escape(dump(c.evidence)) +
                                                    "</pre></details>";
    return fmt::format("<tr><td><code>{}</code></td><td class=\"{}\">{}</td><td>{}</td><td>{:.3f}</td><td>{}</td><td>{}</td></tr>\n",
                       escape(c.id), to_string(c.outcome), to_string(c.outcome), escape(c.reason), c.duration_seconds,
                       escape(c.reference), evidence);
}

std::string conformance_section(const Report& r) {
    if (r.conformance.empty()) return "";
    std::map<std::string, std::vector<const CaseResult*>> areas;
    for (const auto& c : r.conformance) areas[c.area].push_back(&c);
    std::string out = "<h2 id=\"conformance\">Conformance</h2>\n";
    for (const auto& [area, cases] : areas) {
        Summary s;
        for (const auto* c : cases) ++(c->outcome == Outcome::pass ? s.pass : c->outcome == Outcome::fail ? s.fail
                                       : c->outcome == Outcome::skip ? s.skip : s.error);
        out += fmt::format("<h3>{}: {} pass, {} fail, {} skip, {} error</h3>\n<table class=\"cases\"><tr><th>case</th>"
                           "<th>outcome</th><th>reason</th><th>seconds</th><th>reference</th><th></th></tr>\n",
                           escape(area), s.pass, s.fail, s.skip, s.error);
        for (const auto* c : cases) out += case_row(*c);
        out += "</table>\n";
    }
    return out;
}

std::string bench_section(const Report& r) {
    if (r.benchmarks.empty() && r.benchmarks_not_run.empty()) return "";
    std::string out = "<h2 id=\"benchmarks\">Benchmarks</h2>\n<div id=\"charts-bench\"></div>\n<div id=\"charts-phases\"></div>\n";
    out += "<table><tr><th>benchmark</th><th>median</th><th>CI</th><th>n</th><th>ratio</th><th>context</th></tr>\n";
    for (const auto& b : r.benchmarks)
        out += fmt::format("<tr><td><code>{}</code></td><td>{:.1f} {}</td><td>[{:.1f}, {:.1f}] ({:.1f}%)</td><td>{}</td>"
                           "<td>{}</td><td><details><summary>context</summary><pre>{}</pre></details></td></tr>\n",
                           escape(b.name), b.median, escape(b.unit), b.ci.low, b.ci.high, b.ci.level * 100,
                           b.samples.size(),
                           b.ratio ? fmt::format("{:.2f}x {}", *b.ratio, escape(b.baseline.value_or(""))) : "",
                           escape(dump(b.context)));
    out += "</table>\n";
    for (const auto& b : r.benchmarks_not_run)
        out += fmt::format("<p class=\"{}\">not run: <code>{}</code>: {}</p>\n", b.error ? "error" : "skip",
                           escape(b.name), escape(b.reason));
    return out;
}

std::string comparison_section(const Report& before, const Comparison& c) {
    std::string out = fmt::format("<h2 id=\"comparison\">Comparison: {} regression(s)</h2>\n", c.regressions());
    out += fmt::format("<p>baseline: {} on {} (kernel {}, runtime {}); candidate: the run this page describes</p>\n",
                       escape(before.run.started_at), escape(before.run.hostname), escape(before.run.kernel),
                       escape(before.run.runtime.name));
    out += fmt::format("<p>alpha {}, threshold {:.1f}%, bootstrap {} resamples (seed {})</p>\n", c.options.alpha,
                       c.options.threshold * 100, c.options.resamples, c.options.seed);
    for (const auto& w : c.context_warnings) out += "<p class=\"warn\">" + escape(w) + "</p>\n";
    out += "<div id=\"charts-compare\"></div>\n";
    if (!c.benchmarks.empty()) {
        out += "<table><tr><th>benchmark</th><th>baseline</th><th>candidate</th><th>change</th><th>CI of change</th>"
               "<th>p (U)</th><th>n</th><th>verdict</th></tr>\n";
        for (const auto& b : c.benchmarks) {
            std::string notes;
            for (const auto& w : b.warnings) notes += "<br><small>" + escape(w) + "</small>";
            out += fmt::format("<tr><td><code>{}</code></td><td>{:.1f} {}</td><td>{:.1f} {}</td><td>{:+.1f}%</td>"
                               "<td>[{:+.1f}%, {:+.1f}%]</td><td>{:.3g}</td><td>{}/{}</td><td class=\"{}\">{}{}</td></tr>\n",
                               escape(b.name), b.before, escape(b.unit), b.after, escape(b.unit), b.change * 100,
                               (b.ratio.low - 1) * 100, (b.ratio.high - 1) * 100, b.u.p_value, b.n_before, b.n_after,
                               to_string(b.verdict), to_string(b.verdict), notes);
        }
        out += "</table>\n";
    }
    if (!c.cases.empty()) {
        out += "<table><tr><th>case</th><th>baseline</th><th>candidate</th><th>change</th><th>reason</th></tr>\n";
        for (const auto& x : c.cases)
            out += fmt::format("<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>\n",
                               escape(x.id), to_string(x.before), to_string(x.after), x.regression() ? "regression" : "",
                               to_string(x.kind), escape(x.reason));
        out += "</table>\n";
    }
    auto list = [](const char* label, const std::vector<std::string>& a, const std::vector<std::string>& b) {
        std::string items;
        for (const auto* v : {&a, &b})
            for (const auto& id : *v) items += "<code>" + escape(id) + "</code> ";
        return items.empty() ? std::string() : fmt::format("<p>{}: {}</p>\n", label, items);
    };
    out += list("Only in the baseline", c.cases_only_before, c.benches_only_before);
    out += list("Only in the candidate", c.cases_only_after, c.benches_only_after);
    return out;
}

std::string page(const Report& r, const std::string& comparison, const json& compare_charts) {
    json data = {{"bench", html::bench_charts(r)}, {"phases", html::phase_charts(r)}, {"compare", compare_charts}};
    return head("ctbench " + r.run.suite + " on " + r.run.hostname) + run_summary(r) + comparison + host_section(r) +
           conformance_section(r) + bench_section(r) + html::data_block(data) + html::script() + "</body>\n</html>\n";
}

}  // namespace

std::string render_html(const Report& r) { return page(r, "", json::array()); }

std::string render_html_comparison(const Report& before, const Report& after) {
    auto c = compare(before, after);
    std::string view = c ? comparison_section(before, *c)
                         : "<h2 id=\"comparison\">Comparison</h2>\n<p class=\"warn\">" + escape(c.error().message()) + "</p>\n";
    return page(after, view, html::comparison_charts(before, after));
}

}  // namespace ctb::report
