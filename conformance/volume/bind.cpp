// volume.bind_mount_host_dir: a host directory bind-mounted into a container (OCI config.md#mounts,
// type bind) shows the host's files inside, and what the container writes lands on the host.
#include <unistd.h>

#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/harness/registry.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::vol {
namespace {

using K = ::ctb::conformance::Requirement::Kind;
using nlohmann::json;

constexpr const char* kDest = "/mnt/host";

Verdict bind_mount_host_dir(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir dir("volume");
    std::string host_token = fmt::format("from-host-{}", ::getpid());
    std::string ctr_token = fmt::format("from-container-{}", ::getpid());
    must(write_file(dir.path() + "/host.txt", host_token));

    spec::Spec spec = agent_spec({});
    spec.mounts.push_back({kDest, "bind", dir.path(), {"rbind", "rprivate"}});
    auto r = must(sec::run_probes(*rt, spec,
                             {{"read", agent_argv({"cat", std::string(kDest) + "/host.txt"})},
                              {"write", agent_argv({"write", std::string(kDest) + "/container.txt", ctr_token})}}));
    auto on_host = read_file(dir.path() + "/container.txt");
    json evidence{{"host_dir", dir.path()},
                  {"read_inside", sec::find(r, "read")->evidence()},
                  {"write_inside", sec::find(r, "write")->evidence()},
                  {"on_host", on_host ? json(*on_host) : json(on_host.error().message())}};
    const json& read = sec::find(r, "read")->doc;
    if (read.value("content", json()) != host_token)
        return Verdict::fail("the container does not see the host directory's file", evidence);
    if (!on_host || *on_host != ctr_token)
        return Verdict::fail("the container's write did not land in the host directory", evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "volume.bind_mount_host_dir",
    .reference = "OCI runtime-spec config.md#mounts (type bind); mount(2) MS_BIND",
    .needs = {{K::root, ""}},
    .body = bind_mount_host_dir,
});

}  // namespace
}  // namespace ctb::conformance::vol
