#include "conformance/harness/registry.hpp"

namespace ctb::conformance {

std::vector<Case>& registry() {
    static std::vector<Case> cases;
    return cases;
}

const std::vector<std::string>& areas() {
    static const std::vector<std::string> all{"ns", "cgroup", "overlay", "ports", "network", "volume", "security"};
    return all;
}

std::string skip_reason(const Case& c, const report::HostProbe& host) {
    return first_unmet(c.needs, host);
}

}  // namespace ctb::conformance
