#include "reports/validate.hpp"

#include <cmath>
#include <fmt/format.h>

#include "reports/model.hpp"

namespace ctb::report {
namespace {

using json = nlohmann::json;

Error at(const std::string& pointer, const std::string& detail) {
    return plain_error("read report", "at " + (pointer.empty() ? std::string("/") : pointer), detail);
}

const char* kind_name(const json& j) { return j.type_name(); }

// Looks up a required member of an object and checks its JSON type.
Result<const json*> member(const json& obj, const std::string& ptr, const std::string& key, json::value_t type) {
    auto it = obj.find(key);
    if (it == obj.end()) return fail(at(ptr + "/" + key, "missing (required)"));
    bool ok = it->type() == type || (type == json::value_t::number_float && it->is_number());
    if (!ok) {
        json expected(type);
        return fail(at(ptr + "/" + key, fmt::format("expected {}, got {}", expected.type_name(), kind_name(*it))));
    }
    return &*it;
}

Status strings(const json& obj, const std::string& ptr, std::initializer_list<const char*> keys) {
    for (const char* k : keys)
        if (auto m = member(obj, ptr, k, json::value_t::string); !m) return fail(m.error());
    return {};
}

Status numbers(const json& obj, const std::string& ptr, std::initializer_list<const char*> keys) {
    for (const char* k : keys) {
        auto m = member(obj, ptr, k, json::value_t::number_float);
        if (!m) return fail(m.error());
        if (!std::isfinite((*m)->get<double>())) return fail(at(ptr + "/" + k, "must be a finite number"));
    }
    return {};
}

Status check_run(const json& run) {
    if (!run.is_object()) return fail(at("/run", "expected object"));
    if (auto s = strings(run, "/run", {"ctbench_version", "git_revision", "hostname", "kernel", "cgroup_mode", "suite",
                                       "started_at", "finished_at"});
        !s)
        return s;
    auto rt = member(run, "/run", "runtime", json::value_t::object);
    if (!rt) return fail(rt.error());
    if (auto s = strings(**rt, "/run/runtime", {"name", "path", "version"}); !s) return s;
    if (auto m = member(run, "/run", "command_line", json::value_t::array); !m) return fail(m.error());
    auto host = member(run, "/run", "host", json::value_t::object);
    if (!host) return fail(host.error());
    try {
        (void)(*host)->get<HostProbe>();  // its reader knows its own fields; say where it stopped
    } catch (const json::exception& e) {
        return fail(at("/run/host", e.what()));
    }
    return {};
}

Status check_case(const json& c, const std::string& ptr) {
    if (!c.is_object()) return fail(at(ptr, fmt::format("expected object, got {}", kind_name(c))));
    if (auto s = strings(c, ptr, {"id", "area", "outcome", "reason", "reference"}); !s) return s;
    if (!outcome_from_string(c["outcome"].get<std::string>()))
        return fail(at(ptr + "/outcome", "expected pass, fail, skip or error, got \"" + c["outcome"].get<std::string>() + "\""));
    if (auto s = numbers(c, ptr, {"duration_seconds"}); !s) return s;
    if (auto m = member(c, ptr, "evidence", json::value_t::object); !m) return fail(m.error());
    return {};
}

Status check_samples(const json& samples, const std::string& ptr) {
    if (samples.empty()) return fail(at(ptr, "no samples (at least one is required)"));
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const json& s = samples[i];
        std::string where = fmt::format("{}/{}", ptr, i);
        if (!s.is_number()) return fail(at(where, fmt::format("expected number, got {}", kind_name(s))));
        double v = s.get<double>();
        if (!std::isfinite(v)) return fail(at(where, "sample is not a finite number"));
        if (v < 0) return fail(at(where, fmt::format("negative sample {} (times and rates are >= 0)", v)));
    }
    return {};
}

// Optional members added in schema 1.x: checked when present, so a hand edit cannot smuggle in a
// NaN ratio interval or a fidelity without its tool.
Status check_bench_extras(const json& b, const std::string& ptr) {
    if (b.contains("ratio_ci")) {
        auto r = member(b, ptr, "ratio_ci", json::value_t::object);
        if (!r) return fail(r.error());
        if (auto s = numbers(**r, ptr + "/ratio_ci", {"low", "high", "level"}); !s) return s;
    }
    if (b.contains("fidelity")) {
        auto f = member(b, ptr, "fidelity", json::value_t::object);
        if (!f) return fail(f.error());
        if (auto s = strings(**f, ptr + "/fidelity", {"tool", "tool_version", "metric"}); !s) return s;
        if (auto s = numbers(**f, ptr + "/fidelity", {"ratio"}); !s) return s;
    }
    if (b.contains("stats")) {
        auto st = member(b, ptr, "stats", json::value_t::object);
        if (!st) return fail(st.error());
        if (auto s = numbers(**st, ptr + "/stats", {"mean", "cv", "mad", "first_sample_ratio"}); !s) return s;
        if (auto m = member(**st, ptr + "/stats", "outliers", json::value_t::array); !m) return fail(m.error());
        if (auto m = member(**st, ptr + "/stats", "warmup_effect", json::value_t::boolean); !m) return fail(m.error());
    }
    if (b.contains("yardstick"))
        if (auto m = member(b, ptr, "yardstick", json::value_t::string); !m) return fail(m.error());
    if (b.contains("sampled_in_rounds"))
        if (auto m = member(b, ptr, "sampled_in_rounds", json::value_t::boolean); !m) return fail(m.error());
    if (b.contains("warnings")) {
        auto w = member(b, ptr, "warnings", json::value_t::array);
        if (!w) return fail(w.error());
        for (std::size_t i = 0; i < (*w)->size(); ++i)
            if (!(**w)[i].is_string()) return fail(at(fmt::format("{}/warnings/{}", ptr, i), "expected string"));
    }
    return {};
}

Status check_bench(const json& b, const std::string& ptr) {
    if (!b.is_object()) return fail(at(ptr, fmt::format("expected object, got {}", kind_name(b))));
    if (auto s = strings(b, ptr, {"name", "unit"}); !s) return s;
    if (b["name"].get<std::string>().empty()) return fail(at(ptr + "/name", "empty benchmark name"));
    auto samples = member(b, ptr, "samples", json::value_t::array);
    if (!samples) return fail(samples.error());
    if (auto s = check_samples(**samples, ptr + "/samples"); !s) return s;
    if (auto s = numbers(b, ptr, {"median", "min", "max"}); !s) return s;
    auto ci = member(b, ptr, "ci", json::value_t::object);
    if (!ci) return fail(ci.error());
    if (auto s = numbers(**ci, ptr + "/ci", {"low", "high", "level"}); !s) return s;
    for (const char* k : {"baseline", "ratio"})
        if (!b.contains(k)) return fail(at(ptr + "/" + k, "missing (required; null when there is none)"));
    if (!b["baseline"].is_null() && !b["baseline"].is_string()) return fail(at(ptr + "/baseline", "expected string or null"));
    if (!b["ratio"].is_null() && !b["ratio"].is_number()) return fail(at(ptr + "/ratio", "expected number or null"));
    if (auto m = member(b, ptr, "context", json::value_t::object); !m) return fail(m.error());
    return check_bench_extras(b, ptr);
}

Status check_not_run(const json& b, const std::string& ptr) {
    if (!b.is_object()) return fail(at(ptr, "expected object"));
    if (auto s = strings(b, ptr, {"name", "reason"}); !s) return s;
    if (auto m = member(b, ptr, "error", json::value_t::boolean); !m) return fail(m.error());
    return {};
}

template <class Check>
Status each(const json& doc, const char* key, Check check) {
    auto list = member(doc, "", key, json::value_t::array);
    if (!list) return fail(list.error());
    for (std::size_t i = 0; i < (*list)->size(); ++i)
        if (auto s = check((**list)[i], fmt::format("/{}/{}", key, i)); !s) return s;
    return {};
}

}  // namespace

Status check_report_document(const json& doc) {
    if (!doc.is_object()) return fail(at("", fmt::format("expected a JSON object, got {}", kind_name(doc))));
    if (doc.value("kind", json()) != kReportKind)
        return fail(at("/kind", std::string("expected \"") + kReportKind + "\" (not a ctbench report)"));
    if (!doc.contains("schema_version") || !doc["schema_version"].is_number_integer())
        return fail(at("/schema_version", "missing or not an integer"));
    if (doc["schema_version"].get<long long>() != kSchemaVersion)
        return fail(at("/schema_version", fmt::format("schema major version {}; this ctbench reads version {}",
                                                      doc["schema_version"].dump(), kSchemaVersion)));
    if (auto run = member(doc, "", "run", json::value_t::object); !run) return fail(run.error());
    else if (auto s = check_run(**run); !s) return s;
    if (auto s = each(doc, "conformance", check_case); !s) return s;
    if (auto s = each(doc, "benchmarks", check_bench); !s) return s;
    if (auto s = each(doc, "benchmarks_not_run", check_not_run); !s) return s;
    if (auto m = member(doc, "", "traces", json::value_t::array); !m) return fail(m.error());
    return {};
}

}  // namespace ctb::report
