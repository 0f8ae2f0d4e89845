// start.cgroup: what a container's cgroup costs, per cgroup version the host has. For v1 a
// runtime makes a directory in every controller hierarchy; for v2 one directory in the unified
// hierarchy. Series: create + remove of those directories, and attach (a fresh process written
// to each cgroup.procs, then killed and reaped) against the same process not attached (`none`).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>

#include "benches/harness/measure.hpp"
#include "benches/registry.hpp"
#include "common/files.hpp"
#include "runtime/cgroups/detect.hpp"

namespace ctb::bench {
namespace {

constexpr int kCgroupsRepetitions = 20;

struct Version {
    std::string name;               // "v1" or "v2"
    std::vector<std::string> dirs;  // <mount>/ctbench/bench-cg-<pid>, one per hierarchy
    std::vector<bool> cpuset;       // v1 cpuset hierarchy: cpus/mems must be set before tasks join
};

// As every v1 runtime must: a new cpuset has empty cpus/mems and refuses tasks (ENOSPC) until
// both are copied from its parent.
Status init_cpuset(const std::string& dir) {
    std::string parent = dir.substr(0, dir.rfind('/'));
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        auto mine = read_file(dir + "/" + file);
        if (!mine) return fail(mine.error());
        if (mine->find_first_not_of(" \n") != std::string::npos) continue;
        auto inherited = read_file(parent + "/" + file);
        if (!inherited) return fail(inherited.error());
        if (auto s = write_file(dir + "/" + file, *inherited); !s) return s;
    }
    return {};
}

std::vector<Version> versions(const cgroup::Layout& layout) {
    Version v1{"v1", {}, {}}, v2{"v2", {}, {}};
    std::string leaf = fmt::format("{}/bench-cg-{}", cgroup::kParentName, ::getpid());
    for (const auto& h : layout.hierarchies) {
        if (h.version == 1 && h.controllers.empty()) continue;  // named hierarchies carry no limits
        Version& v = h.version == 1 ? v1 : v2;
        v.dirs.push_back(h.mount + "/" + leaf);
        v.cpuset.push_back(h.version == 1 && std::find(h.controllers.begin(), h.controllers.end(), "cpuset") != h.controllers.end());
    }
    std::vector<Version> out;
    for (auto& v : {v1, v2})
        if (!v.dirs.empty()) out.push_back(v);
    return out;
}

Status make_all(const Version& v) {
    for (std::size_t i = 0; i < v.dirs.size(); ++i) {
        if (::mkdir(v.dirs[i].c_str(), 0755) != 0) return fail(sys_error("mkdir", v.dirs[i]));
        if (v.cpuset[i])
            if (auto s = init_cpuset(v.dirs[i]); !s) return s;
    }
    return {};
}

Status remove_all(const std::vector<std::string>& dirs) {
    Status first;
    for (const auto& d : dirs)
        if (::rmdir(d.c_str()) != 0 && errno != ENOENT && first) first = fail(sys_error("rmdir", d));
    return first;
}

// A process that only waits to be killed, optionally attached to every dir; then killed, reaped.
Status attach_once(const std::vector<std::string>& dirs) {
    pid_t pid = ::fork();
    if (pid < 0) return fail(sys_error("fork", "attach subject"));
    if (pid == 0) {
        for (;;) ::pause();
    }
    Status s;
    for (const auto& d : dirs)
        if (s) s = write_file(d + "/cgroup.procs", std::to_string(pid));
    ::kill(pid, SIGKILL);  // our own child, by pid
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return s;
}

Result<std::vector<report::BenchResult>> cgroups(const BenchContext& ctx) {
    int reps = ctx.repetitions > 0 ? ctx.repetitions : kCgroupsRepetitions;
    auto layout = cgroup::detect();
    if (!layout) return fail(layout.error());
    std::vector<report::BenchResult> out;
    auto none = measure_ms("start.cgroup/none", [] { return attach_once({}); }, reps);
    if (!none) return fail(none.error());
    out.push_back(make_result("start.cgroup/none", *none, {{"what", "fork + kill + reap, no cgroup"}}));
    for (const auto& v : versions(*layout)) {
        for (std::size_t i = 0; i < v.dirs.size(); ++i) {
            std::string parent = v.dirs[i].substr(0, v.dirs[i].rfind('/'));
            if (auto s = make_dirs(parent, 0755); !s) return fail(s.error());
            if (v.cpuset[i])
                if (auto s = init_cpuset(parent); !s) return fail(s.error());
        }
        nlohmann::json ctx_json = {{"hierarchies", v.dirs.size()}, {"cgroup_mode", cgroup::to_string(layout->mode)}};
        auto create = measure_ms("start.cgroup/" + v.name + "-create-remove", [&] {
            if (auto s = make_all(v); !s) {
                (void)remove_all(v.dirs);
                return s;
            }
            return remove_all(v.dirs);
        }, reps);
        if (!create) return fail(create.error());
        ctx_json["what"] = "mkdir (+ cpuset.cpus/mems from the parent on v1) + rmdir of one cgroup in each hierarchy";
        out.push_back(make_result("start.cgroup/" + v.name + "-create-remove", *create, ctx_json));
        if (auto s = make_all(v); !s) {
            (void)remove_all(v.dirs);
            return fail(s.error());
        }
        auto attach = measure_ms("start.cgroup/" + v.name + "-attach", [&] { return attach_once(v.dirs); }, reps);
        auto removed = remove_all(v.dirs);
        if (!attach) return fail(attach.error());
        if (!removed) return fail(removed.error());
        ctx_json["what"] = "fork + write to cgroup.procs of each hierarchy + kill + reap";
        auto r = make_result("start.cgroup/" + v.name + "-attach", *attach, ctx_json);
        set_ratio(r, out.front());
        out.push_back(std::move(r));
    }
    return out;
}

using K = Requirement::Kind;
CTB_BENCH("start.cgroup", "cgroup create/remove and attach per cgroup version the host has", {{K::root, ""}}, cgroups);

}  // namespace
}  // namespace ctb::bench
