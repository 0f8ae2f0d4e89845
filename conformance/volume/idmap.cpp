// volume.options.idmap: an idmapped bind mount (mount option "idmap" with the mount's own
// uidMappings/gidMappings, OCI runtime-spec 1.1) shows each file with its on-disk owner mapped:
// an id inside the mapping's containerID range appears as hostID + (id - containerID), an id
// outside it as the overflow id (65534), as mount_setattr(2) MOUNT_ATTR_IDMAP does with the user
// namespace the runtime makes from the mapping. The control is the same directory bound without
// idmap, where every file shows its on-disk owner. Skipped up front where the runtime does not
// offer idmapped mounts (its `features`, or the built-in runtime's own parse tables) or the
// kernel is older than 5.12; a runtime that refuses the option when it gets it is a skip too
// (crun 1.8 has no `features` to ask beforehand).
#include <unistd.h>

#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::vol {
namespace {

constexpr long kContainerId = 0, kHostId = 100000, kSize = 100, kOverflow = 65534;
constexpr long kOwners[] = {0, 5, 500};  // in the range, in the range, outside it

long mapped(long disk) { return disk >= kContainerId && disk < kContainerId + kSize ? kHostId + disk - kContainerId : kOverflow; }

Verdict idmap(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir dir("idmap");
    for (long id : kOwners) {
        std::string f = fmt::format("{}/f{}", dir.path(), id);
        must(write_file(f, "x\n"));
        check_sys(::chown(f.c_str(), static_cast<uid_t>(id), static_cast<gid_t>(id)), "chown", f);
    }
    spec::Spec s = agent_spec({});
    s.mounts.push_back({"/mnt/idmap", "bind", dir.path(), {"bind", "idmap"}});
    s.mounts.push_back({"/mnt/plain", "bind", dir.path(), {"bind"}});
    std::vector<sec::Probe> probes;
    for (long id : kOwners)
        for (const char* at : {"idmap", "plain"})
            probes.push_back({fmt::format("{}_f{}", at, id), agent_argv({"stat", fmt::format("/mnt/{}/f{}", at, id)})});
    RunRequest req{s};
    req.timeout = std::chrono::seconds(10);
    json mapping = json::array({{{"containerID", kContainerId}, {"hostID", kHostId}, {"size", kSize}}});
    req.mount_fields = {{"/mnt/idmap", {{"uidMappings", mapping}, {"gidMappings", mapping}}}};
    auto run = sec::run_probes(*rt, req, probes);
    if (!run) return Verdict::skip("the runtime refused the idmapped mount: " + run.error().message());
    const auto& r = *run;
    json e = {{"mapping", mapping}};
    for (const auto& p : r) e[p.name] = p.doc.contains("uid") ? json{{"uid", p.doc["uid"]}, {"gid", p.doc["gid"]}} : p.evidence();
    for (long id : kOwners) {
        const auto* plain = sec::find(r, fmt::format("plain_f{}", id));
        require(plain->ok() && plain->doc.value("uid", -1L) == id && plain->doc.value("gid", -1L) == id, "control",
                fmt::format("/mnt/plain/f{}", id), "the plain bind does not show the on-disk owner: " + e.dump());
    }
    Checks c;
    for (long id : kOwners) {
        const auto* p = sec::find(r, fmt::format("idmap_f{}", id));
        long uid = p->doc.value("uid", -1L), gid = p->doc.value("gid", -1L);
        c.expect(p->ok() && uid == mapped(id) && gid == mapped(id),
                 fmt::format("a file owned by {0}:{0} on disk shows as {1}:{2} through the idmapped mount, not {3}:{3}", id,
                             uid, gid, mapped(id)));
    }
    return c.verdict(e);
}

}  // namespace

CTB_CONFORMANCE_CASE({
    .id = "volume.options.idmap",
    .reference = "mount_setattr(2) MOUNT_ATTR_IDMAP; Documentation/filesystems/idmappings.rst; OCI runtime-spec "
                 "config.md#mounts (uidMappings, gidMappings, idmap)",
    .needs = {{K::root, ""}, {K::namespace_type, "user"}, {K::kernel_version, "5.12"}, {K::runtime_feature, "idmapped_mounts"}},
    .body = idmap,
});

}  // namespace ctb::conformance::vol
