// start.namespace: what each namespace type costs alone. clone3 with one CLONE_NEW* flag, the
// child exits at once, the parent waits; against the same clone3 with no flag (the baseline, in
// the same run). The delta (median minus baseline median) is the namespace's own creation and
// teardown cost; teardown that the kernel defers (net namespaces are cleaned up by a worker)
// shows only partly, and the context says so.
#include <sched.h>


#include "benches/harness/clone.hpp"
#include "benches/harness/measure.hpp"
#include "benches/registry.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace ctb::bench {
namespace {

constexpr int kNamespacesRepetitions = 20;

struct Kind {
    const char* name;
    std::uint64_t flag;
};
const std::vector<Kind> kKinds{{"none", 0},
                               {"user", CLONE_NEWUSER},
                               {"mount", CLONE_NEWNS},
                               {"uts", CLONE_NEWUTS},
                               {"ipc", CLONE_NEWIPC},
                               {"pid", CLONE_NEWPID},
                               {"network", CLONE_NEWNET},
                               {"cgroup", CLONE_NEWCGROUP},
                               {"time", CLONE_NEWTIME}};

Status clone_and_reap(const Kind& kind) {
    auto status = clone3_and_wait(kind.flag, [] { return 0; }, kind.name);
    if (!status) return fail(status.error());
    return {};
}

Result<std::vector<report::BenchResult>> namespaces(const BenchContext& ctx) {
    int reps = ctx.repetitions > 0 ? ctx.repetitions : kNamespacesRepetitions;
    std::vector<report::BenchResult> out;
    std::vector<std::string> refused;
    for (const auto& k : kKinds) {
        std::string type = k.name;
        std::string why = k.flag ? unmet_requirement({Requirement::Kind::namespace_type, type}, ctx.host) : "";
        if (!why.empty()) {
            refused.push_back(type + ": " + why);
            continue;
        }
        std::uint64_t flag = k.flag;
        auto samples = measure_ms("start.namespace/" + type, [&k] { return clone_and_reap(k); }, reps);
        if (!samples) return fail(samples.error());
        nlohmann::json context = {{"what", "clone3(" + (flag ? "CLONE_NEW" + type : std::string("no flags")) + ") + _exit + waitpid"},
                                  {"tracer", "off"}};
        if (type == "network") context["note"] = "net namespace teardown is deferred to a kernel worker: partly outside the sample";
        out.push_back(make_result("start.namespace/" + type, *samples, context));
    }
    if (out.empty() || out.front().name != "start.namespace/none")
        return fail(plain_error("start.namespace", "baseline", "the plain clone3 baseline did not run"));
    for (std::size_t i = 1; i < out.size(); ++i) {
        set_ratio(out[i], out.front());
        out[i].context["delta_ms"] = out[i].median - out.front().median;
        if (!refused.empty()) out[i].context["not_measured"] = refused;
    }
    return out;
}

using K = Requirement::Kind;
CTB_BENCH("start.namespace", "each namespace type alone (clone3 with one CLONE_NEW* flag) against none",
          {{K::root, ""}}, namespaces);

}  // namespace
}  // namespace ctb::bench
