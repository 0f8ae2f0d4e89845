// A KernelCI KCIDB v5 submission (kcidb-io schema v5.3): one checkout (the kernel under test, known
// by its release string, not a git commit), one build (that kernel as booted on this host) and one
// test per conformance case (PASS/FAIL/ERROR/SKIP) and per benchmark (DONE with the median as
// `number`). Ids are "ctbench:<run>..." and paths dot-separated, as KCIDB requires.
#include <cctype>
#include <fmt/format.h>

#include "reports/writers.hpp"

namespace ctb::report {
namespace {

using json = nlohmann::json;

// KCIDB path components allow [a-zA-Z0-9_-]; everything else becomes '_' ('/' starts a component).
std::string path_component(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '/' || c == '.') out += '.';
        else out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    }
    while (out.find("..") != std::string::npos) out.replace(out.find(".."), 2, "._");
    if (!out.empty() && out.front() == '.') out.insert(out.begin(), '_');
    if (!out.empty() && out.back() == '.') out += '_';
    return out;
}

std::string kcidb_status(Outcome o) {
    switch (o) {
        case Outcome::pass: return "PASS";
        case Outcome::fail: return "FAIL";
        case Outcome::skip: return "SKIP";
        case Outcome::error: break;
    }
    return "ERROR";
}

std::string run_id(const Report& r) {
    return fmt::format("{}-{}-{}", r.run.hostname.empty() ? "host" : r.run.hostname, r.run.started_at, r.run.suite);
}

std::string arch(const Report& r) {
    std::string a;
    for (char c : r.run.host.arch) a += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? char(std::tolower(c)) : '_';
    return a;
}

json environment(const Report& r) {
    return {{"comment", fmt::format("{} ({} cpus, cgroups {})", r.run.hostname, r.run.host.cpus, r.run.cgroup_mode)},
            {"misc", {{"hostname", r.run.hostname}, {"cpus", r.run.host.cpus}, {"memory_bytes", r.run.host.memory_bytes},
                      {"cgroup_mode", r.run.cgroup_mode}, {"runtime", r.run.runtime.name},
                      {"runtime_version", r.run.runtime.version}}}};
}

json case_test(const Report& r, const CaseResult& c, const std::string& build_id) {
    json t = {{"id", fmt::format("ctbench:{}:{}", run_id(r), c.id)},
              {"build_id", build_id},
              {"origin", "ctbench"},
              {"path", "ctbench." + path_component(c.id)},
              {"status", kcidb_status(c.outcome)},
              {"duration", c.duration_seconds},
              {"start_time", r.run.started_at},
              {"environment", environment(r)},
              {"misc", {{"reference", c.reference}, {"evidence", c.evidence}}}};
    if (!c.reason.empty()) {
        t["comment"] = c.reason;
        t["log_excerpt"] = c.reason.substr(0, 16384);
    }
    return t;
}

json bench_test(const Report& r, const BenchResult& b, const std::string& build_id) {
    json misc = {{"samples", b.samples.size()}, {"ci_low", b.ci.low}, {"ci_high", b.ci.high}, {"ci_level", b.ci.level},
                 {"context", b.context}};
    if (b.ratio) misc["ratio"] = *b.ratio;
    if (b.baseline) misc["baseline"] = *b.baseline;
    return {{"id", fmt::format("ctbench:{}:bench:{}", run_id(r), b.name)},
            {"build_id", build_id},
            {"origin", "ctbench"},
            {"path", "ctbench.bench." + path_component(b.name)},
            {"status", "DONE"},
            {"number", {{"value", b.median}, {"unit", b.unit}}},
            {"start_time", r.run.started_at},
            {"environment", environment(r)},
            {"misc", misc}};
}

}  // namespace

std::string render_kcidb(const Report& r) {
    std::string checkout_id = fmt::format("ctbench:{}:kernel-{}", run_id(r), r.run.kernel);
    std::string build_id = fmt::format("ctbench:{}:build", run_id(r));
    json checkout = {{"id", checkout_id},
                     {"origin", "ctbench"},
                     {"start_time", r.run.started_at},
                     {"valid", true},
                     {"comment", "kernel " + r.run.kernel + " as running on " + r.run.hostname},
                     {"misc", {{"kernel_release", r.run.kernel}}}};
    json build = {{"id", build_id},
                  {"checkout_id", checkout_id},
                  {"origin", "ctbench"},
                  {"architecture", arch(r)},
                  {"start_time", r.run.started_at},
                  {"status", "PASS"},  // the kernel booted: ctbench ran on it
                  {"comment", "the running kernel (not built by ctbench)"},
                  {"misc", {{"kernel_release", r.run.kernel}, {"ctbench_version", r.run.ctbench_version},
                            {"ctbench_git_revision", r.run.git_revision}}}};
    json tests = json::array();
    for (const auto& c : r.conformance) tests.push_back(case_test(r, c, build_id));
    for (const auto& b : r.benchmarks) tests.push_back(bench_test(r, b, build_id));
    json out = {{"version", {{"major", 5}, {"minor", 3}}},
                {"checkouts", json::array({checkout})},
                {"builds", json::array({build})},
                {"tests", tests}};
    return out.dump(2) + "\n";
}

}  // namespace ctb::report
