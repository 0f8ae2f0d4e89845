// `ctbench list`: suites, areas, conformance cases and benchmarks with their requirements.
#include <fmt/format.h>

#include "benches/registry.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/options.hpp"
#include "conformance/harness/runner.hpp"

namespace ctb::cli {
namespace {

std::vector<std::string> requirement_texts(const std::vector<Requirement>& reqs) {
    std::vector<std::string> out;
    for (const auto& r : reqs) out.push_back(requirement_text(r));
    return out;
}

nlohmann::json listing_json(const std::vector<const conformance::Case*>& cases,
                            const std::vector<const bench::Bench*>& benches) {
    nlohmann::json j = {{"suites", valid_suites()}, {"cases", nlohmann::json::array()},
                        {"benchmarks", nlohmann::json::array()}};
    for (const auto* c : cases)
        j["cases"].push_back({{"id", c->id}, {"area", c->area()}, {"reference", c->reference},
                              {"requires", requirement_texts(c->needs)}});
    for (const auto* b : benches)
        j["benchmarks"].push_back({{"name", b->name}, {"area", b->area()}, {"description", b->description},
                                   {"requires", requirement_texts(b->needs)}});
    return j;
}

int list(const std::string& suite_name, const std::string& format) {
    auto suite = parse_suite(suite_name);
    if (!suite) return usage_error(suite.error());
    if (format != "text" && format != "json")
        return usage_error(plain_error("--format", "'" + format + "'", "unknown format; valid formats: text, json"));
    std::vector<const conformance::Case*> cases;
    if (suite->conformance) cases = conformance::select({suite->conformance_areas, {}, {}});
    std::vector<const bench::Bench*> benches;
    for (const auto& b : bench::registry()) {
        const auto& areas = suite->bench_areas;
        if (suite->bench && (areas.empty() || std::find(areas.begin(), areas.end(), b.area()) != areas.end()))
            benches.push_back(&b);
    }
    if (format == "json") {
        fmt::print("{}\n", listing_json(cases, benches).dump(2));
        return kExitOk;
    }
    fmt::print("suites: {}\n\n", join(valid_suites()));
    for (const auto* c : cases)
        fmt::print("{:<44} [{}] {}\n", c->id, join(requirement_texts(c->needs), " "), c->reference);
    for (const auto* b : benches) fmt::print("bench {:<38} {}\n", b->name, b->description);
    fmt::print("{} cases, {} benchmarks\n", cases.size(), benches.size());
    return kExitOk;
}

}  // namespace

void register_list(CLI::App& app, int& exit_code) {
    auto suite = std::make_shared<std::string>("all");
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand("list", "List suites, conformance cases and benchmarks");
    cmd->add_option("--suite", *suite, "Restrict to a suite or area")->capture_default_str();
    cmd->add_option("--format", *format, "text or json")->capture_default_str();
    cmd->callback([suite, format, &exit_code] { exit_code = list(*suite, *format); });
}

}  // namespace ctb::cli
