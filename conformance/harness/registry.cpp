#include "conformance/harness/registry.hpp"

#include "conformance/harness/rootless.hpp"

#include <sstream>

#include "runtime/rootfs/mount_options.hpp"

namespace ctb::conformance {

std::vector<Case>& registry() {
    static std::vector<Case> cases;
    return cases;
}

// CTB_CONFORMANCE_AREAS comes from conformance/meson.build, where the area folders are listed.
const std::vector<std::string>& areas() {
    static const std::vector<std::string> all = [] {
        std::vector<std::string> out;
        std::istringstream in(CTB_CONFORMANCE_AREAS);
        for (std::string area; std::getline(in, area, ',');) out.push_back(area);
        return out;
    }();
    return all;
}

namespace {

bool builtin(const std::string& runtime) {
    return runtime.empty() || runtime == "ctbench" || runtime.ends_with("ctbench-runtime");
}

// The built-in runtime answers for itself from its own parse tables, as its `features` command
// does (reports/ cannot ask it: it sits below the runtime): an option it refuses to parse is a
// skip decided up front, not a container refused in the middle of a case.
std::string builtin_gap(const Requirement& r, const std::string& runtime) {
    if (r.kind != Requirement::Kind::runtime_feature || !builtin(runtime)) return {};
    if (r.value != "idmapped_mounts") return {};
    auto parsed = rootfs::parse_mount_options({"bind", "idmap"});
    return parsed ? "" : "the built-in runtime refuses idmapped mounts: " + parsed.error().message();
}

}  // namespace

std::string skip_reason(const Case& c, const report::HostProbe& host, const std::string& runtime) {
    // `--rootless`: a case that cannot run unprivileged says so before any host gap.
    if (rootless_runtime(runtime))
        if (auto why = rootless::rootful_reason(c); !why.empty())
            return unmet_requirement({Requirement::Kind::rootful, why}, host, runtime);
    for (const auto& r : c.needs)
        if (auto gap = builtin_gap(r, runtime); !gap.empty()) return gap;
    return first_unmet(c.needs, host, runtime);
}

}  // namespace ctb::conformance
