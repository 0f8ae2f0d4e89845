#include "runtime/cgroups/detect.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <iterator>
#include <mutex>
#include <optional>
#include <string_view>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/cgroups/mount_fds.hpp"

namespace ctb::cgroup {
namespace {

// Cuts the next `sep`-separated item off the front of `rest`; empty items are skipped. Views, not
// copies: a create after any mount change parses the whole mount table, and a stream-based split
// of its 20-30 lines cost 20-25 us here, the kernel's own text 35.
std::optional<std::string_view> next_item(std::string_view& rest, char sep) {
    while (!rest.empty() && rest.front() == sep) rest.remove_prefix(1);
    if (rest.empty()) return std::nullopt;
    auto end = std::min(rest.find(sep), rest.size());
    auto item = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    return item;
}

std::vector<std::string> items(std::string_view text, char sep) {
    std::vector<std::string> out;
    while (auto item = next_item(text, sep)) out.emplace_back(*item);
    return out;
}

// mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"
struct MountLine {
    std::string_view root, mount_point, fstype, super_options;
};

std::optional<MountLine> parse_mount_line(std::string_view line) {
    std::string_view head[6];  // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS
    for (auto& field : head) {
        auto item = next_item(line, ' ');
        if (!item) return std::nullopt;
        field = *item;
    }
    for (;;) {  // optional fields ("shared:9", ...) up to the lone "-"
        auto item = next_item(line, ' ');
        if (!item) return std::nullopt;
        if (*item == "-") break;
    }
    auto fstype = next_item(line, ' ');
    auto source = next_item(line, ' ');
    auto super_options = next_item(line, ' ');
    if (!fstype || !source || !super_options) return std::nullopt;
    return MountLine{head[3], head[4], *fstype, *super_options};
}

// v1 super options name the controllers: "rw,cpu,cpuacct" or "rw,name=systemd".
Hierarchy v1_hierarchy(const MountLine& m) {
    Hierarchy h{1, std::string(m.mount_point), {}, {}};
    static constexpr std::string_view generic[] = {"rw",     "ro",     "relatime",       "noatime",
                                                   "nosuid", "nodev",  "noexec",         "xattr",
                                                   "clone_children", "noprefix", "cpuset_v2_mode", "favordynmods"};
    std::string_view options = m.super_options;
    while (auto opt = next_item(options, ',')) {
        if (opt->starts_with("name=")) h.name = std::string(opt->substr(5));
        else if (opt->find('=') == std::string_view::npos && std::ranges::find(generic, *opt) == std::end(generic))
            h.controllers.emplace_back(*opt);
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
    std::string_view rest = mountinfo;
    while (auto line = next_item(rest, '\n')) {
        auto m = parse_mount_line(*line);
        // Only whole-hierarchy mounts (root "/"): bind mounts of sub-cgroups are views, not homes.
        if (!m || m->root != "/") continue;
        Hierarchy h;
        if (m->fstype == "cgroup2") h = Hierarchy{2, std::string(m->mount_point), {}, {}};
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
    std::string_view rest = proc_cgroups;
    while (auto line = next_item(rest, '\n')) {
        if (line->starts_with("#")) continue;
        std::string_view fields[4];  // subsys_name hierarchy num_cgroups enabled
        bool complete = true;
        for (auto& field : fields) {
            auto item = next_item(*line, '\t');
            if (!item) complete = false;
            else field = *item;
        }
        if (complete && fields[3] == "1") out.emplace_back(fields[0]);
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

// The controllers the kernel has: /proc/cgroups lists them whatever is mounted where, and the list
// cannot change while a process lives (cgroup_disable= is a boot option), so it is read once.
const std::vector<std::string>& kernel_controllers() {
    static const std::vector<std::string> known = [] {
        auto proc = read_file("/proc/cgroups");
        return proc ? parse_proc_cgroups(*proc) : std::vector<std::string>{};
    }();
    return known;
}

// `mountinfo_fd`: /proc/thread-self/mountinfo, open.
Result<Layout> read_layout(int mountinfo_fd) {
    auto mountinfo = read_from_start(mountinfo_fd, "/proc/thread-self/mountinfo");
    if (!mountinfo) return fail(mountinfo.error());
    Layout layout;
    layout.hierarchies = parse_mountinfo(*mountinfo);
    for (auto& h : layout.hierarchies) {
        if (h.version != 2) continue;
        auto controllers = read_file(h.mount + "/cgroup.controllers");
        if (!controllers) return fail(controllers.error());
        h.controllers = items(trim(*controllers), ' ');
    }
    layout.mode = classify(layout.hierarchies);
    layout.known_controllers = kernel_controllers();
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
    UniqueFd watch;  // /proc/thread-self/mountinfo of that namespace: POLLPRI after any (u)mount in it
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
    bool watching = c.watch && ns != 0 && ns == c.mount_ns && self == c.owner;
    // poll() also clears the flag, before the read below: a change from here on is flagged for
    // the next call.
    bool changed = !watching || mount_table_changed(c.watch.get());
    if (c.layout && !changed) return *c.layout;
    c.layout.reset();
    if (!watching) {
        // A fresh open starts unflagged and the layout is read through it: nothing falls between.
        c.watch.reset(::open("/proc/thread-self/mountinfo", O_RDONLY | O_CLOEXEC));
        if (!c.watch) return fail(sys_error("open", "/proc/thread-self/mountinfo"));
        c.owner = self;
        c.mount_ns = ns;
    }
    // The watch itself is read, from its start: one open per mount namespace, not two per change.
    auto layout = read_layout(c.watch.get());
    if (!layout) return layout;
    if (ns != 0) c.layout = *layout;
    std::vector<std::string> mounts;
    for (const auto& h : layout->hierarchies) mounts.push_back(h.mount);
    at::use_mounts(mounts);  // the descriptors of the old table's mount points are stale now
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
        if (!enabled || !contains(items(trim(*enabled), ' '), controller))
            result = Feature::no(fmt::format("{} is not delegated to {} (not in {}/cgroup.subtree_control)",
                                             controller, parent, hierarchy.mount));
    }
    if (::rmdir(probe.c_str()) != 0)
        return Feature::no(fmt::format("rmdir {}: {}", probe, errno_name(errno)));
    return result;
}

}  // namespace ctb::cgroup
