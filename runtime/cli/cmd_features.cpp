// `ctbench-runtime features`: the runtime-spec features document (features.md; the shape of
// `runc features`), built from the tables the runtime itself parses with, so it cannot claim a
// name the runtime would refuse.
#include <fmt/format.h>
#include <seccomp.h>

#include <nlohmann/json.hpp>

#include "runtime/cgroups/detect.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/rootfs/mount_options.hpp"
#include "runtime/security/seccomp.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::runtime_cli {
namespace {

nlohmann::json features_document() {
    auto seccomp = security::seccomp_support();
    const scmp_version* v = ::seccomp_version();
    nlohmann::json linux_ = {
        {"namespaces", spec::all_namespace_types()},
        {"capabilities", spec::all_capability_names()},
        // cgroupfs only: v1, v2 and hybrid hosts; no systemd driver.
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp", {{"enabled", true}, {"actions", seccomp.actions}, {"operators", seccomp.operators},
                     {"archs", seccomp.archs}, {"knownFlags", seccomp.flags}, {"supportedFlags", seccomp.flags}}},
        // Mount uidMappings/gidMappings with "idmap"/"ridmap" (rootfs/idmap.hpp), bind mounts only.
        {"mountExtensions", {{"idmap", {{"enabled", true}}}}},
        // Accepted in config.json, not enforced: no LSM handling in this runtime.
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}},
    };
    return {
        {"ociVersionMin", spec::kMinOciVersion},
        {"ociVersionMax", "1.3.0"},
        {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
        {"mountOptions", rootfs::known_mount_options()},
        {"linux", linux_},
        {"annotations",
         {{"io.github.seccomp.libseccomp.version", fmt::format("{}.{}.{}", v->major, v->minor, v->micro)},
          {"org.ctbench.runtime.version", CTBENCH_VERSION}}},
    };
}

}  // namespace

void register_features(CLI::App& app, int& rc) {
    auto* cmd = app.add_subcommand("features", "Print the runtime-spec features document (JSON)");
    cmd->callback([&rc] {
        fmt::print("{}\n", features_document().dump(4));
        rc = 0;
    });
}

}  // namespace ctb::runtime_cli
