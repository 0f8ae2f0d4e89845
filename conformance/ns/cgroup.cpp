// Cgroup namespaces: inside, the container's own cgroup is the root, both in /proc/self/cgroup
// and in a cgroup filesystem mounted there; the host sees the real paths.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

#include "conformance/ns/support.hpp"

namespace ctb::conformance::nscase {
namespace {

constexpr const char* kCgroupNsRef = "cgroup_namespaces(7); OCI runtime-spec config-linux.md#namespaces";

struct CgroupLine {
    std::string id, controllers, path;  // "4", "memory", "/ctbench/x"; v2: "0", "", "/..."
};

std::vector<CgroupLine> parse_cgroup(const std::string& text) {
    std::vector<CgroupLine> out;
    for (const auto& l : lines(text)) {
        auto a = l.find(':'), b = l.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        out.push_back({l.substr(0, a), l.substr(a + 1, b - a - 1), l.substr(b + 1)});
    }
    return out;
}

json to_json(const std::vector<CgroupLine>& v) {
    json out = json::array();
    for (const auto& l : v) out.push_back(fmt::format("{}:{}:{}", l.id, l.controllers, l.path));
    return out;
}

Verdict self_cgroup_is_root(const CaseContext& ctx) {
    Containers cs(ctx);
    auto c = cs.start(agent({"sleep", "30"}));
    auto host_view = parse_cgroup(read_text(fmt::format("/proc/{}/cgroup", c->pid())));
    json init_inside = agent_json(must_exec(*c, {kAgent, "cat", "/proc/1/cgroup"}), "agent cat");
    json self_inside = agent_json(must_exec(*c, {kAgent, "cat", "/proc/self/cgroup"}), "agent cat");
    auto init_lines = parse_cgroup(init_inside.value("content", ""));
    auto self_lines = parse_cgroup(self_inside.value("content", ""));
    json ev = {{"init_seen_from_host", to_json(host_view)},
               {"init_seen_inside", to_json(init_lines)},
               {"exec_process_seen_inside", to_json(self_lines)},
               {"cgroup_ns_inside", ns_inode_of(c->pid(), "cgroup")},
               {"cgroup_ns_host", own_ns_inode("cgroup")}};
    if (init_lines.empty() || self_lines.empty()) setup_failed("/proc/<pid>/cgroup unreadable inside");
    if (ev["cgroup_ns_inside"] == ev["cgroup_ns_host"])
        return Verdict::fail("the container shares the host's cgroup namespace", ev);
    bool own_cgroup =
        std::any_of(host_view.begin(), host_view.end(), [&](const CgroupLine& l) { return contains(l.path, c->id()); });
    if (!own_cgroup) setup_failed("the host does not see the container in a cgroup of its own");
    for (const auto* v : {&init_lines, &self_lines})
        for (const auto& l : *v)
            if (l.path != "/") return Verdict::fail("a cgroup path inside the container is not \"/\"", ev);
    return Verdict::pass(ev);
}

// The hierarchy to mount inside: one in which the container has a cgroup of its own, v1 memory
// first (a hybrid host's v2 hierarchy may hold no container cgroup at all).
std::optional<CgroupLine> pick_hierarchy(const std::vector<CgroupLine>& host_view, const std::string& id) {
    std::optional<CgroupLine> pick;
    for (const auto& l : host_view) {
        if (!contains(l.path, id)) continue;
        if (l.controllers == "memory") return l;
        if (!pick) pick = l;
    }
    return pick;
}

// Host mount point of a hierarchy, from the host's mountinfo.
std::string host_mount_point(const CgroupLine& h) {
    for (const auto& l : lines(read_text("/proc/self/mountinfo"))) {
        auto w = words(l);
        auto dash = std::find(w.begin(), w.end(), "-");
        if (dash == w.end() || w.end() - dash < 4 || w.size() < 5) continue;
        if (h.id == "0" ? dash[1] == "cgroup2"
                        : dash[1] == "cgroup" && contains("," + dash[3] + ",", "," + h.controllers + ","))
            return w[4];
    }
    return {};
}

Verdict cgroupfs_rooted_at_container(const CaseContext& ctx) {
    Containers cs(ctx);
    spec::Spec s = agent({"sleep", "30"});
    add_capabilities(s, {"CAP_SYS_ADMIN"});
    auto c = cs.start(s);
    auto host_view = parse_cgroup(read_text(fmt::format("/proc/{}/cgroup", c->pid())));
    auto h = pick_hierarchy(host_view, c->id());
    if (!h) setup_failed("the container has no cgroup of its own in any hierarchy: " + to_json(host_view).dump());
    std::string host_root = host_mount_point(*h);
    if (host_root.empty()) setup_failed("hierarchy " + h->controllers + " is not mounted on the host");
    std::vector<std::string> host_siblings;
    for (const auto& e : list_dir(host_root))
        if (std::filesystem::is_directory(host_root + "/" + e)) host_siblings.push_back(e);
    std::string mount_cmd = h->id == "0" ? "mount -t cgroup2 cgroup2 /tmp/cg"
                            : contains(h->controllers, "name=")
                                ? fmt::format("mount -t cgroup -o none,{} cgroup /tmp/cg", h->controllers)
                                : fmt::format("mount -t cgroup -o {} cgroup /tmp/cg", h->controllers);
    auto out = must_exec(*c, {"/bin/sh", "-c",
                         mount_cmd.insert(0, "mkdir -p /tmp/cg && ") +
                             " && echo dirs: && find /tmp/cg -mindepth 1 -maxdepth 1 -type d && echo procs: && "
                             "cat /tmp/cg/cgroup.procs && echo end"});
    if (out.status != 0 || !contains(out.out, "end"))
        setup_failed("mount the hierarchy inside: " + out.out + out.err);
    std::vector<std::string> inside_dirs, inside_procs;
    auto* into = &inside_dirs;
    for (const auto& l : lines(out.out)) {
        if (l == "dirs:")
            into = &inside_dirs;
        else if (l == "procs:")
            into = &inside_procs;
        else if (l != "end")
            into->push_back(l);
    }
    // The same mount, seen from the host: its root is the container's cgroup.
    std::string host_seen_root;
    for (const auto& l : lines(read_text(fmt::format("/proc/{}/mountinfo", c->pid())))) {
        auto w = words(l);
        if (w.size() > 4 && w[4] == "/tmp/cg") host_seen_root = w[3];
    }
    json ev = {{"hierarchy", fmt::format("{}:{}", h->id, h->controllers)},
               {"container_cgroup", h->path},
               {"host_hierarchy_root", host_root},
               {"host_root_subdirs", host_siblings},
               {"inside_root_subdirs", inside_dirs},
               {"inside_root_procs", inside_procs},
               {"mount_root_seen_from_host", host_seen_root}};
    if (host_seen_root != h->path)
        return Verdict::fail("the cgroupfs mounted inside is not rooted at the container's cgroup", ev);
    if (!inside_dirs.empty())
        return Verdict::fail("the cgroupfs mounted inside shows cgroups outside the container's", ev);
    if (std::find(inside_procs.begin(), inside_procs.end(), "1") == inside_procs.end())
        return Verdict::fail("the root cgroup inside does not hold the container's init (pid 1)", ev);
    if (host_siblings.empty()) setup_failed("the host's hierarchy has no sub-cgroups to hide: nothing proven");
    return Verdict::pass(ev);
}

CTB_CONFORMANCE_CASE({
    .id = "ns.cgroup.self_cgroup_is_root",
    .reference = kCgroupNsRef,
    .needs = container_needs(),
    .body = self_cgroup_is_root,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.cgroup.cgroupfs_rooted_at_container",
    .reference = kCgroupNsRef,
    .needs = container_needs(),
    .body = cgroupfs_rooted_at_container,
});

}  // namespace
}  // namespace ctb::conformance::nscase
