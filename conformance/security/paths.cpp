// security.masked_paths.* and security.readonly_paths.*: OCI linux.maskedPaths / readonlyPaths,
// checked from inside a container. Each case also runs a control container with the same spec
// minus the list, so that "unreadable" or "EROFS" is shown to come from the list and not from
// permissions or a kernel default.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>

#include "common/fd.hpp"
#include "conformance/harness/registry.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::sec {
namespace {

using K = ::ctb::conformance::Requirement::Kind;
using nlohmann::json;

// How much of a path the host sees: bytes of a file (first read only: /proc/kcore is huge) or
// entries of a directory.
struct HostView {
    bool exists = false;
    bool dir = false;
    std::size_t amount = 0;
};

std::size_t count_entries(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (!d) return 0;
    std::size_t n = 0;
    while (dirent* e = ::readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
    ::closedir(d);
    return n;
}

HostView host_view(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    if (S_ISDIR(st.st_mode)) return {true, true, count_entries(path)};
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    char buf[4096];
    ssize_t n = fd ? ::read(fd.get(), buf, sizeof buf) : -1;
    return {true, false, n > 0 ? static_cast<std::size_t>(n) : 0};
}

// Bytes (file, via the agent's cat) or entries (directory, via ls -A) the container saw; 0 when
// the read failed.
std::size_t seen(const ProbeResult* r, bool dir) {
    if (!r || !r->ok()) return 0;
    if (!dir) return r->doc.value("content", json()).is_string() ? r->doc["content"].get<std::string>().size() : 0;
    std::size_t lines = 0;
    for (char c : r->output) lines += c == '\n';
    return lines;
}

Probe read_probe(const std::string& path, bool dir) {
    if (dir) return {path, {"/bin/ls", "-A", path}};
    return {path, agent_argv({"cat", path})};
}

Verdict masked_paths_unreadable(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    spec::Spec masked = agent_spec({});
    spec::Spec control = masked;
    control.linux.masked_paths.clear();

    std::vector<Probe> probes;
    std::map<std::string, HostView> host;
    for (const auto& p : masked.linux.masked_paths) {
        HostView v = host_view(p);
        if (!v.exists || v.amount == 0) continue;  // nothing to hide on this host
        host[p] = v;
        probes.push_back(read_probe(p, v.dir));
    }
    if (probes.empty()) return Verdict::skip("no masked path has content on this host");
    auto inside = must(run_probes(*rt, masked, probes));
    auto unmasked = must(run_probes(*rt, control, probes));

    json evidence = json::object();
    std::vector<std::string> leaks, proven;
    for (const auto& [path, view] : host) {
        std::size_t in = seen(find(inside, path), view.dir), ctl = seen(find(unmasked, path), view.dir);
        evidence[path] = {{"host", view.amount},
                          {"control", ctl},
                          {"masked", in},
                          {"unit", view.dir ? "entries" : "bytes"},
                          {"masked_probe", find(inside, path)->evidence()}};
        if (in > 0)
            leaks.push_back(path);
        else if (ctl > 0)
            proven.push_back(path);
    }
    evidence["proven_by_control"] = proven;
    if (!leaks.empty())
        return Verdict::fail(fmt::format("masked paths readable inside: {}", fmt::join(leaks, ", ")), evidence);
    if (proven.empty())
        return Verdict::skip("no masked path is readable even without masking here; masking cannot be told apart");
    return Verdict::pass(evidence);
}

// Well-known writable files below read-only directories (their open is harmless: nothing is
// written).
const std::map<std::string, std::string>& preferred_files() {
    static const std::map<std::string, std::string> m{{"/proc/sys", "/proc/sys/kernel/hostname"},
                                                      {"/proc/irq", "/proc/irq/default_smp_affinity"}};
    return m;
}

// The first regular file below dir (files of a level before its subdirectories, a few levels
// deep); "" when there is none. procfs answers ENOENT for a new name before it looks at the
// mount, so a directory can only be probed through a file that exists.
std::string file_below(const std::string& dir, int depth = 3) {
    std::vector<std::string> subdirs;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return "";
    std::string found;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (e->d_type == DT_REG) {
            found = dir + "/" + name;
            break;
        }
        if (e->d_type == DT_DIR) subdirs.push_back(dir + "/" + name);
    }
    ::closedir(d);
    for (std::size_t i = 0; found.empty() && depth > 1 && i < subdirs.size(); ++i)
        found = file_below(subdirs[i], depth - 1);
    return found;
}

// open(O_WRONLY) of an existing file: on a read-only mount it fails with EROFS before anything
// is written (and the probe never writes a byte). The container's root holds CAP_DAC_OVERRIDE,
// so file modes do not get in the way.
std::vector<Probe> readonly_probes(const std::vector<std::string>& paths) {
    std::vector<Probe> probes;
    for (const auto& p : paths) {
        HostView v = host_view(p);
        if (!v.exists) continue;
        std::string file = p;
        if (v.dir) {
            auto it = preferred_files().find(p);
            file = it != preferred_files().end() && host_view(it->second).exists ? it->second : file_below(p);
        }
        if (!file.empty()) probes.push_back({file, agent_argv({"open", file, "--write"})});
    }
    return probes;
}

Verdict readonly_paths_enforced(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    spec::Spec ro = agent_spec({});
    spec::Spec control = ro;
    control.linux.readonly_paths.clear();
    auto probes = readonly_probes(ro.linux.readonly_paths);
    if (probes.empty()) return Verdict::skip("none of the readonly paths exists on this host");
    auto inside = must(run_probes(*rt, ro, probes));
    auto writable = must(run_probes(*rt, control, probes));

    json evidence = json::object();
    std::vector<std::string> wrong, proven;
    for (const auto& p : probes) {
        const ProbeResult* in = find(inside, p.name);
        const ProbeResult* ctl = find(writable, p.name);
        evidence[p.name] = {{"readonly", in->evidence()},
                            {"control", ctl->errno_name().empty() ? "ok" : ctl->errno_name()}};
        if (in->errno_name() != "EROFS")
            wrong.push_back(fmt::format("{} ({})", p.name, in->ok() ? "ok" : in->errno_name()));
        else if (ctl->errno_name() != "EROFS")
            proven.push_back(p.name);
    }
    evidence["proven_by_control"] = proven;
    if (!wrong.empty()) return Verdict::fail(fmt::format("not EROFS inside: {}", fmt::join(wrong, ", ")), evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "security.masked_paths.unreadable",
    .reference = "OCI runtime-spec config-linux.md#masked-paths; proc(5)",
    .needs = {{K::root, ""}},
    .body = masked_paths_unreadable,
});

CTB_CONFORMANCE_CASE({
    .id = "security.readonly_paths.enforced",
    .reference = "OCI runtime-spec config-linux.md#readonly-paths; mount(2) MS_RDONLY (EROFS)",
    .needs = {{K::root, ""}},
    .body = readonly_paths_enforced,
});

}  // namespace
}  // namespace ctb::conformance::sec
