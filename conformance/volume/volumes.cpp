// volume.*: named volumes (runtime/rootfs/volumes.hpp) as bind mounts of OCI config.md#mounts.
// Each case proves what a user relies on by moving data through the kernel: written in one
// container, read in another (or on the host), refused where the mount is read-only.
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>

#include "conformance/harness/registry.hpp"
#include "conformance/volume/helpers.hpp"

namespace ctb::conformance::vol {
namespace {

using K = ::ctb::conformance::Requirement::Kind;
using nlohmann::json;

std::string data_file(const std::string& name) { return std::string(kMountPoint) + "/" + name; }

std::string content_of(const json& cat) {
    return cat.value("ok", false) && cat.value("content", json()).is_string() ? cat["content"].get<std::string>() : "";
}

Verdict data_survives_delete(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    auto v = must(ScopedVolume::create("survive"));
    auto use = must(rootfs::use_volume(v.name()));
    std::string token = fmt::format("written-by-a-{}", ::getpid());

    spec::Spec a = agent_spec({"write", data_file("token"), token});
    a.mounts.push_back(rootfs::volume_mount(v.path(), kMountPoint, false));
    auto wrote = rt->run(RunRequest{a});  // create, start, wait, delete
    must(wrote);
    if (wrote->status != 0) return Verdict::fail("container A could not write the volume", {{"a", wrote->json()}});

    spec::Spec b = agent_spec({"cat", data_file("token")});
    b.mounts = a.mounts;
    auto read = must(rt->run(RunRequest{b}));
    json evidence{{"token", token}, {"a_write", wrote->json()}, {"b_read", read.json()}};
    if (content_of(read.json()) != token)
        return Verdict::fail("container B did not read what deleted container A wrote", evidence);
    return Verdict::pass(evidence);
}

Verdict shared_concurrently(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    auto v = must(ScopedVolume::create("shared"));
    auto use = must(rootfs::use_volume(v.name()));
    auto a = must(start_with_volume(*rt, v, false));
    auto b = must(start_with_volume(*rt, v, false));

    // Both directions, each read right after the write: no sync, no wait.
    std::string a_token = fmt::format("from-a-{}", ::getpid()), b_token = fmt::format("from-b-{}", ::getpid());
    json evidence{{"a_write", sec::agent_inside(*a, {"write", data_file("a"), a_token})},
                  {"b_read", sec::agent_inside(*b, {"cat", data_file("a")})},
                  {"b_write", sec::agent_inside(*b, {"write", data_file("b"), b_token})},
                  {"a_read", sec::agent_inside(*a, {"cat", data_file("b")})}};
    if (content_of(evidence["b_read"]) != a_token || content_of(evidence["a_read"]) != b_token)
        return Verdict::fail("a write in one running container was not visible in the other", evidence);
    return Verdict::pass(evidence);
}

Verdict readonly_mount(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    auto v = must(ScopedVolume::create("ro"));
    auto use = must(rootfs::use_volume(v.name()));
    auto writer = must(start_with_volume(*rt, v, false));
    auto reader = must(start_with_volume(*rt, v, true));

    std::string token = fmt::format("rw-{}", ::getpid());
    json evidence{{"ro_write", sec::agent_inside(*reader, {"write", data_file("from-ro"), "x"})},
                  {"rw_write", sec::agent_inside(*writer, {"write", data_file("from-rw"), token})},
                  {"ro_read", sec::agent_inside(*reader, {"cat", data_file("from-rw")})}};
    evidence["on_host_from_ro"] = ::access((v.path() + "/from-ro").c_str(), F_OK) == 0;
    if (evidence["ro_write"].value("errno_name", json()) != "EROFS" || evidence["on_host_from_ro"] == true)
        return Verdict::fail("the read-only mount accepted a write (want EROFS)", evidence);
    if (!evidence["rw_write"].value("ok", false))
        return Verdict::fail("the read-write container could not write the same volume", evidence);
    if (content_of(evidence["ro_read"]) != token)
        return Verdict::fail("the read-only container does not see the other container's write", evidence);
    return Verdict::pass(evidence);
}

Verdict remove_refused_while_in_use(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    auto v = must(ScopedVolume::create("busy"));
    auto use = must(rootfs::use_volume(v.name()));
    auto c = must(start_with_volume(*rt, v, false));

    std::string token = fmt::format("kept-{}", ::getpid());
    json evidence{{"write", sec::agent_inside(*c, {"write", data_file("kept"), token})}};
    auto busy = rootfs::remove_volume(v.name());
    evidence["while_in_use"] = busy ? "removed" : busy.error().message();
    evidence["read_after_refusal"] = sec::agent_inside(*c, {"cat", data_file("kept")});
    if (busy) return Verdict::fail("remove_volume succeeded while a container used the volume", evidence);
    if (busy.error().err != EBUSY) return Verdict::fail("remove_volume failed, but not with EBUSY", evidence);
    if (content_of(evidence["read_after_refusal"]) != token || ::access(v.path().c_str(), F_OK) != 0)
        return Verdict::fail("the refused removal still damaged the volume's data", evidence);

    c.stop();  // the container is gone, then its use of the volume ends
    use.release();
    auto after = rootfs::remove_volume(v.name());
    evidence["after_release"] = after ? "removed" : after.error().message();
    evidence["gone"] = ::access(v.path().c_str(), F_OK) != 0;
    if (!after || evidence["gone"] != true)
        return Verdict::fail("remove_volume failed once the volume was free", evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "volume.data_survives_delete",
    .reference = "OCI runtime-spec config.md#mounts (bind); Docker volumes",
    .needs = {{K::root, ""}},
    .body = data_survives_delete,
});
CTB_CONFORMANCE_CASE({
    .id = "volume.shared_concurrently",
    .reference = "OCI runtime-spec config.md#mounts; mount(2) MS_BIND",
    .needs = {{K::root, ""}},
    .body = shared_concurrently,
});
CTB_CONFORMANCE_CASE({
    .id = "volume.readonly_mount",
    .reference = "OCI runtime-spec config.md#mounts (ro); mount(2) MS_RDONLY (EROFS)",
    .needs = {{K::root, ""}},
    .body = readonly_mount,
});
CTB_CONFORMANCE_CASE({
    .id = "volume.remove_refused_while_in_use",
    .reference = "flock(2) LOCK_SH/LOCK_EX; Docker volume rm (in use)",
    .needs = {{K::root, ""}},
    .body = remove_refused_while_in_use,
});

}  // namespace
}  // namespace ctb::conformance::vol
