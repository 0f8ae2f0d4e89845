// The conformance case registry. Each case declares what it is (id `area.name...`), what the host
// must offer (requirements, decided from the host probe before anything runs) and what it checks
// (a man page, kernel document or OCI spec section). Cases register themselves at static-init
// time with CTB_CONFORMANCE_CASE, one source file per area under conformance/<area>/.
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

// What a case's body returns: pass/fail/error with a reason and the evidence it observed.
// (skip is decided by requirements up front; a body may also skip when it discovers, by trying,
// that the host lacks something the probe could not see.)
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
    std::string id;    // "ns.pid.init_is_1"; the area is the first component
    std::string reference;
    std::vector<Requirement> needs;
    std::function<Verdict(const CaseContext&)> body;
    std::chrono::milliseconds timeout{30'000};

    std::string area() const { return id.substr(0, id.find('.')); }
};

std::vector<Case>& registry();
// The conformance areas, in report order, whether or not any case is registered yet.
const std::vector<std::string>& areas();

struct Registrar {
    explicit Registrar(Case c) { registry().push_back(std::move(c)); }
};

// Why the host cannot run this case ("" when it can).
std::string skip_reason(const Case& c, const report::HostProbe& host);

}  // namespace ctb::conformance

#define CTB_CONCAT_INNER(a, b) a##b
#define CTB_CONCAT(a, b) CTB_CONCAT_INNER(a, b)
#define CTB_CONFORMANCE_CASE(...) \
    static ::ctb::conformance::Registrar CTB_CONCAT(ctb_case_, __LINE__){::ctb::conformance::Case{__VA_ARGS__}}
