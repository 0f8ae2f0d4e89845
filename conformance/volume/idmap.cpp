// volume.options.idmap: an idmapped bind mount (mount option "idmap" with the mount's own
// uidMappings/gidMappings, OCI runtime-spec 1.2) shows each file with its on-disk owner mapped:
// an id inside the mapping's containerID range appears as hostID + (id - containerID), an id
// outside it as the overflow id (65534), as mount_setattr(2) MOUNT_ATTR_IDMAP does with the user
// namespace the runtime makes from the mapping. And the other direction, by the kernel's own
// view from the host: a file the container's user (host uid 100005 = mapped 5) creates through
// the mount is owned by 5:5 on disk, and reads back as 100005 inside. The control is the same
// directory bound without idmap, where every file shows its on-disk owner. Skipped up front
// where the runtime does not offer idmapped mounts (its `features`, or the built-in runtime's
// own parse tables) or the kernel is older than 5.12; a runtime that refuses the option when it
// gets it is a skip too (crun 1.8 has no `features` to ask beforehand).
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::vol {
namespace {

constexpr long kContainerId = 0, kHostId = 100000, kSize = 100, kOverflow = 65534;
constexpr long kOwners[] = {0, 5, 500};  // in the range, in the range, outside it
// The container's process runs as mapped(kCreator); the directory is kCreator's on disk, so
// through the mapping it is the process's own and it may create there (and only there).
constexpr long kCreator = 5;

long mapped(long disk) { return disk >= kContainerId && disk < kContainerId + kSize ? kHostId + disk - kContainerId : kOverflow; }

Verdict idmap(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir dir("idmap");
    for (long id : kOwners) {
        std::string f = fmt::format("{}/f{}", dir.path(), id);
        must(write_file(f, "x\n"));
        check_sys(::chown(f.c_str(), static_cast<uid_t>(id), static_cast<gid_t>(id)), "chown", f);
    }
    check_sys(::chown(dir.path().c_str(), kCreator, kCreator), "chown", dir.path());
    check_sys(::chmod(dir.path().c_str(), 0755), "chmod", dir.path());
    spec::Spec s = agent_spec({});
    auto creator = static_cast<std::uint32_t>(mapped(kCreator));
    s.process.user = spec::User{creator, creator, std::nullopt, {}};
    spec::Mount idmapped{"/mnt/idmap", "bind", dir.path(), {"bind", "idmap"}};
    idmapped.uid_mappings = idmapped.gid_mappings = {{kContainerId, kHostId, kSize}};
    s.mounts.push_back(idmapped);
    s.mounts.push_back({"/mnt/plain", "bind", dir.path(), {"bind"}});
    std::vector<sec::Probe> probes;
    for (long id : kOwners)
        for (const char* at : {"idmap", "plain"})
            probes.push_back({fmt::format("{}_f{}", at, id), agent_argv({"stat", fmt::format("/mnt/{}/f{}", at, id)})});
    probes.push_back({"create", agent_argv({"touch", "/mnt/idmap/new"})});
    probes.push_back({"idmap_new", agent_argv({"stat", "/mnt/idmap/new"})});
    RunRequest req{s};
    req.timeout = std::chrono::seconds(10);
    auto run = sec::run_probes(*rt, req, probes);
    if (!run) return Verdict::skip("the runtime refused the idmapped mount: " + run.error().message());
    const auto& r = *run;
    if (auto why = sec::could_not_run(r); !why.empty()) setup_failed(why);
    json e = {{"mapping", {{"containerID", kContainerId}, {"hostID", kHostId}, {"size", kSize}}}};
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
    // The kernel's view from the host: the file the container made is owned by the unmapped id.
    struct stat host {};
    std::string made = dir.path() + "/new";
    bool exists = ::stat(made.c_str(), &host) == 0;
    e["create"] = sec::find(r, "create")->evidence();
    e["host_new"] = exists ? json{{"uid", host.st_uid}, {"gid", host.st_gid}} : json("missing");
    c.expect(sec::find(r, "create")->ok() && exists && host.st_uid == kCreator && host.st_gid == kCreator,
             fmt::format("a file created through the idmapped mount by {0}:{0} is owned by {1}:{1} on disk "
                         "(stat from the host)", mapped(kCreator), kCreator));
    const auto* back = sec::find(r, "idmap_new");
    c.expect(back->ok() && back->doc.value("uid", -1L) == mapped(kCreator) && back->doc.value("gid", -1L) == mapped(kCreator),
             fmt::format("the created file reads back as {0}:{0} inside", mapped(kCreator)));
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
