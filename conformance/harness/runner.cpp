#include "conformance/harness/runner.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "common/isolated.hpp"
#include "conformance/harness/kit.hpp"

namespace ctb::conformance {
namespace {

bool in_areas(const Case& c, const std::vector<std::string>& areas) {
    return areas.empty() || std::find(areas.begin(), areas.end(), c.area()) != areas.end();
}

report::CaseResult result_from(const Case& c, const Verdict& v, double seconds) {
    return {c.id, c.area(), v.outcome, v.reason, seconds, v.evidence, c.reference};
}

// The body, with the kit's setup failures (SetupError, LTP's TBROK) and stray exceptions as `error`:
// the one place where a case's plumbing becomes a verdict.
Verdict guarded_body(const Case& c, const CaseContext& ctx) {
    try {
        return c.body(ctx);
    } catch (const SetupError& e) {
        return Verdict::error(e.error.message());
    } catch (const std::exception& e) {
        return Verdict::error(std::string("unexpected exception: ") + e.what());
    }
}

// The body runs in its own child (common/isolated.hpp); its verdict crosses back as JSON. A body
// that delivers nothing becomes an `error`, with what was swept after it in reason and evidence.
Verdict run_body(const Case& c, const CaseContext& ctx, const RunSettings& settings) {
    auto run = run_isolated(
        [&] {
            Verdict v = guarded_body(c, ctx);
            return nlohmann::json{{"outcome", report::to_string(v.outcome)}, {"reason", v.reason},
                                  {"evidence", v.evidence}}
                .dump();
        },
        settings.timeout.value_or(c.timeout), settings.sweep_after_error);
    if (!run.output) {
        Verdict v = Verdict::error(run.output.error().message());
        if (!run.swept.empty()) {
            v.evidence["swept"] = run.swept;
            v.reason += "; swept what it left: " + summarize_swept(run.swept);
        }
        return v;
    }
    auto j = nlohmann::json::parse(*run.output, nullptr, false);
    if (j.is_discarded()) return Verdict::error("case returned malformed JSON");
    auto outcome = report::outcome_from_string(j.value("outcome", ""));
    if (!outcome) return Verdict::error(outcome.error().message());
    return {*outcome, j.value("reason", ""), j.value("evidence", nlohmann::json::object())};
}

}  // namespace

std::vector<const Case*> select(const Selection& selection) {
    std::vector<const Case*> out;
    for (const auto& c : registry()) {
        if (!in_areas(c, selection.areas)) continue;
        if (selection.filter && !std::regex_search(c.id, *selection.filter)) continue;
        if (selection.skip && std::regex_search(c.id, *selection.skip)) continue;
        out.push_back(&c);
    }
    std::sort(out.begin(), out.end(), [](const Case* a, const Case* b) { return a->id < b->id; });
    return out;
}

report::CaseResult run_case(const Case& c, const report::HostProbe& host, const RunSettings& settings) {
    if (auto why = skip_reason(c, host, settings.runtime); !why.empty()) return result_from(c, Verdict::skip(why), 0);
    CaseContext ctx{host, settings.runtime};
    auto start = std::chrono::steady_clock::now();
    Verdict v = run_body(c, ctx, settings);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (v.outcome != report::Outcome::pass && v.reason.empty()) v.reason = "case gave no reason";
    return result_from(c, v, seconds);
}

std::vector<report::CaseResult> run_cases(const std::vector<const Case*>& cases, const report::HostProbe& host,
                                          const RunSettings& settings) {
    std::vector<report::CaseResult> results;
    for (const Case* c : cases) {
        if (settings.on_start) settings.on_start(c->id);
        results.push_back(run_case(*c, host, settings));
        if (settings.on_result) settings.on_result(results.back());
    }
    return results;
}

}  // namespace ctb::conformance
