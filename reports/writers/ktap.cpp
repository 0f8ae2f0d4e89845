// KTAP version 1 (Documentation/dev-tools/ktap.rst): the top level has one test per conformance
// area; each area is a subtest block indented by two spaces with its own version line, plan and
// one result line per case. Skips carry "# SKIP reason"; failures are followed by diagnostic
// lines ("# ...") with the reason. An area is "not ok" when any case failed or errored and
// "# SKIP" when every case was skipped.
#include <fmt/format.h>

#include <map>

#include "reports/writers.hpp"

namespace ctb::report {
namespace {

// Test names and directives may not contain '#' or line breaks.
std::string ktap_safe(std::string s) {
    for (char& c : s)
        if (c == '#' || c == '\n' || c == '\r') c = ' ';
    return s;
}

std::string case_line(int n, const CaseResult& c) {
    switch (c.outcome) {
        case Outcome::pass: return fmt::format("  ok {} {}\n", n, ktap_safe(c.id));
        case Outcome::skip: return fmt::format("  ok {} {} # SKIP {}\n", n, ktap_safe(c.id), ktap_safe(c.reason));
        case Outcome::fail:
        case Outcome::error: break;
    }
    return fmt::format("  # {}: {}\n  not ok {} {}\n", to_string(c.outcome), ktap_safe(c.reason), n, ktap_safe(c.id));
}

}  // namespace

std::string render_ktap(const Report& r) {
    std::map<std::string, std::vector<const CaseResult*>> areas;
    for (const auto& c : r.conformance) areas[c.area].push_back(&c);
    std::string out = fmt::format("KTAP version 1\n1..{}\n", areas.size());
    int n = 0;
    for (const auto& [area, cases] : areas) {
        out += fmt::format("  KTAP version 1\n  # Subtest: {}\n  1..{}\n", ktap_safe(area), cases.size());
        bool bad = false, all_skipped = true;
        int i = 0;
        for (const auto* c : cases) {
            out += case_line(++i, *c);
            bad = bad || c->outcome == Outcome::fail || c->outcome == Outcome::error;
            all_skipped = all_skipped && c->outcome == Outcome::skip;
        }
        ++n;
        if (bad) out += fmt::format("not ok {} {}\n", n, ktap_safe(area));
        else if (all_skipped) out += fmt::format("ok {} {} # SKIP every case skipped\n", n, ktap_safe(area));
        else out += fmt::format("ok {} {}\n", n, ktap_safe(area));
    }
    return out;
}

}  // namespace ctb::report
