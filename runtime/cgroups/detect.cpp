#include "runtime/cgroups/detect.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <mutex>
#include <optional>
#include <sstream>

#include "common/fd.hpp"
#include "common/files.hpp"

namespace ctb::cgroup {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, sep);)
        if (!item.empty()) out.push_back(item);
    return out;
}

// mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"
struct MountLine {
    std::string root, mount_point, fstype, super_options;
};

std::optional<MountLine> parse_mount_line(const std::string& line) {
    auto fields = split(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 7 || dash == fields.end() || std::distance(dash, fields.end()) < 4) return std::nullopt;
    return MountLine{fields[3], fields[4], *(dash + 1), *(dash + 3)};
}

// v1 super options name the controllers: "rw,cpu,cpuacct" or "rw,name=systemd".
Hierarchy v1_hierarchy(const MountLine& m) {
    Hierarchy h{1, m.mount_point, {}, {}};
    static const std::vector<std::string> generic{"rw", "ro", "relatime", "noatime", "nosuid", "nodev",
                                                  "noexec", "xattr", "clone_children", "noprefix",
                                                  "cpuset_v2_mode", "favordynmods"};
    for (const auto& opt : split(m.super_options, ',')) {
        if (opt.starts_with("name=")) h.name = opt.substr(5);
        else if (opt.find('=') == std::string::npos &&
                 std::find(generic.begin(), generic.end(), opt) == generic.end())
            h.controllers.push_back(opt);
    }
    return h;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::string to_string(Mode mode) {
    switch (mode) {
        case Mode::v1: return "v1";
        case Mode::v2: return "v2";
        case Mode::hybrid: return "hybrid";
        case Mode::none: break;
    }
    return "none";
}

const Hierarchy* Layout::find(const std::string& controller) const {
    for (const auto& h : hierarchies)
        if (contains(h.controllers, controller)) return &h;
    return nullptr;
}

const Hierarchy* Layout::v2() const {
    for (const auto& h : hierarchies)
        if (h.version == 2) return &h;
    return nullptr;
}

std::vector<Hierarchy> parse_mountinfo(const std::string& mountinfo) {
    std::vector<Hierarchy> out;
    for (const auto& line : split(mountinfo, '\n')) {
        auto m = parse_mount_line(line);
        // Only whole-hierarchy mounts (root "/"): bind mounts of sub-cgroups are views, not homes.
        if (!m || m->root != "/") continue;
        Hierarchy h;
        if (m->fstype == "cgroup2") h = Hierarchy{2, m->mount_point, {}, {}};
        else if (m->fstype == "cgroup") h = v1_hierarchy(*m);
        else continue;
        bool seen = std::any_of(out.begin(), out.end(), [&](const Hierarchy& o) {
            return o.version == h.version && o.controllers == h.controllers && o.name == h.name;
        });
        if (!seen) out.push_back(h);
    }
    return out;
}

std::vector<std::string> parse_proc_cgroups(const std::string& proc_cgroups) {
    std::vector<std::string> out;
    for (const auto& line : split(proc_cgroups, '\n')) {
        if (line.starts_with("#")) continue;
        auto fields = split(line, '\t');
        if (fields.size() >= 4 && fields[3] == "1") out.push_back(fields[0]);
    }
    return out;
}

Mode classify(const std::vector<Hierarchy>& hierarchies) {
    bool v1 = std::any_of(hierarchies.begin(), hierarchies.end(),
                          [](const Hierarchy& h) { return h.version == 1 && !h.controllers.empty(); });
    bool v2 = std::any_of(hierarchies.begin(), hierarchies.end(), [](const Hierarchy& h) { return h.version == 2; });
    if (v1 && v2) return Mode::hybrid;
    if (v2) return Mode::v2;
    if (v1) return Mode::v1;
    return Mode::none;
}

namespace {

Result<Layout> read_layout() {
    auto mountinfo = read_file("/proc/thread-self/mountinfo");
    if (!mountinfo) return fail(mountinfo.error());
    Layout layout;
    layout.hierarchies = parse_mountinfo(*mountinfo);
    for (auto& h : layout.hierarchies) {
        if (h.version != 2) continue;
        auto controllers = read_file(h.mount + "/cgroup.controllers");
        if (!controllers) return fail(controllers.error());
        h.controllers = split(trim(*controllers), ' ');
    }
    layout.mode = classify(layout.hierarchies);
    if (auto proc = read_file("/proc/cgroups")) layout.known_controllers = parse_proc_cgroups(*proc);
    // cgroup-v2-only controllers (io, misc, ...) are not in /proc/cgroups; add what v2 offers.
    if (const Hierarchy* v2 = layout.v2())
        for (const auto& c : v2->controllers)
            if (!contains(layout.known_controllers, c)) layout.known_controllers.push_back(c);
    return layout;
}

// The last layout read, for one mount namespace, while its mount table has not changed.
struct LayoutCache {
    std::mutex lock;
    pid_t owner = 0;  // a forked child shares the watch's open file, and so its change flag
    ino_t mount_ns = 0;
    UniqueFd watch;  // /proc/self/mountinfo of that namespace: POLLPRI after any (u)mount in it
    std::optional<Layout> layout;
};

LayoutCache& cache() {
    static LayoutCache c;
    return c;
}

ino_t current_mount_ns() {
    struct stat st {};
    return ::stat("/proc/thread-self/ns/mnt", &st) == 0 ? st.st_ino : 0;
}

// True when a mount or unmount happened since the last call (poll also resets the flag).
bool mount_table_changed(int watch_fd) {
    pollfd p{watch_fd, POLLPRI, 0};
    int n = ::poll(&p, 1, 0);
    return n < 0 || (n == 1 && (p.revents & (POLLPRI | POLLERR)) != 0);
}

}  // namespace

Result<Layout> detect() {
    LayoutCache& c = cache();
    std::lock_guard hold(c.lock);
    ino_t ns = current_mount_ns();
    pid_t self = ::getpid();
    if (c.layout && ns != 0 && ns == c.mount_ns && self == c.owner && !mount_table_changed(c.watch.get()))
        return *c.layout;
    c.layout.reset();
    // Opened before the read: a change in between is flagged, and the next call reads again.
    c.watch.reset(::open("/proc/thread-self/mountinfo", O_RDONLY | O_CLOEXEC));
    auto layout = read_layout();
    if (layout && c.watch && ns != 0) {
        c.owner = self;
        c.mount_ns = ns;
        c.layout = *layout;
    }
    return layout;
}

Feature probe_subtree(const Hierarchy& hierarchy, const std::string& controller) {
    std::string parent = hierarchy.mount + "/" + kParentName;
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)
        return Feature::no(fmt::format("mkdir {}: {}", parent, errno_name(errno)));
    std::string probe = fmt::format("{}/probe-{}", parent, ::getpid());
    if (::mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST)
        return Feature::no(fmt::format("mkdir {}: {}", probe, errno_name(errno)));
    Feature result = Feature::yes(fmt::format("created and removed {}", probe));
    if (hierarchy.version == 2) {
        // What ctbench's parent may hand down is what the root enabled in its subtree_control.
        auto enabled = read_file(parent + "/cgroup.controllers");
        if (!enabled || !contains(split(trim(*enabled), ' '), controller))
            result = Feature::no(fmt::format("{} is not delegated to {} (not in {}/cgroup.subtree_control)",
                                             controller, parent, hierarchy.mount));
    }
    if (::rmdir(probe.c_str()) != 0)
        return Feature::no(fmt::format("rmdir {}: {}", probe, errno_name(errno)));
    return result;
}

}  // namespace ctb::cgroup
