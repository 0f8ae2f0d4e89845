// Runs selected conformance cases. Each case body runs in its own child process with a deadline,
// so a hung or crashing case becomes an `error` outcome instead of taking the run down.
#pragma once

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "conformance/harness/registry.hpp"

namespace ctb::conformance {

struct Selection {
    std::vector<std::string> areas;  // empty: every area
    std::optional<std::regex> filter;
    std::optional<std::regex> skip;
};

std::vector<const Case*> select(const Selection& selection);

struct RunSettings {
    std::optional<std::chrono::milliseconds> timeout;  // overrides each case's own deadline
    std::string runtime = "ctbench";
};

report::CaseResult run_case(const Case& c, const report::HostProbe& host, const RunSettings& settings);
std::vector<report::CaseResult> run_cases(const std::vector<const Case*>& cases, const report::HostProbe& host,
                                          const RunSettings& settings);

}  // namespace ctb::conformance
