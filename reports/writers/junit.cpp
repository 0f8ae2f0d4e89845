// JUnit XML as Jenkins, GitLab and GitHub test reporters read it: skipped and failure elements,
// error for the case's own breakage, system-out carrying the evidence.
#include <fmt/format.h>

#include <map>

#include "reports/writers.hpp"

namespace ctb::report {
namespace {

std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default:
                // XML 1.0 forbids most control characters, even escaped.
                if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') out += ' ';
                else out += c;
        }
    }
    return out;
}

std::string case_xml(const CaseResult& c) {
    std::string body;
    std::string reason = xml_escape(c.reason);
    switch (c.outcome) {
        case Outcome::pass: break;
        case Outcome::fail: body = fmt::format("<failure message=\"{}\" type=\"fail\">{}</failure>", reason, reason); break;
        case Outcome::skip: body = fmt::format("<skipped message=\"{}\"/>", reason); break;
        case Outcome::error: body = fmt::format("<error message=\"{}\" type=\"error\">{}</error>", reason, reason); break;
    }
    if (!c.evidence.empty()) body += fmt::format("<system-out>{}</system-out>", xml_escape(c.evidence.dump()));
    if (!c.reference.empty())
        body = fmt::format("<properties><property name=\"reference\" value=\"{}\"/></properties>", xml_escape(c.reference)) + body;
    return fmt::format("    <testcase classname=\"conformance.{}\" name=\"{}\" time=\"{:.3f}\">{}</testcase>\n",
                       xml_escape(c.area), xml_escape(c.id), c.duration_seconds, body);
}

std::string bench_xml(const BenchResult& b) {
    std::string ratio = b.ratio ? fmt::format(" ratio={:.3f} vs {}", *b.ratio, b.baseline.value_or("?")) : "";
    return fmt::format("    <testcase classname=\"bench\" name=\"{}\" time=\"0\"><system-out>median={} {} ci=[{}, {}] n={}{}</system-out></testcase>\n",
                       xml_escape(b.name), b.median, xml_escape(b.unit), b.ci.low, b.ci.high, b.samples.size(), xml_escape(ratio));
}

std::string skipped_bench_xml(const BenchSkip& b) {
    std::string reason = xml_escape(b.reason);
    std::string body = b.error ? fmt::format("<error message=\"{}\" type=\"error\">{}</error>", reason, reason)
                               : fmt::format("<skipped message=\"{}\"/>", reason);
    return fmt::format("    <testcase classname=\"bench\" name=\"{}\" time=\"0\">{}</testcase>\n", xml_escape(b.name), body);
}

std::string suite_open(const std::string& name, std::size_t tests, const Summary& s, const Report& r) {
    return fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" timestamp=\"{}\" hostname=\"{}\">\n",
                       xml_escape(name), tests, s.fail, s.error, s.skip, xml_escape(r.run.started_at), xml_escape(r.run.hostname));
}

}  // namespace

// One testsuite per conformance area (Jenkins and GitLab group by suite), then one for benchmarks.
std::string render_junit(const Report& r) {
    std::map<std::string, std::vector<const CaseResult*>> areas;
    for (const auto& c : r.conformance) areas[c.area].push_back(&c);
    Summary s = r.summary();
    Summary benches;
    for (const auto& b : r.benchmarks_not_run) ++(b.error ? benches.error : benches.skip);
    std::size_t bench_tests = r.benchmarks.size() + r.benchmarks_not_run.size();
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += fmt::format("<testsuites name=\"ctbench\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
                       r.conformance.size() + bench_tests, s.fail, s.error + benches.error, s.skip + benches.skip);
    for (const auto& [area, cases] : areas) {
        Summary a;
        for (const auto* c : cases) {
            if (c->outcome == Outcome::fail) ++a.fail;
            if (c->outcome == Outcome::error) ++a.error;
            if (c->outcome == Outcome::skip) ++a.skip;
        }
        out += suite_open("conformance." + area, cases.size(), a, r);
        for (const auto* c : cases) out += case_xml(*c);
        out += "  </testsuite>\n";
    }
    if (bench_tests > 0) {
        out += suite_open("benchmarks", bench_tests, benches, r);
        for (const auto& b : r.benchmarks) out += bench_xml(b);
        for (const auto& b : r.benchmarks_not_run) out += skipped_bench_xml(b);
        out += "  </testsuite>\n";
    }
    return out + "</testsuites>\n";
}

}  // namespace ctb::report
