// Bind mounts of a directory that has mounts of its own, against a control each:
//  - volume.options.rbind: "rbind" carries the source's submounts into the container (a tmpfs at
//    <src>/sub shows its file inside), plain "bind" does not (the same path shows the empty
//    directory below the submount); both show the source's own file (the control).
//  - volume.options.bind_propagation: a mount the host makes below the source after the container
//    started appears inside through "rshared" and "rslave" binds and not through an "rprivate"
//    one, while a mount made before the start shows in all three (the control).
// "Host" is the case's own mount namespace (private to the case, so nothing it mounts can reach
// the real host or outlive the case); the container's namespace is made from it by the runtime,
// which is all that propagation depends on. The source is a shared tmpfs, as / is on systemd hosts.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <fmt/format.h>
#include <sstream>

#include "common/files.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::vol {
namespace {

// A tmpfs mounted by the case, detached on every path.
class ScopedTmpfs {
public:
    explicit ScopedTmpfs(const std::string& at) : at_(at) {
        must(make_dirs(at_));
        check_sys(::mount("tmpfs", at_.c_str(), "tmpfs", 0, "size=1m,mode=755"), "mount tmpfs", at_);
    }
    ScopedTmpfs(const ScopedTmpfs&) = delete;
    ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;
    ~ScopedTmpfs() { ::umount2(at_.c_str(), MNT_DETACH); }
    const std::string& path() const { return at_; }

private:
    std::string at_;
};

// The case's own mount namespace, everything private first: what the case mounts stays in it.
void private_mount_namespace() {
    check_sys(::unshare(CLONE_NEWNS), "unshare", "mount namespace");
    check_sys(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / rprivate", "/");
}

// Lines of the container's mountinfo whose mount point starts with `prefix`: "<point> <optional fields>".
json mounts_below(const std::string& mountinfo, const std::string& prefix) {
    json out = json::array();
    std::istringstream in(mountinfo);
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::vector<std::string> w;
        for (std::string word; f >> word;) w.push_back(word);
        if (w.size() < 7 || !w[4].starts_with(prefix)) continue;
        std::string fields;
        for (std::size_t i = 6; i < w.size() && w[i] != "-"; ++i) fields += " " + w[i];
        out.push_back(w[4] + (fields.empty() ? " private" : fields));
    }
    return out;
}

Verdict rbind(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    private_mount_namespace();
    ScratchDir dir("rbind");
    std::string src = dir.mkdir("src");
    must(write_file(src + "/top", "top\n"));
    ScopedTmpfs sub(src + "/sub");
    must(write_file(sub.path() + "/sub-marker", "sub\n"));
    spec::Spec s = agent_spec({});
    s.mounts.push_back({"/mnt/r", "bind", src, {"rbind"}});
    s.mounts.push_back({"/mnt/b", "bind", src, {"bind"}});
    auto r = must(sec::run_probes(*rt, s,
                                  {{"r_top", agent_argv({"cat", "/mnt/r/top"})},
                                   {"b_top", agent_argv({"cat", "/mnt/b/top"})},
                                   {"r_sub", agent_argv({"cat", "/mnt/r/sub/sub-marker"})},
                                   {"b_sub", agent_argv({"cat", "/mnt/b/sub/sub-marker"})},
                                   {"mountinfo", agent_argv({"cat", "/proc/self/mountinfo"})}}),
                  "run the probes");
    json e = {{"source", src}, {"submount", sub.path()},
              {"mounts_inside", mounts_below(sec::find(r, "mountinfo")->doc.value("content", ""), "/mnt/")}};
    for (const char* n : {"r_top", "b_top", "r_sub", "b_sub"}) e[n] = sec::find(r, n)->evidence();
    require(sec::find(r, "r_top")->ok() && sec::find(r, "b_top")->ok(), "control", src,
            "the source's own file is not visible through both binds: " + e.dump());
    Checks c;
    c.expect(sec::find(r, "r_sub")->ok(), "an rbind mount does not carry the source's submount into the container");
    c.expect(sec::find(r, "b_sub")->errno_name() == "ENOENT",
             "a plain bind mount carried the source's submount (or the path gave another error than ENOENT)");
    return c.verdict(e);
}

Verdict bind_propagation(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    private_mount_namespace();
    ScratchDir dir("propagation");
    ScopedTmpfs src(dir.path() + "/src");
    check_sys(::mount(nullptr, src.path().c_str(), nullptr, MS_SHARED, nullptr), "make shared", src.path());
    ScopedTmpfs early(src.path() + "/early");
    must(write_file(early.path() + "/marker", "early\n"));
    spec::Spec s = agent_spec({"sleep", "20"});
    for (const char* mode : {"rshared", "rslave", "rprivate"})
        s.mounts.push_back({fmt::format("/mnt/{}", mode), "bind", src.path(), {"rbind", mode}});
    Started c = must_start(*rt, RunRequest{s});
    ScopedTmpfs late(src.path() + "/late");  // made on the "host" after the start
    must(write_file(late.path() + "/marker", "late\n"));
    std::vector<sec::Probe> probes;
    for (const char* mode : {"rshared", "rslave", "rprivate"})
        for (const char* when : {"early", "late"})
            probes.push_back({fmt::format("{}_{}", mode, when), agent_argv({"stat", fmt::format("/mnt/{}/{}/marker", mode, when)})});
    probes.push_back({"mountinfo", agent_argv({"cat", "/proc/self/mountinfo"})});
    auto r = must(sec::exec_probes(*c, probes), "run the probes");
    json inside = mounts_below(sec::find(r, "mountinfo")->doc.value("content", ""), "/mnt/");
    json e = {{"source", src.path()}, {"mounts_inside", inside}};
    // The kernel's own record of each bind's propagation: mountinfo's optional fields.
    auto fields_of = [&](const std::string& point) {
        for (const auto& m : inside)
            if (m.get<std::string>().starts_with(point + " ")) return m.get<std::string>().substr(point.size() + 1);
        return std::string("absent");
    };
    for (const auto& p : r)
        if (p.name != "mountinfo") e[p.name] = p.ok() ? json("visible") : json(p.errno_name().empty() ? p.output : p.errno_name());
    for (const char* mode : {"rshared", "rslave", "rprivate"})
        require(sec::find(r, fmt::format("{}_early", mode))->ok(), "control", mode,
                "a mount made before the start is not visible through the rbind: " + e.dump());
    Checks checks;
    checks.expect(sec::find(r, "rshared_late")->ok(), "a host mount made after the start does not appear through an rshared bind");
    checks.expect(sec::find(r, "rslave_late")->ok(), "a host mount made after the start does not appear through an rslave bind");
    checks.expect(sec::find(r, "rprivate_late")->errno_name() == "ENOENT",
                  "a host mount made after the start appeared through an rprivate bind");
    checks.expect(fields_of("/mnt/rshared").find("shared:") != std::string::npos,
                  "mountinfo does not show the rshared bind as shared (" + fields_of("/mnt/rshared") + ")");
    checks.expect(fields_of("/mnt/rslave").find("master:") != std::string::npos,
                  "mountinfo does not show the rslave bind as a slave (" + fields_of("/mnt/rslave") + ")");
    return checks.verdict(e);
}

std::vector<Requirement> propagation_needs() { return {{K::root, ""}, {K::namespace_type, "mount"}}; }

CTB_CONFORMANCE_CASE({
    .id = "volume.options.rbind",
    .reference = "mount(2) MS_BIND, MS_REC; OCI runtime-spec config.md#mounts (bind, rbind)",
    .needs = propagation_needs(),
    .body = rbind,
});
CTB_CONFORMANCE_CASE({
    .id = "volume.options.bind_propagation",
    .reference = "mount_namespaces(7) SHARED SUBTREES; Documentation/filesystems/sharedsubtree.rst; OCI runtime-spec "
                 "config.md#mounts (rshared, rslave, rprivate)",
    .needs = propagation_needs(),
    .body = bind_propagation,
});

}  // namespace
}  // namespace ctb::conformance::vol
