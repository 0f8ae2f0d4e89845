#include "conformance/probe/probe.hpp"

#include <fmt/format.h>

#include "conformance/security/helpers.hpp"

// Emitted by ctbench-probe.S (embed-probe.sh): the static binary's bytes.
extern "C" const char ctb_probe_bin_start[];
extern "C" const char ctb_probe_bin_end[];

namespace ctb::conformance {

std::string probe_layer(const ScratchDir& scratch, const std::string& name) {
    std::string layer = scratch.path() + "/" + name;
    std::string binary(ctb_probe_bin_start, static_cast<std::size_t>(ctb_probe_bin_end - ctb_probe_bin_start));
    require(!binary.empty(), "embedded ctbench-probe", kProbe, "the build embedded an empty binary");
    must(sec::write_owned_file(layer + kProbe, binary, 0755, 0, 0), "write the probe layer");
    return layer;
}

std::vector<std::string> probe_argv(std::vector<std::string> args) {
    args.insert(args.begin(), kProbe);
    return args;
}

}  // namespace ctb::conformance
