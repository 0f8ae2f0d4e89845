#include "benches/registry.hpp"

namespace ctb::bench {

std::vector<Bench>& registry() {
    static std::vector<Bench> benches;
    return benches;
}

const std::vector<std::string>& areas() {
    static const std::vector<std::string> all{"start", "overlayio", "veth"};
    return all;
}

}  // namespace ctb::bench
