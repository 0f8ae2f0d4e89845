// JUnit XML as Jenkins, GitLab and GitHub test reporters read it: skipped and failure elements,
// error for the case's own breakage, system-out carrying the evidence.
#include <fmt/format.h>

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
        case Outcome::fail: body = fmt::format("<failure message=\"{}\"/>", reason); break;
        case Outcome::skip: body = fmt::format("<skipped message=\"{}\"/>", reason); break;
        case Outcome::error: body = fmt::format("<error message=\"{}\"/>", reason); break;
    }
    if (!c.evidence.empty()) body += fmt::format("<system-out>{}</system-out>", xml_escape(c.evidence.dump()));
    return fmt::format("    <testcase classname=\"conformance.{}\" name=\"{}\" time=\"{:.3f}\">{}</testcase>\n",
                       xml_escape(c.area), xml_escape(c.id), c.duration_seconds, body);
}

std::string bench_xml(const BenchResult& b) {
    std::string ratio = b.ratio ? fmt::format(" ratio={:.3f} vs {}", *b.ratio, b.baseline.value_or("?")) : "";
    return fmt::format("    <testcase classname=\"bench\" name=\"{}\" time=\"0\"><system-out>median={} {}{}</system-out></testcase>\n",
                       xml_escape(b.name), b.median, xml_escape(b.unit), xml_escape(ratio));
}

}  // namespace

std::string render_junit(const Report& r) {
    Summary s = r.summary();
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += fmt::format("<testsuites name=\"ctbench\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
                       r.conformance.size() + r.benchmarks.size(), s.fail, s.error, s.skip);
    out += fmt::format("  <testsuite name=\"conformance\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" timestamp=\"{}\" hostname=\"{}\">\n",
                       r.conformance.size(), s.fail, s.error, s.skip, xml_escape(r.run.started_at),
                       xml_escape(r.run.hostname));
    for (const auto& c : r.conformance) out += case_xml(c);
    out += "  </testsuite>\n";
    out += fmt::format("  <testsuite name=\"benchmarks\" tests=\"{}\" failures=\"0\" errors=\"0\" skipped=\"0\">\n",
                       r.benchmarks.size());
    for (const auto& b : r.benchmarks) out += bench_xml(b);
    out += "  </testsuite>\n</testsuites>\n";
    return out;
}

}  // namespace ctb::report
