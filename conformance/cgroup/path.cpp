// linux.cgroupsPath, with the kernel as the oracle (/proc/<init>/cgroup and cgroupfs, never the
// runtime's state):
//  - cgroup.path.absolute: "/ctbench/<id>-abs" puts the init exactly there below the root of each
//    hierarchy (its cgroup.procs lists the init), and the directory is gone once the container is.
//  - cgroup.path.relative: "ctbench/<id>-rel" is placed below a location the runtime chooses (the
//    spec leaves it to the runtime: ctbench uses its ctbench/ tree, runc and crun their caller's
//    cgroup), so the init's path ends with the relative path, the directory holds the init, and
//    it is gone afterwards. Control: the absolute case's path starts at the root.
#include <unistd.h>

#include <fmt/format.h>
#include <sstream>

#include "common/deadline.hpp"
#include "common/files.hpp"
#include "conformance/cgroup/helpers.hpp"

namespace ctb::conformance::cgroup_cases {
namespace {

// The hierarchy the case reads: pids (v1 or v2), or the unified one on a pure v2 host.
constexpr const char* kController = "pids";

struct Placement {
    std::string dir;     // <mount><path> of the init's cgroup
    std::string path;    // the path inside the hierarchy
    bool holds_init = false;
    json proc_cgroup;    // /proc/<init>/cgroup, as the kernel shows it
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

Placement placement(const CaseContext& ctx, pid_t init) {
    Placement p;
    p.dir = must(cgroup_dir(ctx.host, init, kController), "find the init's cgroup");
    bool v2 = hierarchy_of(ctx.host, kController) == "v2";
    const std::string& mount = v2 ? ctx.host.cgroups.v2_mount : ctx.host.controller(kController)->mount;
    p.path = p.dir.substr(mount.size());
    auto procs = must(read_file(p.dir + "/cgroup.procs"), "read cgroup.procs");
    for (const auto& line : lines_of(procs))
        if (trim(line) == std::to_string(init)) p.holds_init = true;
    p.proc_cgroup = lines_of(read_file(fmt::format("/proc/{}/cgroup", init)).value_or(""));
    return p;
}

bool gone(const std::string& dir) { return ::access(dir.c_str(), F_OK) != 0; }

// A relative cgroupsPath "ctbench/<name>" below a runtime's own location leaves that location's
// new "ctbench" directory behind (runc 1.1 removes only the leaf), outside the project's top
// ctbench/ tree where cleanup looks: removed here once empty, in every hierarchy the init was in.
void remove_relative_parents(const CaseContext& ctx, const json& proc_cgroup, const std::string& name) {
    for (const auto& l : proc_cgroup) {
        std::string line = l.get<std::string>();
        auto a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        std::string leaf = "/ctbench/" + name;
        if (!path.ends_with(leaf) || path == leaf) continue;
        std::string first = controllers.substr(0, controllers.find(','));
        const auto* c = first.empty() ? nullptr : ctx.host.controller(first);
        std::string mount = first.empty() ? ctx.host.cgroups.v2_mount : (c ? c->mount : "");
        if (mount.empty()) continue;
        ::rmdir((mount + path.substr(0, path.size() - name.size() - 1)).c_str());  // only when empty
    }
}

Verdict placed(const CaseContext& ctx, bool absolute) {
    auto rt = runtime_under_test(ctx);
    std::string name = fmt::format("ctbc-{}-{}", ::getpid(), absolute ? "abs" : "rel");
    std::string given = absolute ? "/ctbench/" + name : "ctbench/" + name;
    spec::Spec s = agent_spec({"sleep", "20"});
    s.linux.cgroups_path = given;
    Placement p;
    {
        Started c = must_start(*rt, RunRequest{s});
        p = placement(ctx, c->pid());
    }
    // The runtime removes what it created when the container goes (delete): bounded wait.
    bool removed = retry_until(Deadline(std::chrono::seconds(5)), [&] { return gone(p.dir); });
    if (!absolute) remove_relative_parents(ctx, p.proc_cgroup, name);
    json e = {{"cgroupsPath", given}, {"controller", kController}, {"init_cgroup_dir", p.dir},
              {"path_in_hierarchy", p.path}, {"cgroup_procs_holds_init", p.holds_init},
              {"proc_pid_cgroup", p.proc_cgroup}, {"removed_after_delete", removed}};
    Checks c;
    if (absolute)
        c.expect(p.path == given, fmt::format("the init's cgroup is {}, not the absolute cgroupsPath {}", p.path, given));
    else
        c.expect(p.path.ends_with("/" + given),
                 fmt::format("the init's cgroup {} does not end with the relative cgroupsPath {}", p.path, given));
    c.expect(p.holds_init, "cgroup.procs of the cgroupsPath directory does not list the init");
    c.expect(removed, "the cgroupsPath directory is still there after the container was deleted");
    return c.verdict(e);
}

std::vector<Requirement> path_needs() { return {{K::root, ""}, {K::cgroup_controller, kController}}; }

CTB_CONFORMANCE_CASE({
    .id = "cgroup.path.absolute",
    .reference = "OCI runtime-spec config-linux.md#cgroups-path (absolute); cgroups(7) /proc/pid/cgroup",
    .needs = path_needs(),
    .body = [](const CaseContext& ctx) { return placed(ctx, true); },
});
CTB_CONFORMANCE_CASE({
    .id = "cgroup.path.relative",
    .reference = "OCI runtime-spec config-linux.md#cgroups-path (relative: below a runtime-determined location); "
                 "cgroups(7) /proc/pid/cgroup",
    .needs = path_needs(),
    .body = [](const CaseContext& ctx) { return placed(ctx, false); },
});

}  // namespace
}  // namespace ctb::conformance::cgroup_cases
