#include "reports/writers.hpp"

namespace ctb::report {

const std::vector<Format>& formats() {
    static const std::vector<Format> all{
        {"json", "json", "the full report model (reports/schema/report.schema.json)", render_json},
        {"junit", "junit.xml", "JUnit XML, one testsuite per area, one testcase per case and bench", render_junit},
        {"tap", "tap", "TAP version 13, one test point per conformance case", render_tap},
        {"ktap", "ktap", "KTAP version 1, one subtest block per conformance area", render_ktap},
        {"gbench", "gbench.json", "Google Benchmark JSON (compare.py, github-action-benchmark googlecpp)", render_gbench},
        {"bmf", "bmf.json", "Bencher Metric Format (latency/throughput with CI bounds)", render_bmf},
        {"kcidb", "kcidb.json", "KernelCI KCIDB v5 submission (checkout, build, tests)", render_kcidb},
        {"html", "html", "one self-contained HTML page with charts", render_html},
        {"markdown", "md", "a Markdown summary for pull requests and job pages", render_markdown},
        {"text", "txt", "the human summary per area (what run prints to the terminal)", render_text},
    };
    return all;
}

const Format* find_format(const std::string& name) {
    for (const auto& f : formats())
        if (f.name == name) return &f;
    return nullptr;
}

std::vector<std::string> format_names() {
    std::vector<std::string> names;
    for (const auto& f : formats()) names.push_back(f.name);
    return names;
}

std::string render_json(const Report& r) { return to_json(r).dump(2) + "\n"; }

}  // namespace ctb::report
