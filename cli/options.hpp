// Validation of the values the CLI takes (suites, formats, regexes, runtimes), kept apart from
// CLI11 wiring so it can be unit tested. Every error names the flag and lists the valid values.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "reports/model.hpp"
#include "reports/writers.hpp"

namespace ctb::cli {

struct SuiteChoice {
    std::string name;
    bool conformance = false;
    bool bench = false;
    std::vector<std::string> conformance_areas;  // empty with conformance=true: all areas
    std::vector<std::string> bench_areas;        // empty with bench=true: all areas
};

// all | conformance | bench | <conformance area> | <bench area>
std::vector<std::string> valid_suites();
Result<SuiteChoice> parse_suite(const std::string& suite);

// Formats may be repeated or comma separated: --format json,junit
Result<std::vector<const report::Format*>> parse_formats(const std::vector<std::string>& values);

Result<std::optional<std::regex>> parse_regex(const std::string& flag, const std::string& value);

// ctbench (built-in), runc, crun, or a path to an OCI runtime binary.
Result<report::RuntimeUnderTest> resolve_runtime(const std::string& value);

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace ctb::cli
