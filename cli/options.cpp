#include "cli/options.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <sstream>

#include "benches/registry.hpp"
#include "common/subprocess.hpp"
#include "conformance/harness/registry.hpp"

namespace ctb::cli {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

std::string join(const std::vector<std::string>& items, const std::string& sep) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
    return out;
}

std::vector<std::string> valid_suites() {
    std::vector<std::string> out{"all", "conformance", "bench"};
    for (const auto& a : conformance::areas()) out.push_back(a);
    for (const auto& a : bench::areas())
        if (!contains(out, a)) out.push_back(a);
    return out;
}

Result<SuiteChoice> parse_suite(const std::string& suite) {
    SuiteChoice c;
    c.name = suite;
    if (suite == "all" || suite == "conformance") c.conformance = true;
    if (suite == "all" || suite == "bench") c.bench = true;
    if (contains(conformance::areas(), suite)) {
        c.conformance = true;
        c.conformance_areas = {suite};
    }
    if (contains(bench::areas(), suite)) {
        c.bench = true;
        c.bench_areas = {suite};
    }
    if (!c.conformance && !c.bench)
        return fail(plain_error("--suite", "'" + suite + "'", "unknown suite; valid suites: " + join(valid_suites())));
    return c;
}

Result<std::vector<const report::Format*>> parse_formats(const std::vector<std::string>& values) {
    std::vector<const report::Format*> out;
    for (const auto& value : values) {
        std::stringstream parts(value);
        for (std::string name; std::getline(parts, name, ',');) {
            const auto* f = report::find_format(name);
            if (!f)
                return fail(plain_error("--format", "'" + name + "'",
                                        "unknown format; valid formats: " + join(report::format_names())));
            if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
        }
    }
    return out;
}

Result<std::optional<std::regex>> parse_regex(const std::string& flag, const std::string& value) {
    if (value.empty()) return std::optional<std::regex>{};
    try {
        return std::optional<std::regex>(std::regex(value, std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
        return fail(plain_error(flag, "'" + value + "'", std::string("invalid regular expression: ") + e.what()));
    }
}

Result<report::RuntimeUnderTest> resolve_runtime(const std::string& value) {
    if (value.empty() || value == "ctbench")
        return report::RuntimeUnderTest{"ctbench", "", "built-in reference runtime (library)"};
    auto path = find_executable(value);
    if (!path)
        return fail(plain_error("--runtime", "'" + value + "'",
                                "no such executable; use ctbench, runc, crun or the path of an OCI runtime"));
    report::RuntimeUnderTest r{value, *path, ""};
    if (auto out = run_process({*path, "--version"}); out && out->exited_ok()) r.version = first_line(out->output);
    return r;
}

}  // namespace ctb::cli
