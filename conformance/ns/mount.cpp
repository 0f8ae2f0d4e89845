// Mount namespaces: propagation types (shared, slave, private, unbindable) with raw mount(2) in a
// private mount namespace, and a container's mounts and root kept apart from the host's.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/ns/support.hpp"

namespace ctb::conformance::nscase {
namespace {

constexpr const char* kMountRef = "mount_namespaces(7); OCI runtime-spec config-linux.md#namespaces";
constexpr const char* kPropagationRef =
    "mount_namespaces(7) SHARED SUBTREES; Documentation/filesystems/sharedsubtree.rst";

int mount_errno(const std::string& source, const std::string& target, const char* type, unsigned long flags) {
    return ::mount(source.empty() ? nullptr : source.c_str(), target.c_str(), type, flags,
                   type ? "size=1m" : nullptr) == 0
               ? 0
               : errno;
}

// The optional fields (shared:N, master:N, propagate_from:N, unbindable) of the mountinfo line of
// `mount_point` in the calling process's namespace.
std::string propagation_fields(const std::string& mount_point) {
    std::string out;
    for (const auto& line : lines(read_text("/proc/self/mountinfo"))) {
        auto w = words(line);
        if (w.size() < 7 || w[4] != mount_point) continue;
        out.clear();
        for (std::size_t i = 6; i < w.size() && w[i] != "-"; ++i) out += (out.empty() ? "" : " ") + w[i];
        if (out.empty()) out = "private";
    }
    return out;
}

// In a forked child with its own mount namespace (everything made private first, so nothing can
// reach the host): a tmpfs at <dir>/a, given `propagation`, bound to <dir>/b (then `b_then`
// applied to b), and a new mount under each side, to see whether it shows on the other.
json propagation_experiment(const std::string& dir, unsigned long propagation, unsigned long b_then) {
    return in_child([&] {
        json r;
        auto step = [&](const char* what, int err) {
            if (err) r["setup"] = fmt::format("{}: {}", what, err_name(err));
            return err == 0;
        };
        if (!step("unshare(CLONE_NEWNS)", ::unshare(CLONE_NEWNS) == 0 ? 0 : errno) ||
            !step("make / rprivate", mount_errno("", "/", nullptr, MS_REC | MS_PRIVATE)) ||
            !step("scratch tmpfs", mount_errno("tmpfs", dir, "tmpfs", 0)))
            return r;
        std::string a = dir + "/a", b = dir + "/b";
        ::mkdir(a.c_str(), 0755);
        ::mkdir(b.c_str(), 0755);
        if (!step("tmpfs on a", mount_errno("tmpfs", a, "tmpfs", 0))) return r;
        ::mkdir((a + "/x").c_str(), 0755);
        ::mkdir((a + "/y").c_str(), 0755);
        if (!step("propagation of a", mount_errno("", a, nullptr, propagation))) return r;
        int bind = mount_errno(a, b, nullptr, MS_BIND);
        r["bind_a_to_b"] = err_name(bind);
        if (bind != 0) return r;
        if (b_then && !step("propagation of b", mount_errno("", b, nullptr, b_then))) return r;
        r["a_fields"] = propagation_fields(a);
        r["b_fields"] = propagation_fields(b);
        // A mount under a, seen (or not) under b; and the other way round.
        if (!step("tmpfs on a/x", mount_errno("tmpfs", a + "/x", "tmpfs", 0))) return r;
        must(write_file(a + "/x/from-a", "a"), "marker");
        if (!step("tmpfs on b/y", mount_errno("tmpfs", b + "/y", "tmpfs", 0))) return r;
        must(write_file(b + "/y/from-b", "b"), "marker");
        struct stat st {};
        r["a_to_b"] = ::stat((b + "/x/from-a").c_str(), &st) == 0;
        r["b_to_a"] = ::stat((a + "/y/from-b").c_str(), &st) == 0;
        return r;
    });
}

Verdict check_propagation(const std::string& tag, unsigned long propagation, unsigned long b_then, bool want_a_to_b,
                          bool want_b_to_a) {
    ScratchDir dir("prop-" + tag);
    json r = propagation_experiment(dir.path(), propagation, b_then);
    if (r.contains("setup")) setup_failed(r["setup"].get<std::string>());
    if (r["bind_a_to_b"] != "ok") return Verdict::fail("bind mount of a " + tag + " mount failed", r);
    if (r["a_to_b"] != want_a_to_b)
        return Verdict::fail(
            fmt::format("a mount under the original {} at the bind", want_a_to_b ? "did not show" : "showed"), r);
    if (r["b_to_a"] != want_b_to_a)
        return Verdict::fail(
            fmt::format("a mount under the bind {} at the original", want_b_to_a ? "did not show" : "showed"), r);
    return Verdict::pass(r);
}

Verdict propagation_shared(const CaseContext&) { return check_propagation("shared", MS_SHARED, 0, true, true); }
Verdict propagation_slave(const CaseContext&) { return check_propagation("slave", MS_SHARED, MS_SLAVE, true, false); }
Verdict propagation_private(const CaseContext&) { return check_propagation("private", MS_PRIVATE, 0, false, false); }

Verdict propagation_unbindable(const CaseContext&) {
    ScratchDir dir("prop-unbindable");
    json r = in_child([&] {
        json r;
        if (::unshare(CLONE_NEWNS) != 0 || mount_errno("", "/", nullptr, MS_REC | MS_PRIVATE) != 0 ||
            mount_errno("tmpfs", dir.path(), "tmpfs", 0) != 0)
            return json{{"setup", "private scratch tmpfs: " + err_name(errno)}};
        std::string u = dir.path() + "/unbindable", p = dir.path() + "/private", t = dir.path() + "/target";
        for (const auto& d : {u, p, t}) ::mkdir(d.c_str(), 0755);
        if (mount_errno("tmpfs", u, "tmpfs", 0) || mount_errno("", u, nullptr, MS_UNBINDABLE) ||
            mount_errno("tmpfs", p, "tmpfs", 0))
            return json{{"setup", "unbindable and private tmpfs: " + err_name(errno)}};
        r["unbindable_fields"] = propagation_fields(u);
        r["bind_unbindable"] = err_name(mount_errno(u, t, nullptr, MS_BIND));
        r["rbind_unbindable"] = err_name(mount_errno(u, t, nullptr, MS_BIND | MS_REC));
        r["bind_private"] = err_name(mount_errno(p, t, nullptr, MS_BIND));
        return r;
    });
    if (r.contains("setup")) setup_failed(r["setup"].get<std::string>());
    if (r["bind_unbindable"] != "EINVAL" || r["rbind_unbindable"] != "EINVAL")
        return Verdict::fail("binding an unbindable mount was not refused with EINVAL", r);
    if (r["bind_private"] != "ok") return Verdict::fail("control: binding a private mount failed", r);
    return Verdict::pass(r);
}

// Mountinfo lines of a text that mention `needle`.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
    std::vector<std::string> out;
    for (const auto& l : lines(text))
        if (contains(l, needle)) out.push_back(l);
    return out;
}

Verdict container_mounts_invisible_on_host(const CaseContext& ctx) {
    Containers cs(ctx);
    spec::Spec s = agent({"sleep", "30"});
    add_capabilities(s, {"CAP_SYS_ADMIN"});
    auto c = cs.start(s);
    std::string point = "/ctbns-mnt-" + short_token();
    json mounted = agent_json(must_exec(*c, {kAgent, "mount-tmpfs", point}), "agent mount-tmpfs");
    if (mounted.value("ok", false) != true) setup_failed("mount a tmpfs in the container: " + mounted.dump());
    json inside = agent_json(must_exec(*c, {kAgent, "cat", "/proc/self/mountinfo"}), "agent cat");
    json ev = {
        {"mount_point_inside", point},
        {"inside", lines_with(inside.value("content", ""), point)},
        {"container_ns_seen_from_host", lines_with(read_text(fmt::format("/proc/{}/mountinfo", c->pid())), point)},
        {"host_self", lines_with(read_text("/proc/self/mountinfo"), point)}};
    // The host's init's mount namespace too (this case may run in a private copy of it).
    if (auto init = read_file("/proc/1/mountinfo")) ev["host_init"] = lines_with(*init, point);
    if (ev["inside"].empty()) return Verdict::fail("the tmpfs is missing from the container's own mount table", ev);
    if (ev["container_ns_seen_from_host"].empty())
        setup_failed("the tmpfs is missing from /proc/<init>/mountinfo: not the container's mount namespace?");
    if (!ev["host_self"].empty() || (ev.contains("host_init") && !ev["host_init"].empty()))
        return Verdict::fail("a mount made inside the container appears in the host's mount table", ev);
    return Verdict::pass(ev);
}

// major:minor of the mount at "/" in a mountinfo text (the last one: the one in use).
std::string root_device(const std::string& mountinfo) {
    std::string dev;
    for (const auto& l : lines(mountinfo)) {
        auto w = words(l);
        if (w.size() > 4 && w[4] == "/") dev = w[2];
    }
    return dev;
}

bool under(const std::string& path, const std::string& dir) {
    return path == dir ||
           (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

Verdict old_root_unreachable(const CaseContext& ctx) {
    // A marker on the host, in the host's root tree; its name is searched for everywhere inside.
    ScratchDir dir("oldroot");
    std::string name = "ctbench-oldroot-marker-" + short_token();
    std::string marker = dir.path() + "/" + name;
    must(write_file(marker, "host"), "create the marker");
    Containers cs(ctx);
    spec::Spec s =
        shell_spec(fmt::format("ctbench-agent stat {0}; ctbench-agent cat /proc/self/mountinfo; "
                          "find / \\( -path /proc -o -path /sys \\) -prune -o -name {1} -print; echo find-done",
                          marker, name));
    auto out = cs.run(s);
    auto docs = json_lines(out.out);
    if (docs.size() != 2 || !contains(out.out, "find-done"))
        setup_failed("unexpected output: " + out.out + out.err);
    std::vector<std::string> found;
    for (const auto& l : lines(out.out))
        if (contains(l, name) && l.front() != '{') found.push_back(l);
    // The container's mount table: only its root and the spec's mounts (and masked/read-only
    // paths below them); nothing on the host's root device.
    std::string inside = docs[1].value("content", "");
    std::string host_root_dev = root_device(read_text("/proc/self/mountinfo"));
    std::vector<std::string> allowed{"/"};
    for (const auto& m : s.mounts) allowed.push_back(m.destination);
    for (const auto* list : {&s.linux.masked_paths, &s.linux.readonly_paths})
        allowed.insert(allowed.end(), list->begin(), list->end());
    std::vector<std::string> foreign, on_host_root;
    for (const auto& l : lines(inside)) {
        auto w = words(l);
        if (w.size() < 5) continue;
        bool ok = w[4] == "/";
        for (std::size_t i = 1; i < allowed.size() && !ok; ++i) ok = under(w[4], allowed[i]);
        if (!ok) foreign.push_back(l);
        if (w[2] == host_root_dev) on_host_root.push_back(l);
    }
    json ev = {{"marker_on_host", marker},
               {"stat_inside", docs[0]},
               {"found_inside", found},
               {"host_root_device", host_root_dev},
               {"inside_mount_count", lines(inside).size()},
               {"unexpected_mount_points", foreign},
               {"mounts_on_host_root_device", on_host_root}};
    if (docs[0]["errno_name"] != "ENOENT") return Verdict::fail("the host's marker is reachable at its host path", ev);
    if (!found.empty()) return Verdict::fail("the host's marker is reachable somewhere inside the container", ev);
    if (!on_host_root.empty()) return Verdict::fail("the host's root filesystem is mounted inside the container", ev);
    if (!foreign.empty())
        return Verdict::fail("the container's mount table has mount points the spec did not ask for", ev);
    return Verdict::pass(ev);
}

CTB_CONFORMANCE_CASE({
    .id = "ns.mount.propagation_shared",
    .reference = kPropagationRef,
    .needs = raw_needs({"mount"}),
    .body = propagation_shared,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.mount.propagation_slave",
    .reference = kPropagationRef,
    .needs = raw_needs({"mount"}),
    .body = propagation_slave,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.mount.propagation_private",
    .reference = kPropagationRef,
    .needs = raw_needs({"mount"}),
    .body = propagation_private,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.mount.propagation_unbindable",
    .reference = kPropagationRef,
    .needs = raw_needs({"mount"}),
    .body = propagation_unbindable,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.mount.container_mounts_invisible_on_host",
    .reference = kMountRef,
    .needs = container_needs(),
    .body = container_mounts_invisible_on_host,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.mount.old_root_unreachable",
    .reference = "pivot_root(2); " + std::string(kMountRef),
    .needs = container_needs(),
    .body = old_root_unreachable,
});

}  // namespace
}  // namespace ctb::conformance::nscase
