// TAP version 13: "ok N - id # SKIP reason"; failures carry a YAML block with the reason.
#include <fmt/format.h>

#include "reports/writers.hpp"

namespace ctb::report {
namespace {

// TAP descriptions must not contain '#' (it starts a directive) or newlines.
std::string tap_safe(std::string s) {
    for (char& c : s)
        if (c == '#' || c == '\n') c = ' ';
    return s;
}

}  // namespace

std::string render_tap(const Report& r) {
    std::string out = fmt::format("TAP version 13\n1..{}\n", r.conformance.size());
    int n = 0;
    for (const auto& c : r.conformance) {
        ++n;
        switch (c.outcome) {
            case Outcome::pass: out += fmt::format("ok {} - {}\n", n, c.id); break;
            case Outcome::skip: out += fmt::format("ok {} - {} # SKIP {}\n", n, c.id, tap_safe(c.reason)); break;
            case Outcome::fail:
            case Outcome::error:
                out += fmt::format("not ok {} - {}\n  ---\n  outcome: {}\n  reason: {}\n  ...\n", n, c.id,
                                   to_string(c.outcome), nlohmann::json(c.reason).dump());
                break;
        }
    }
    return out;
}

}  // namespace ctb::report
