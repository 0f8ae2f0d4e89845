#include "conformance/harness/registry.hpp"

#include "conformance/harness/rootless.hpp"

#include <sstream>

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

std::string skip_reason(const Case& c, const report::HostProbe& host, const std::string& runtime) {
    // `--rootless`: a case that cannot run unprivileged says so before any host gap.
    if (rootless_runtime(runtime))
        if (auto why = rootless::rootful_reason(c); !why.empty())
            return unmet_requirement({Requirement::Kind::rootful, why}, host, runtime);
    return first_unmet(c.needs, host, runtime);
}

}  // namespace ctb::conformance
