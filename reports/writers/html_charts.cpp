// The HTML report's charts: data assembled here, drawn as inline SVG by a small script in the
// page. When it has drawn everything the script records on <body data-rendered="..."> how many
// charts, bars, whiskers and segments it made and each chart's rendered size, and any script
// error in data-errors; the browser test (reports/tests/html_chromium.sh) reads both.
#include <algorithm>
#include <map>

#include "reports/writers/html.hpp"

namespace ctb::report::html {
namespace {

using json = nlohmann::json;

// "start.lifecycle/crun" -> family "start.lifecycle", series "crun".
std::pair<std::string, std::string> split_name(const std::string& name) {
    auto slash = name.find('/');
    if (slash == std::string::npos) return {name, name};
    return {name.substr(0, slash), name.substr(slash + 1)};
}

json bar(const std::string& label, const BenchResult& b, const std::string& series) {
    return {{"label", label}, {"value", b.median}, {"low", b.ci.low}, {"high", b.ci.high}, {"series", series},
            {"n", b.samples.size()}};
}

}  // namespace

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

json bench_charts(const Report& r) {
    std::map<std::string, json> charts;  // family + unit -> chart
    for (const auto& b : r.benchmarks) {
        auto [family, series] = split_name(b.name);
        std::string key = family + " (" + b.unit + ")";
        json& c = charts[key];
        if (c.is_null()) c = {{"title", family}, {"unit", b.unit}, {"bars", json::array()}};
        c["bars"].push_back(bar(series, b, "run"));
    }
    json out = json::array();
    for (auto& [key, c] : charts) out.push_back(c);
    return out;
}

json phase_charts(const Report& r) {
    json rows = json::array();
    std::vector<std::string> names;
    for (const auto& b : r.benchmarks) {
        const json* phases = nullptr;
        if (b.trace.is_object() && b.trace.contains("phases")) phases = &b.trace["phases"];
        if (!phases || !phases->is_array() || phases->empty()) continue;
        json row = {{"label", b.context.value("runtime", split_name(b.name).second)}, {"bench", b.name},
                    {"segments", json::array()}};
        for (const auto& p : *phases) {
            if (!p.is_object() || !p.contains("name") || !p["name"].is_string()) continue;
            double on = p.value("on_cpu_ms", 0.0), blocked = p.value("blocked_ms", 0.0);
            std::string name = p["name"].get<std::string>();
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
            row["segments"].push_back({{"name", name}, {"on_cpu_ms", on}, {"blocked_ms", blocked},
                                       {"share", p.value("share", 0.0)}});
        }
        if (!row["segments"].empty()) rows.push_back(row);
    }
    if (rows.empty()) return json::array();
    return json::array({{{"title", "start latency by phase (on-CPU solid, blocked light)"}, {"unit", "ms"},
                         {"phases", names}, {"rows", rows}}});
}

json comparison_charts(const Report& before, const Report& after) {
    std::map<std::string, const BenchResult*> base;
    for (const auto& b : before.benchmarks) base[b.name] = &b;
    std::map<std::string, json> charts;
    for (const auto& a : after.benchmarks) {
        auto it = base.find(a.name);
        if (it == base.end()) continue;
        auto [family, series] = split_name(a.name);
        json& c = charts[family + " (" + a.unit + ")"];
        if (c.is_null()) c = {{"title", family + ": baseline vs candidate"}, {"unit", a.unit}, {"bars", json::array()}};
        c["bars"].push_back(bar(series + " (baseline)", *it->second, "baseline"));
        c["bars"].push_back(bar(series + " (candidate)", a, "candidate"));
    }
    json out = json::array();
    for (auto& [key, c] : charts) out.push_back(c);
    return out;
}

std::string data_block(const json& data) {
    std::string text = data.dump(-1, ' ', false, json::error_handler_t::replace);
    // Inside <script>, "</" could close the element; "<\/" is the same JSON string.
    for (std::size_t p = 0; (p = text.find("</", p)) != std::string::npos; p += 3) text.replace(p, 2, "<\\/");
    return "<script type=\"application/json\" id=\"ctb-data\">" + text + "</script>\n";
}

std::string style() {
    return R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.pass{color:#17692b}.fail,.error,.regression{color:#b00020;font-weight:bold}.skip{color:#8a6d00}
.improvement{color:#17692b}.warn{background:#fff6d5;padding:4px 8px;border-left:4px solid #e0b000;margin:4px 0}
.counts span{display:inline-block;margin-right:1em;padding:2px 8px;border-radius:3px;background:#eee}
details summary{cursor:pointer}pre{background:#f6f6f6;padding:6px;overflow:auto;max-width:900px}
svg.ctb-chart{display:block;margin:.6em 0 1.2em}svg text{font:12px system-ui,sans-serif}
</style>
)";
}

std::string script() {
    return R"JS(<script>
(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message));
    document.body.setAttribute("data-errors", JSON.stringify(errors));
  });
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = {run: "#3b6fb6", baseline: "#8c8c8c", candidate: "#d9822b"};
  var PHASE_COLORS = ["#3b6fb6", "#d9822b", "#4f9a4f", "#b8463f", "#7d5ba6", "#8c6b3f", "#c75fa1", "#6f6f6f"];
  var counts = {charts: 0, bars: 0, whiskers: 0, segments: 0};
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, anchor) {
    var t = el("text", {x: x, y: y, "text-anchor": anchor || "start"}, parent);
    t.textContent = s;
    return t;
  }
  // Compact numbers for labels: 4.23M, 2.92k, 8.69.
  function fmt(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toPrecision(3) + "G";
    if (a >= 1e6) return (v / 1e6).toPrecision(3) + "M";
    if (a >= 1e4) return (v / 1e3).toPrecision(3) + "k";
    return a >= 100 ? v.toFixed(0) : v.toPrecision(3);
  }
  function svgFor(host, id, height) {
    var svg = el("svg", {"class": "ctb-chart", id: id, width: 900, height: height, viewBox: "0 0 900 " + height,
                         role: "img"}, host);
    counts.charts++;
    return svg;
  }
  // Horizontal bars (median) with whiskers (confidence interval) on a shared linear scale.
  function barChart(host, chart, index) {
    var labelW = 250, plotW = 420, rowH = 22, top = 24;
    var svg = svgFor(host, "chart-bench-" + index, top + rowH * chart.bars.length + 24);
    text(svg, 0, 14, chart.title + " [" + chart.unit + "], bars: median, whiskers: CI");
    var max = 0;
    chart.bars.forEach(function (b) { max = Math.max(max, b.high, b.value); });
    var scale = max > 0 ? plotW / (max * 1.05) : 0;
    chart.bars.forEach(function (b, i) {
      var y = top + i * rowH;
      text(svg, labelW - 6, y + 14, b.label, "end");
      el("rect", {x: labelW, y: y + 3, width: Math.max(1, b.value * scale), height: rowH - 8,
                  fill: COLORS[b.series] || COLORS.run, "class": "bar"}, svg);
      counts.bars++;
      var mid = y + rowH / 2 - 1, lo = labelW + b.low * scale, hi = labelW + b.high * scale;
      el("line", {x1: lo, x2: hi, y1: mid, y2: mid, stroke: "#111", "stroke-width": 1.5, "class": "whisker"}, svg);
      el("line", {x1: lo, x2: lo, y1: mid - 5, y2: mid + 5, stroke: "#111"}, svg);
      el("line", {x1: hi, x2: hi, y1: mid - 5, y2: mid + 5, stroke: "#111"}, svg);
      counts.whiskers++;
      text(svg, labelW + plotW + 8, y + 14, fmt(b.value) + " [" + fmt(b.low) + ", " + fmt(b.high) + "] n=" + b.n);
    });
  }
  // One stacked bar per runtime: each phase's on-CPU time (solid) then its blocked time (light).
  function phaseChart(host, chart, index) {
    var labelW = 160, plotW = 520, rowH = 26, top = 24;
    var legendH = 22;
    var svg = svgFor(host, "chart-phases-" + index, top + rowH * chart.rows.length + legendH + 10);
    text(svg, 0, 14, chart.title + " [" + chart.unit + "]");
    var max = 0;
    chart.rows.forEach(function (r) {
      var total = 0;
      r.segments.forEach(function (s) { total += s.on_cpu_ms + s.blocked_ms; });
      r.total = total;
      max = Math.max(max, total);
    });
    var scale = max > 0 ? plotW / max : 0;
    chart.rows.forEach(function (r, i) {
      var y = top + i * rowH, x = labelW;
      text(svg, labelW - 6, y + 16, r.label, "end");
      r.segments.forEach(function (s) {
        var color = PHASE_COLORS[chart.phases.indexOf(s.name) % PHASE_COLORS.length];
        [[s.on_cpu_ms, 1], [s.blocked_ms, 0.4]].forEach(function (part) {
          var w = part[0] * scale;
          if (w <= 0) return;
          var rect = el("rect", {x: x, y: y + 3, width: w, height: rowH - 8, fill: color, "fill-opacity": part[1],
                                 "class": "segment"}, svg);
          el("title", {}, rect).textContent = s.name + ": " + fmt(part[0]) + " ms " + (part[1] === 1 ? "on CPU" : "blocked");
          x += w;
          counts.segments++;
        });
      });
      text(svg, x + 6, y + 16, fmt(r.total) + " ms");
    });
    var lx = labelW, ly = top + rowH * chart.rows.length + 8;
    chart.phases.forEach(function (name, i) {
      el("rect", {x: lx, y: ly, width: 10, height: 10, fill: PHASE_COLORS[i % PHASE_COLORS.length]}, svg);
      text(svg, lx + 14, ly + 10, name);
      lx += 24 + name.length * 7;
    });
  }
  function draw() {
    var data = JSON.parse(document.getElementById("ctb-data").textContent);
    var sections = [["charts-bench", data.bench, barChart], ["charts-phases", data.phases, phaseChart],
                    ["charts-compare", data.compare, barChart]];
    sections.forEach(function (s) {
      var host = document.getElementById(s[0]);
      if (!host || !s[1]) return;
      s[1].forEach(function (chart, i) { s[2](host, chart, s[0] + "-" + i); });
    });
    var sizes = [];
    document.querySelectorAll("svg.ctb-chart").forEach(function (svg) {
      var box = svg.getBoundingClientRect();
      var marks = svg.querySelectorAll("rect.bar, rect.segment");
      var drawn = 0;
      marks.forEach(function (m) { var b = m.getBoundingClientRect(); if (b.width > 0 && b.height > 0) drawn++; });
      sizes.push({id: svg.id, width: Math.round(box.width), height: Math.round(box.height), marks: marks.length,
                  drawn: drawn});
    });
    counts.sizes = sizes;
    document.body.setAttribute("data-rendered", JSON.stringify(counts));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
</script>
)JS";
}

}  // namespace ctb::report::html
