#include "benches/harness/runner.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "common/isolated.hpp"

namespace ctb::bench {
namespace {

bool selected(const Bench& b, const Selection& s) {
    if (!s.areas.empty() && std::find(s.areas.begin(), s.areas.end(), b.area()) == s.areas.end()) return false;
    if (s.filter && !std::regex_search(b.name, *s.filter)) return false;
    if (s.skip && std::regex_search(b.name, *s.skip)) return false;
    return true;
}

// In the bench child: the body's results (or its error) as JSON for the parent.
std::string body_json(const Bench& b, const BenchContext& ctx) {
    auto results = b.body(ctx);
    if (!results) return nlohmann::json{{"error", results.error().message()}}.dump();
    nlohmann::json out = {{"results", nlohmann::json::array()}};
    for (const auto& r : *results) out["results"].push_back(report::bench_json(r));
    return out.dump();
}

void run_one(const Bench& b, const report::HostProbe& host, const RunSettings& settings, Outcome& out) {
    if (auto why = first_unmet(b.needs, host); !why.empty()) {
        out.not_run.push_back({b.name, why, false});
        return;
    }
    BenchContext ctx{host, settings.runtime, settings.repetitions, settings.thorough, settings.state_fs};
    auto run = run_isolated([&] { return body_json(b, ctx); }, settings.timeout.value_or(b.timeout),
                            settings.sweep_after_error);
    if (!run.output) {
        std::string why = run.output.error().message();
        if (!run.swept.empty()) why += "; swept what it left: " + summarize_swept(run.swept);
        out.not_run.push_back({b.name, why, true});
        return;
    }
    auto j = nlohmann::json::parse(*run.output, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        out.not_run.push_back({b.name, "bench returned malformed JSON", true});
        return;
    }
    if (j.contains("error")) {
        out.not_run.push_back({b.name, j["error"].get<std::string>(), true});
        return;
    }
    try {
        for (const auto& r : j.at("results")) out.results.push_back(report::bench_from_json(r));
    } catch (const nlohmann::json::exception& e) {
        out.not_run.push_back({b.name, fmt::format("bench returned an unreadable result: {}", e.what()), true});
    }
}

}  // namespace

std::vector<const Bench*> select(const Selection& selection) {
    std::vector<const Bench*> out;
    for (const auto& b : registry())
        if (selected(b, selection)) out.push_back(&b);
    return out;
}

Outcome run_benches(const std::vector<const Bench*>& benches, const report::HostProbe& host,
                    const RunSettings& settings) {
    Outcome out;
    for (const Bench* b : benches) {
        if (settings.on_start) settings.on_start(b->name);
        std::size_t results = out.results.size(), skipped = out.not_run.size();
        run_one(*b, host, settings, out);
        if (settings.on_done)
            settings.on_done(b->name, out.results.size() - results,
                             out.not_run.size() > skipped ? out.not_run.back().reason : std::string());
    }
    return out;
}

}  // namespace ctb::bench
