#include "bpf/trace_summary.hpp"

#include <algorithm>
#include <cmath>

namespace ctb::bpf {
namespace {

double median_of(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Milliseconds to the nanosecond; shares to 0.1 per mille.
double round_ms(double x) { return std::round(x * 1e6) / 1e6; }
double round_share(double x) { return std::round(x * 1e4) / 1e4; }

}  // namespace

void TraceSeries::add(const Attribution& a, double wall_ms, const StackLabel& label) {
    Sample s;
    s.phases = a.phases;
    s.unattributed_ns = a.unattributed_ns;
    s.window_ns = a.window_ns;
    s.wall_ns = wall_ms * 1e6;
    s.namespace_ops = a.namespace_ops;
    s.blocked_reasons = a.blocked_reasons;
    s.runtime_calls = a.runtime_calls;
    for (const auto& [phase, bucket] : a.phases)
        for (const auto& [stack, ns] : bucket.blocked_by_stack)
            waits_[phase][stack < 0 ? "runqueue (preempted)" : label(stack)] += ns;
    samples_.push_back(std::move(s));
}

nlohmann::json TraceSeries::summary(nlohmann::json tracer) const {
    nlohmann::json phases = nlohmann::json::array();
    std::vector<double> windows, unattributed, sum_errors;
    for (const auto& s : samples_) {
        windows.push_back(s.window_ns);
        unattributed.push_back(s.window_ns > 0 ? s.unattributed_ns / s.window_ns : 0);
        double buckets = s.unattributed_ns;
        for (const auto& [p, b] : s.phases) buckets += b.total();
        sum_errors.push_back(s.wall_ns > 0 ? std::abs(buckets - s.wall_ns) / s.wall_ns : 0);
    }
    for (Phase p : all_phases()) {
        std::vector<double> on, off, share;
        for (const auto& s : samples_) {
            auto it = s.phases.find(p);
            double a = it == s.phases.end() ? 0 : it->second.on_cpu_ns;
            double b = it == s.phases.end() ? 0 : it->second.blocked_ns;
            on.push_back(a / 1e6);
            off.push_back(b / 1e6);
            share.push_back(s.window_ns > 0 ? (a + b) / s.window_ns : 0);
        }
        nlohmann::json row = {{"name", phase_name(p)}, {"on_cpu_ms", round_ms(median_of(on))},
                              {"blocked_ms", round_ms(median_of(off))}, {"share", round_share(median_of(share))}};
        if (auto w = waits_.find(p); w != waits_.end() && !w->second.empty()) {
            auto top = std::max_element(w->second.begin(), w->second.end(),
                                        [](const auto& a, const auto& b) { return a.second < b.second; });
            row["top_wait"] = top->first;
            row["top_wait_ms"] = round_ms(top->second / 1e6 / double(samples_.size()));
        }
        phases.push_back(row);
    }
    std::map<std::string, std::vector<double>> ops, reasons;
    for (const auto& s : samples_) {
        for (const auto& [op, ns] : s.namespace_ops) ops[op].push_back(ns / 1e6);
        for (const auto& [r, ns] : s.blocked_reasons) reasons[r].push_back(ns / 1e6);
    }
    nlohmann::json ns_ops = nlohmann::json::array();
    for (auto& [op, v] : ops) {
        v.resize(samples_.size(), 0.0);  // samples without this op count as 0
        ns_ops.push_back({{"op", op}, {"ms", round_ms(median_of(v))}});
    }
    nlohmann::json blocked = nlohmann::json::object();
    for (auto& [r, v] : reasons) {
        v.resize(samples_.size(), 0.0);
        blocked[r] = round_ms(median_of(v));
    }
    // The calls that make up runtime_syscalls, costliest first (medians; the top 8).
    std::map<std::string, std::vector<double>> calls;
    for (const auto& s : samples_)
        for (const auto& [c, ns] : s.runtime_calls) calls[c].push_back(ns / 1e6);
    std::vector<std::pair<double, std::string>> ranked;
    for (auto& [c, v] : calls) {
        v.resize(samples_.size(), 0.0);
        ranked.emplace_back(median_of(v), c);
    }
    std::sort(ranked.rbegin(), ranked.rend());
    nlohmann::json top_calls = nlohmann::json::array();
    for (std::size_t i = 0; i < ranked.size() && i < 8; ++i)
        top_calls.push_back({{"call", ranked[i].second}, {"ms", round_ms(ranked[i].first)}});
    tracer["samples"] = samples_.size();
    return {{"tracer", tracer},
            {"phases", phases},
            {"unattributed_share", round_share(median_of(unattributed))},
            {"sum_error", sum_errors.empty() ? 0.0 : *std::max_element(sum_errors.begin(), sum_errors.end())},
            {"window_ms", round_ms(median_of(windows) / 1e6)},
            {"namespace_ops", ns_ops},
            {"blocked_ms_by_state", blocked},
            {"runtime_calls", top_calls}};
}

}  // namespace ctb::bpf
