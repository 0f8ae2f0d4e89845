// The conformance case registry. Each case declares, with named fields, what it is (.id
// `area.name...`), what it checks (.reference: a man page, kernel document or OCI spec section),
// what the host and the runtime under test must offer (.needs, decided before anything runs), its
// deadline (.timeout) and its .body. Cases register themselves at static-init time, one source
// file per area under conformance/<area>/:
//
//   CTB_CONFORMANCE_CASE({
//       .id = "overlay.xino.uniform_inodes",
//       .reference = "Documentation/filesystems/overlayfs.rst#xino",
//       .needs = {{K::root, ""}, {K::overlay_feature, "xino"}},
//       .timeout = std::chrono::seconds(10),
//       .body = xino_case,
//   });
//
// A body uses the case kit (kit.hpp): setup failures raised once, expectations gathered in Checks.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/host_probe.hpp"
#include "reports/requirements.hpp"
#include "reports/model.hpp"

namespace ctb::conformance {

// Requirements are shared with the benches (reports/requirements.hpp); cases name them unqualified.
using ::ctb::Requirement;
using ::ctb::unmet_requirement;

struct CaseContext {
    const report::HostProbe& host;
    std::string runtime;  // the runtime under test ("ctbench" for the built-in library)
};

// What a case's body returns: pass/fail with a reason and the evidence it observed. `error` comes
// from the kit's setup failures (the runner turns them into it). Skips are decided by .needs up
// front; a body skips only when it discovers, by trying, what no requirement can know (e.g. the
// control run shows that the host has nothing the case could tell apart).
struct Verdict {
    report::Outcome outcome;
    std::string reason;
    nlohmann::json evidence = nlohmann::json::object();

    static Verdict pass(nlohmann::json evidence = nlohmann::json::object()) {
        return {report::Outcome::pass, "", std::move(evidence)};
    }
    static Verdict fail(std::string why, nlohmann::json evidence = nlohmann::json::object()) {
        return {report::Outcome::fail, std::move(why), std::move(evidence)};
    }
    static Verdict error(std::string why) { return {report::Outcome::error, std::move(why), nlohmann::json::object()}; }
    static Verdict skip(std::string why) { return {report::Outcome::skip, std::move(why), nlohmann::json::object()}; }
};

struct Case {
    std::string id;  // "ns.pid.init_is_1"; the area is the first component
    std::string reference;
    std::vector<Requirement> needs;
    std::chrono::milliseconds timeout{30'000};
    std::function<Verdict(const CaseContext&)> body;

    std::string area() const { return id.substr(0, id.find('.')); }
};

std::vector<Case>& registry();
// The conformance areas, in report order, whether or not any case is registered yet.
const std::vector<std::string>& areas();

struct Registrar {
    explicit Registrar(Case c) { registry().push_back(std::move(c)); }
};

// Why the host, or the runtime under test ("ctbench", "runc", "crun", a path), cannot run this
// case ("" when it can). Decided before anything runs: `ctbench run --list` prints it.
std::string skip_reason(const Case& c, const report::HostProbe& host, const std::string& runtime = "ctbench");

}  // namespace ctb::conformance

#define CTB_CONCAT_INNER(a, b) a##b
#define CTB_CONCAT(a, b) CTB_CONCAT_INNER(a, b)
// CTB_CONFORMANCE_CASE({.id = ..., .reference = ..., .needs = ..., .timeout = ..., .body = ...});
#define CTB_CONFORMANCE_CASE(...) \
    static ::ctb::conformance::Registrar CTB_CONCAT(ctb_case_, __COUNTER__){::ctb::conformance::Case __VA_ARGS__}
