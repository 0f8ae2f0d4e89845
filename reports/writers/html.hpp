// Pieces shared by the HTML page (writers/html.cpp) and its charts (writers/html_charts.cpp).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "reports/model.hpp"

namespace ctb::report::html {

std::string escape(const std::string& s);

// Chart data the page's script draws: benchmark families as bar charts with CI whiskers, the
// phase breakdown (context.trace.phases) as stacked bars per runtime.
nlohmann::json bench_charts(const Report& r);
nlohmann::json phase_charts(const Report& r);
// Baseline and candidate medians side by side for every benchmark the two runs share.
nlohmann::json comparison_charts(const Report& before, const Report& after);

// The inline <style> and <script> (no external resources of any kind), and the data block the
// script reads: JSON inside <script type="application/json">, with "</" escaped.
std::string style();
std::string script();
std::string data_block(const nlohmann::json& data);

}  // namespace ctb::report::html
