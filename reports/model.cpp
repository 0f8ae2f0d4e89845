#include "reports/model.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "reports/stats.hpp"
#include "reports/validate.hpp"

namespace ctb::report {
namespace {

using json = nlohmann::json;

json runtime_json(const RuntimeUnderTest& r) {
    return {{"name", r.name}, {"path", r.path}, {"version", r.version}};
}

json guest_json(const GuestRunInfo& g) {
    return {{"accel", g.accel},
            {"accel_note", g.accel_note},
            {"kernel_image", g.kernel_image},
            {"initrd", g.initrd},
            {"guest_kernel", g.guest_kernel},
            {"host_kernel", g.host_kernel},
            {"host_hostname", g.host_hostname},
            {"cpus", g.cpus},
            {"memory_mib", g.memory_mib},
            {"boot_seconds", g.boot_seconds},
            {"total_seconds", g.total_seconds},
            {"guest_exit", g.guest_exit},
            {"scratch", g.scratch}};
}

GuestRunInfo guest_from_json(const json& j) {
    GuestRunInfo g;
    j.at("accel").get_to(g.accel);
    j.at("accel_note").get_to(g.accel_note);
    j.at("kernel_image").get_to(g.kernel_image);
    j.at("initrd").get_to(g.initrd);
    j.at("guest_kernel").get_to(g.guest_kernel);
    j.at("host_kernel").get_to(g.host_kernel);
    j.at("host_hostname").get_to(g.host_hostname);
    j.at("cpus").get_to(g.cpus);
    j.at("memory_mib").get_to(g.memory_mib);
    j.at("boot_seconds").get_to(g.boot_seconds);
    j.at("total_seconds").get_to(g.total_seconds);
    j.at("guest_exit").get_to(g.guest_exit);
    g.scratch = j.value("scratch", "");  // absent in reports written before the scratch disk
    return g;
}

json run_json(const RunMetadata& m) {
    json j = {{"ctbench_version", m.ctbench_version}, {"git_revision", m.git_revision},
            {"hostname", m.hostname},               {"kernel", m.kernel},
            {"cgroup_mode", m.cgroup_mode},         {"runtime", runtime_json(m.runtime)},
            {"suite", m.suite},                     {"started_at", m.started_at},
            {"finished_at", m.finished_at},         {"command_line", m.command_line},
            {"host", m.host}};
    if (m.guest) j["guest"] = guest_json(*m.guest);
    return j;
}

json shape_json(const stats::SampleShape& s) {
    return {{"mean", s.mean}, {"cv", s.cv}, {"mad", s.mad}, {"outliers", s.outliers},
            {"first_sample_ratio", s.first_sample_ratio}, {"warmup_effect", s.warmup_effect}};
}

stats::SampleShape shape_from_json(const json& j) {
    stats::SampleShape s;
    j.at("mean").get_to(s.mean);
    j.at("cv").get_to(s.cv);
    j.at("mad").get_to(s.mad);
    j.at("outliers").get_to(s.outliers);
    j.at("first_sample_ratio").get_to(s.first_sample_ratio);
    j.at("warmup_effect").get_to(s.warmup_effect);
    return s;
}

// Warnings a reader should see next to the figure; none of them changes a verdict.
std::vector<std::string> shape_warnings(const stats::SampleShape& s, std::size_t n) {
    std::vector<std::string> w;
    if (s.warmup_effect)
        w.push_back(fmt::format("first sample {:.2f}x the others' median: a warm-up effect (cold cache, first "
                                "page faults); consider more warm-up runs",
                                s.first_sample_ratio));
    std::size_t others = s.outliers.size() - (s.warmup_effect ? 1 : 0);
    if (others > 0)
        w.push_back(fmt::format("{} of {} samples are outliers (modified z-score > {}): interference from "
                                "other processes or the host",
                                others, n, stats::kOutlierZ));
    return w;
}

json case_json(const CaseResult& c) {
    return {{"id", c.id},
            {"area", c.area},
            {"outcome", to_string(c.outcome)},
            {"reason", c.reason},
            {"duration_seconds", c.duration_seconds},
            {"evidence", c.evidence},
            {"reference", c.reference}};
}

}  // namespace

json bench_json(const BenchResult& b) {
    json j = {{"name", b.name},
            {"unit", b.unit},
            {"samples", b.samples},
            {"median", b.median},
            {"min", b.min},
            {"max", b.max},
            {"ci", {{"low", b.ci.low}, {"high", b.ci.high}, {"level", b.ci.level}}},
            {"baseline", b.baseline ? json(*b.baseline) : json(nullptr)},
            {"ratio", b.ratio ? json(*b.ratio) : json(nullptr)},
            {"context", b.context}};
    if (b.ratio_ci) j["ratio_ci"] = {{"low", b.ratio_ci->low}, {"high", b.ratio_ci->high}, {"level", b.ratio_ci->level}};
    if (b.shape) j["stats"] = shape_json(*b.shape);
    if (!b.warnings.empty()) j["warnings"] = b.warnings;
    if (b.fidelity)
        j["fidelity"] = {{"tool", b.fidelity->tool}, {"tool_version", b.fidelity->tool_version},
                         {"metric", b.fidelity->metric}, {"ratio", b.fidelity->ratio}};
    if (b.sampled_in_rounds) j["sampled_in_rounds"] = true;
    if (b.yardstick) j["yardstick"] = *b.yardstick;
    if (!b.trace.is_null()) j["trace"] = b.trace;
    return j;
}

namespace {

RunMetadata run_from_json(const json& j) {
    RunMetadata m;
    j.at("ctbench_version").get_to(m.ctbench_version);
    j.at("git_revision").get_to(m.git_revision);
    j.at("hostname").get_to(m.hostname);
    j.at("kernel").get_to(m.kernel);
    j.at("cgroup_mode").get_to(m.cgroup_mode);
    const json& r = j.at("runtime");
    m.runtime = {r.at("name").get<std::string>(), r.at("path").get<std::string>(), r.at("version").get<std::string>()};
    j.at("suite").get_to(m.suite);
    j.at("started_at").get_to(m.started_at);
    j.at("finished_at").get_to(m.finished_at);
    j.at("command_line").get_to(m.command_line);
    j.at("host").get_to(m.host);
    if (j.contains("guest")) m.guest = guest_from_json(j.at("guest"));
    return m;
}

Result<CaseResult> case_from_json(const json& j) {
    CaseResult c;
    j.at("id").get_to(c.id);
    j.at("area").get_to(c.area);
    auto outcome = outcome_from_string(j.at("outcome").get<std::string>());
    if (!outcome) return fail(outcome.error());
    c.outcome = *outcome;
    j.at("reason").get_to(c.reason);
    j.at("duration_seconds").get_to(c.duration_seconds);
    c.evidence = j.at("evidence");
    j.at("reference").get_to(c.reference);
    return c;
}

}  // namespace

BenchResult bench_from_json(const json& j) {
    BenchResult b;
    j.at("name").get_to(b.name);
    j.at("unit").get_to(b.unit);
    j.at("samples").get_to(b.samples);
    j.at("median").get_to(b.median);
    j.at("min").get_to(b.min);
    j.at("max").get_to(b.max);
    const json& ci = j.at("ci");
    b.ci = {ci.at("low").get<double>(), ci.at("high").get<double>(), ci.at("level").get<double>()};
    if (!j.at("baseline").is_null()) b.baseline = j.at("baseline").get<std::string>();
    if (!j.at("ratio").is_null()) b.ratio = j.at("ratio").get<double>();
    b.context = j.at("context");
    if (j.contains("ratio_ci")) {
        const json& r = j.at("ratio_ci");
        b.ratio_ci = ConfidenceInterval{r.at("low").get<double>(), r.at("high").get<double>(), r.at("level").get<double>()};
    }
    if (j.contains("stats")) b.shape = shape_from_json(j.at("stats"));
    if (j.contains("warnings")) j.at("warnings").get_to(b.warnings);
    if (j.contains("fidelity")) {
        const json& f = j.at("fidelity");
        b.fidelity = Fidelity{f.at("tool").get<std::string>(), f.at("tool_version").get<std::string>(),
                              f.at("metric").get<std::string>(), f.at("ratio").get<double>()};
    }
    if (j.contains("sampled_in_rounds")) b.sampled_in_rounds = j.at("sampled_in_rounds").get<bool>();
    if (j.contains("yardstick")) b.yardstick = j.at("yardstick").get<std::string>();
    if (j.contains("trace")) b.trace = j.at("trace");
    return b;
}


std::string to_string(Outcome o) {
    switch (o) {
        case Outcome::pass: return "pass";
        case Outcome::fail: return "fail";
        case Outcome::skip: return "skip";
        case Outcome::error: break;
    }
    return "error";
}

Result<Outcome> outcome_from_string(const std::string& s) {
    if (s == "pass") return Outcome::pass;
    if (s == "fail") return Outcome::fail;
    if (s == "skip") return Outcome::skip;
    if (s == "error") return Outcome::error;
    return fail(plain_error("parse", "outcome", "expected pass|fail|skip|error, got \"" + s + "\""));
}

Summary Report::summary() const {
    Summary s;
    for (const auto& c : conformance) {
        switch (c.outcome) {
            case Outcome::pass: ++s.pass; break;
            case Outcome::fail: ++s.fail; break;
            case Outcome::skip: ++s.skip; break;
            case Outcome::error: ++s.error; break;
        }
    }
    return s;
}

void finalize(BenchResult& bench) {
    if (bench.samples.empty()) return;
    bench.median = stats::median(bench.samples);
    auto [lo, hi] = std::minmax_element(bench.samples.begin(), bench.samples.end());
    bench.min = *lo;
    bench.max = *hi;
    auto ci = stats::median_interval(bench.samples, 0.95);
    bench.ci = {ci.low, ci.high, ci.coverage};
    bench.shape = stats::describe(bench.samples);
    bench.warnings.clear();  // finalize may run again after samples change; set_ratio adds its own after
    for (auto& w : shape_warnings(*bench.shape, bench.samples.size())) bench.warnings.push_back(std::move(w));
}

nlohmann::json to_json(const Report& report) {
    json cases = json::array(), benches = json::array();
    for (const auto& c : report.conformance) cases.push_back(case_json(c));
    for (const auto& b : report.benchmarks) benches.push_back(bench_json(b));
    json not_run = json::array();
    for (const auto& b : report.benchmarks_not_run)
        not_run.push_back({{"name", b.name}, {"reason", b.reason}, {"error", b.error}});
    Summary s = report.summary();
    return {{"kind", kReportKind},
            {"schema_version", report.schema_version},
            {"run", run_json(report.run)},
            {"summary", {{"pass", s.pass}, {"fail", s.fail}, {"skip", s.skip}, {"error", s.error}}},
            {"conformance", cases},
            {"benchmarks", benches},
            {"benchmarks_not_run", not_run},
            {"traces", report.traces}};
}

Result<Report> report_from_json(const nlohmann::json& j) {
    try {
        if (j.value("kind", "") != kReportKind)
            return fail(plain_error("read report", "kind", std::string("expected \"") + kReportKind + "\""));
        Report r;
        j.at("schema_version").get_to(r.schema_version);
        if (r.schema_version != kSchemaVersion)
            return fail(plain_error("read report", "schema_version",
                                    "unsupported version " + std::to_string(r.schema_version)));
        r.run = run_from_json(j.at("run"));
        for (const auto& c : j.at("conformance")) {
            auto parsed = case_from_json(c);
            if (!parsed) return fail(parsed.error());
            r.conformance.push_back(*parsed);
        }
        for (const auto& b : j.at("benchmarks")) r.benchmarks.push_back(bench_from_json(b));
        for (const auto& b : j.at("benchmarks_not_run"))
            r.benchmarks_not_run.push_back(
                {b.at("name").get<std::string>(), b.at("reason").get<std::string>(), b.at("error").get<bool>()});
        r.traces = j.at("traces");
        return r;
    } catch (const nlohmann::json::exception& e) {
        return fail(plain_error("read report", "json", e.what()));
    }
}

Result<Report> load_report(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail(sys_error("open report", path));
    json doc;
    try {
        doc = json::parse(in);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
        return fail(plain_error("parse report", path, e.what()));
    }
    // Every error names the file first, then the JSON path inside it.
    auto in_file = [&path](Error e) {
        e.object = e.object.empty() ? path : path + " " + e.object;
        return fail(std::move(e));
    };
    if (auto s = check_report_document(doc); !s) return in_file(s.error());
    auto r = report_from_json(doc);
    if (!r) return in_file(r.error());
    return r;
}

}  // namespace ctb::report
