// Output formats of a report. Each writer renders the whole model to text; the CLI decides where
// the text goes (a file per format, or stdout).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "reports/model.hpp"

namespace ctb::report {

struct Format {
    std::string name;       // what --format takes
    std::string extension;  // file name suffix when several formats go to a directory
    std::string description;
    std::function<std::string(const Report&)> render;
};

const std::vector<Format>& formats();
const Format* find_format(const std::string& name);
std::vector<std::string> format_names();

std::string render_json(const Report& r);
std::string render_junit(const Report& r);
std::string render_tap(const Report& r);
std::string render_markdown(const Report& r);
// The human summary printed at the end of `ctbench run`: counts per area, then every non-pass.
std::string render_text(const Report& r);
// Phase x series table of every traced bench series ("" when none is traced).
std::string render_phase_table(const Report& r);
// Series x totals of the network tracer ($defs/netTrace): packets, bytes, drops, retransmits,
// lost ("" when no series carries one).
std::string render_net_trace_table(const Report& r);
// The same for (title, trace) pairs, e.g. `ctbench trace` of one command.
std::string render_phase_table(const std::vector<std::pair<std::string, nlohmann::json>>& series);
std::string render_gbench(const Report& r);  // Google Benchmark JSON (writers/gbench.cpp)
std::string render_bmf(const Report& r);     // Bencher Metric Format (writers/bmf.cpp)
std::string render_kcidb(const Report& r);   // KernelCI KCIDB v5 submission (writers/kcidb.cpp)
std::string render_ktap(const Report& r);    // KTAP version 1 (writers/ktap.cpp)
std::string render_html(const Report& r);    // self-contained HTML page (writers/html.cpp)
// The HTML page's comparison view of two runs (baseline first).
std::string render_html_comparison(const Report& before, const Report& after);

}  // namespace ctb::report
