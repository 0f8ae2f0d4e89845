#include "cli/cleanup.hpp"

#include "cli/claims.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>
#include <utility>

#include "common/deadline.hpp"
#include "common/files.hpp"
#include "common/proc.hpp"
#include "conformance/harness/rootless.hpp"
#include "runtime/cgroups/detect.hpp"
#include "runtime/network/engine.hpp"
#include "runtime/network/networks.hpp"
#include "runtime/network/nft.hpp"
#include "runtime/network/rtnl.hpp"
#include "runtime/network/store.hpp"
#include "runtime/rootfs/volumes.hpp"

namespace ctb::cli {
namespace {

namespace fs = std::filesystem;
constexpr const char* kStateRoot = "/run/ctbench";

bool is_ours(const std::string& text) { return text.find("ctbench") != std::string::npos; }
// Mount points and loop backing files of ours are state: under /run/ctbench. A "ctbench" elsewhere
// in a path (a checkout, an image store on its own disk at /var/lib/ctbench) is not ours to remove.
bool in_state_root(const std::string& path) {
    return path == kStateRoot || path.starts_with(std::string(kStateRoot) + "/");
}

// qemu guests record their pid in <state>/qemu.pid (qemu -pidfile): ours by record, and checked
// against the command line so a recycled pid is never signalled.
std::vector<pid_t> leftover_processes(const Claims& keep) {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(kStateRoot, ec)) {
        auto recorded = read_file(entry.path().string() + "/qemu.pid");
        if (!recorded) continue;
        pid_t pid = std::atoi(trim(*recorded).c_str());
        auto cmdline = pid > 0 ? read_file("/proc/" + std::to_string(pid) + "/cmdline") : Result<std::string>(fail(Error{}));
        if (cmdline && cmdline->find(entry.path().string()) != std::string::npos) pids.push_back(pid);
    }
    // Userland port proxies are forks of the runtime, recognisable by the comm ctbench gives them
    // (net::kProxyProcessName); a live attachment's proxy is stopped by its recorded pid instead.
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        std::string name = entry.path().filename();
        if (!std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        auto comm = read_file(entry.path().string() + "/comm");
        pid_t pid = std::stoi(name);
        if (comm && trim(*comm) == net::kProxyProcessName && !keep.claims_pid(pid)) pids.push_back(pid);
    }
    return pids;
}

// Every process inside a ctbench cgroup was started by ctbench; those of a user's container stay.
void collect_cgroup_pids(const fs::path& dir, std::vector<pid_t>& pids, const Claims& keep) {
    if (keep.covers_cgroup(dir.string())) return;
    if (auto procs = read_file((dir / "cgroup.procs").string())) {
        std::stringstream in(*procs);
        for (pid_t pid; in >> pid;) pids.push_back(pid);
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory()) collect_cgroup_pids(e.path(), pids, keep);
}

// A zombie has released its mounts and left its cgroups: gone for our purposes (whoever is its
// parent reaps it; an init that never reaps would otherwise keep us waiting).
bool gone(pid_t pid) {
    if (::kill(pid, 0) != 0) return true;
    auto st = read_proc_stat(pid);
    return !st || st->state == 'Z';
}

// This process and its ancestors are never ours to kill, whatever cgroup they sit in.
std::vector<pid_t> self_and_ancestors() {
    std::vector<pid_t> out;
    for (pid_t p = ::getpid(); p > 0 && out.size() < 4096;) {
        out.push_back(p);
        auto st = read_proc_stat(p);
        p = st ? st->ppid : 0;
    }
    return out;
}

void kill_processes(std::vector<pid_t> pids, std::vector<Removal>& out) {
    std::sort(pids.begin(), pids.end());
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
    auto spared = self_and_ancestors();
    std::erase_if(pids, [&](pid_t p) { return std::find(spared.begin(), spared.end(), p) != spared.end(); });
    for (pid_t pid : pids) {
        if (::kill(pid, SIGKILL) == 0 || errno == ESRCH) out.push_back({"process", std::to_string(pid), ""});
        else out.push_back({"process", std::to_string(pid), errno_name(errno)});
    }
    // Wait (bounded) until they are gone, so their mounts and cgroups can be released.
    retry_until(Deadline(std::chrono::seconds(5)), [&] { return std::all_of(pids.begin(), pids.end(), gone); });
}

// A frozen process does not act on SIGKILL until thawed (cgroup v1 freezer): thaw every frozen
// cgroup of ours first, parents before children (a child of a frozen parent reads frozen too).
void thaw_cgroups(const fs::path& dir, std::vector<Removal>& out, const Claims& keep) {
    if (keep.covers_cgroup(dir.string())) return;
    // v1: FROZEN or FREEZING; v2: cgroup.freeze is 1.
    for (auto [file, thawed] : {std::pair{"freezer.state", "THAWED"}, std::pair{"cgroup.freeze", "0"}}) {
        std::string path = (dir / file).string();
        auto state = read_file(path);
        if (!state || trim(*state) == thawed) continue;
        auto s = write_file(path, thawed);
        out.push_back({"thaw", dir.string(), s ? "" : s.error().message()});
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory()) thaw_cgroups(e.path(), out, keep);
}

std::vector<std::string> leftover_mounts(const Claims& keep) {
    std::vector<std::string> points;
    auto info = read_file("/proc/self/mountinfo");
    if (!info) return points;
    std::stringstream lines(*info);
    for (std::string line; std::getline(lines, line);) {
        std::stringstream fields(line);
        std::string f, point;
        for (int i = 0; i < 5 && fields >> f; ++i) point = f;
        bool overlay_of_ours = line.find(" - overlay ") != std::string::npos && is_ours(line.substr(line.find(" - ")));
        if ((in_state_root(point) || overlay_of_ours) && !keep.covers(point)) points.push_back(point);
    }
    // Deepest first, so children go before their parents.
    std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    points.erase(std::unique(points.begin(), points.end()), points.end());
    return points;
}

void remove_mounts(std::vector<Removal>& out, const Claims& keep) {
    for (const auto& point : leftover_mounts(keep)) {
        if (::umount2(point.c_str(), MNT_DETACH) == 0) out.push_back({"mount", point, ""});
        else out.push_back({"mount", point, errno_name(errno)});
    }
}

// Every "ctb*" link: the engine's (ctb0, ctbbr*, ctbv*), the benches' (ctbnv*), and a VM guest
// run's persistent tap ctbgtap<pid> and its bridge ctbgbr<pid> (benches/baselines/guest_net.hpp),
// which a killed run leaves behind (its qemu dies with it, the tap persists).
void remove_links(std::vector<Removal>& out, const Claims& keep) {
    auto rtnl = net::Rtnl::open();
    if (!rtnl) {
        out.push_back({"link", "(rtnetlink)", rtnl.error().message()});
        return;
    }
    auto links = rtnl->list_links();
    if (!links) return;
    for (const auto& name : *links) {
        if (!name.starts_with("ctb") || keep.claims_link(name)) continue;
        auto s = rtnl->delete_link(name);
        out.push_back({"link", name, s ? "" : s.error().message()});
    }
}

void remove_nft_tables(std::vector<Removal>& out, const Claims& keep) {
    if (keep.network_store) {
        // Users' published ports live in the table too: render it again from the store, which now
        // holds their records only (the engine's own idempotent sync).
        auto lock = net::store::Lock::acquire();
        auto s = lock ? net::networks::sync_rules() : Status(fail(lock.error()));
        out.push_back({"nft", "inet ctbench: rules of removed endpoints (users' rules kept)", s ? "" : s.error().message()});
        return;
    }
    auto nft = net::Nft::open();
    if (!nft) return;  // no nftables here: nothing of ours can be in it
    auto tables = nft->run("list tables");
    if (!tables) return;
    std::stringstream lines(*tables);
    for (std::string line; std::getline(lines, line);) {
        // "table inet ctbench"
        std::stringstream words(line);
        std::string table, family, name;
        words >> table >> family >> name;
        if (table != "table" || name != "ctbench") continue;
        auto r = nft->run(fmt::format("delete table {} {}", family, name));
        out.push_back({"nft", family + " " + name, r ? "" : r.error().message()});
    }
}

// rmdir depth-first below <hierarchy>/ctbench; the empty ctbench parent itself stays, and so do
// users' containers' cgroups and the directories above them.
void remove_cgroup_children(const fs::path& dir, std::vector<Removal>& out, const Claims& keep) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (!e.is_directory() || keep.covers_cgroup(e.path().string())) continue;
        remove_cgroup_children(e.path(), out, keep);
        if (keep.leads_to_cgroup(e.path().string())) continue;
        bool gone = retry_until(Deadline(std::chrono::seconds(2)),
                                [&] { return ::rmdir(e.path().c_str()) == 0 || errno == ENOENT; });
        out.push_back({"cgroup", e.path(), gone ? "" : errno_name(errno)});
    }
}

std::vector<fs::path> ctbench_cgroup_parents() {
    std::vector<fs::path> out;
    auto layout = cgroup::detect();
    if (!layout) return out;
    for (const auto& h : layout->hierarchies) {
        fs::path parent = fs::path(h.mount) / cgroup::kParentName;
        if (fs::is_directory(parent)) out.push_back(parent);
    }
    return out;
}

void remove_loop_devices(std::vector<Removal>& out, const Claims& keep) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
        std::string name = e.path().filename();
        if (!name.starts_with("loop")) continue;
        auto backing = read_file(e.path().string() + "/loop/backing_file");
        if (!backing || !in_state_root(trim(*backing)) || keep.covers(trim(*backing))) continue;
        std::string dev = "/dev/" + name;
        UniqueFd fd(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
        bool ok = fd && ::ioctl(fd.get(), LOOP_CLR_FD, 0) == 0;
        out.push_back({"loop", dev + " (" + trim(*backing) + ")", ok ? "" : errno_name(errno)});
    }
}

void remove_state(const fs::path& dir, std::vector<Removal>& out, const Claims& keep) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (keep.covers(e.path().string())) continue;
        if (keep.leads_to(e.path().string())) {
            remove_state(e.path(), out, keep);
            continue;
        }
        std::error_code rm;
        fs::remove_all(e.path(), rm);
        out.push_back({"state", e.path(), rm ? rm.message() : ""});
    }
}

// A run's container may have made cgroups outside ctbench/ (an absolute linux.cgroupsPath): its
// record names them, so they go too (deepest first, after their processes).
std::vector<std::string> run_cgroups_elsewhere(const Claims& keep) {
    std::vector<std::string> dirs;
    auto parents = ctbench_cgroup_parents();
    for (const auto& r : keep.run_records)
        for (const auto& d : r.cgroups)
            if (std::none_of(parents.begin(), parents.end(), [&](const fs::path& p) { return d.starts_with(p.string() + "/"); }))
                dirs.push_back(d);
    std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    return dirs;
}

// Endpoints, networks and volumes of a run, through the engine: it also frees their leases,
// stops their proxies and renders the nft rules again without them.
void release_run_records(const Claims& keep, std::vector<Removal>& out) {
    for (const auto& kind : {"endpoint", "network", "volume"})
        for (const auto& r : keep.run_records) {
            if (r.kind != kind) continue;
            Status s = r.kind == "endpoint"  ? net::detach(r.name)
                       : r.kind == "network" ? net::remove_network(r.name, true)
                                             : rootfs::remove_volume(r.name);
            out.push_back({r.kind, r.name + " (a ctbench run's)", s ? "" : s.error().message()});
        }
}

}  // namespace

std::vector<Removal> remove_leftovers(Scope scope, std::vector<std::string>* kept) {
    std::vector<Removal> out;
    // Everything: no claims, every object by the naming rules.
    Claims keep = scope == Scope::runs ? find_claims(kStateRoot) : Claims{};
    if (kept) *kept = keep.owners;
    auto elsewhere = run_cgroups_elsewhere(keep);
    std::vector<pid_t> pids = leftover_processes(keep);
    for (const auto& parent : ctbench_cgroup_parents()) {
        thaw_cgroups(parent, out, keep);
        collect_cgroup_pids(parent, pids, keep);
    }
    for (const auto& dir : elsewhere) {
        thaw_cgroups(dir, out, keep);
        collect_cgroup_pids(dir, pids, keep);
    }
    kill_processes(pids, out);
    release_run_records(keep, out);
    remove_mounts(out, keep);
    remove_links(out, keep);
    remove_nft_tables(out, keep);
    for (const auto& parent : ctbench_cgroup_parents()) remove_cgroup_children(parent, out, keep);
    for (const auto& dir : elsewhere) {
        if (::rmdir(dir.c_str()) == 0) out.push_back({"cgroup", dir, ""});
        else if (errno != ENOENT) out.push_back({"cgroup", dir, errno_name(errno)});
    }
    remove_loop_devices(out, keep);
    remove_state(kStateRoot, out, keep);
    // Users of an interrupted `run --rootless` (their name carries the run's pid, now gone).
    if (::geteuid() == 0)
        for (const auto& name : conformance::rootless::remove_stale_users()) out.push_back({"user", name, ""});
    return out;
}

Result<UniqueFd> take_run_lock() {
    const char* path = "/run/ctbench.lock";
    UniqueFd fd(::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return fail(sys_error("open lock", path));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return fail(plain_error("lock", path, "another ctbench run or cleanup is in progress"));
        return fail(sys_error("flock", path));
    }
    return fd;
}

}  // namespace ctb::cli
