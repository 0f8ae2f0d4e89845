#include "reports/requirements.hpp"

#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/subprocess.hpp"

namespace ctb {
namespace {

std::pair<int, int> major_minor(const std::string& release) {
    int major = 0, minor = 0;
    std::sscanf(release.c_str(), "%d.%d", &major, &minor);
    return {major, minor};
}

std::string kernel_gap(const report::HostProbe& host, const std::string& want) {
    if (major_minor(host.kernel) >= major_minor(want)) return {};
    return fmt::format("kernel {} is older than {}", host.kernel, want);
}

// The probe counts the host's CPUs; a CPU this process may not run on (a cpuset, taskset) cannot
// serve a case either, so the affinity mask is checked too.
std::string cpus_gap(const report::HostProbe& host, const std::string& want) {
    unsigned n = static_cast<unsigned>(std::stoul(want));
    if (host.cpus < n) return fmt::format("the host has {} CPU(s), the case needs {}", host.cpus, n);
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return "sched_getaffinity: " + errno_name(errno);
    for (unsigned cpu = 0; cpu < n; ++cpu)
        if (!CPU_ISSET(cpu, &set)) return fmt::format("this process may not run on CPU {} (affinity)", cpu);
    return {};
}

std::string swap_gap() {
    auto swaps = read_file("/proc/swaps");
    if (!swaps) return "cannot read /proc/swaps: " + swaps.error().message();
    // The first line is the header; any further line is an active swap area.
    auto newline = swaps->find('\n');
    if (newline == std::string::npos || trim(swaps->substr(newline + 1)).empty())
        return "no active swap area (/proc/swaps lists none)";
    return {};
}

// "/dev/fuse c 10:229" or just "/dev/loop-control".
std::string device_gap(const std::string& value) {
    std::istringstream in(value);
    std::string path, type, numbers;
    in >> path >> type >> numbers;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fmt::format("no {} on this host: {}", path, errno_name(errno));
    if (type.empty()) return {};
    unsigned maj = 0, min = 0;
    std::sscanf(numbers.c_str(), "%u:%u", &maj, &min);
    bool kind_ok = type == "c" ? S_ISCHR(st.st_mode) : S_ISBLK(st.st_mode);
    if (!kind_ok || major(st.st_rdev) != maj || minor(st.st_rdev) != min)
        return fmt::format("{} is not the device {} {} on this host", path, type, numbers);
    return {};
}

std::string memory_gap(const std::string& mib) {
    auto info = read_file("/proc/meminfo");
    if (!info) return "cannot read /proc/meminfo: " + info.error().message();
    auto at = info->find("MemAvailable:");
    if (at == std::string::npos) return "/proc/meminfo has no MemAvailable";
    unsigned long long kib = std::stoull(info->substr(at + 13));
    if (kib / 1024 >= std::stoull(mib)) return {};
    return fmt::format("only {} MiB of memory available, the case needs {} MiB", kib / 1024, mib);
}

std::string hugepage_gap(const std::string& size) {
    std::string pool = "/sys/kernel/mm/hugepages/hugepages-" + size;
    auto free = read_file(pool + "/free_hugepages");
    if (!free) return fmt::format("no {} huge pages on this host ({} absent)", size, pool);
    auto overcommit = read_file(pool + "/nr_overcommit_hugepages");
    if (trim(*free) == "0" && trim(overcommit.value_or("0")) == "0")
        return fmt::format("the {} huge page pool is empty (no free page, no overcommit)", size);
    return {};
}

// Features of the cgroup hierarchy that are not controllers of their own on cgroup v2.
std::string cgroup_feature_gap(const report::HostProbe& host, const std::string& name) {
    const auto* c = host.controller(name == "io_throttle" ? "blkio" : name);
    bool v1 = c && c->hierarchy == "v1";
    if (name == "freezer" || name == "devices") {
        // v2: cgroup.freeze / a BPF device program on any cgroup2 directory.
        if (v1 || !host.cgroups.v2_mount.empty()) return {};
        return fmt::format("no cgroup v1 {} hierarchy and no cgroup2 mount", name);
    }
    if (name == "io_throttle") {
        if (!v1) return {};  // v2: io.max, checked by the runtime's write
        std::string file = c->mount + "/blkio.throttle.read_bps_device";
        struct stat st {};
        if (::stat(file.c_str(), &st) == 0) return {};
        return fmt::format("{} is absent: the kernel has no block I/O throttling (CONFIG_BLK_DEV_THROTTLING)", file);
    }
    return "unknown cgroup feature " + name;
}

bool builtin_runtime(const std::string& runtime) {
    return runtime.empty() || runtime == "ctbench" || runtime.ends_with("ctbench-runtime");
}

// `<runtime> features` (runtime-spec features.md), asked once per runtime; null when the runtime
// has no such command (crun 1.8).
const nlohmann::json& features_of(const std::string& runtime) {
    static std::map<std::string, nlohmann::json> cache;
    auto it = cache.find(runtime);
    if (it != cache.end()) return it->second;
    nlohmann::json j;
    if (auto out = run_process({runtime, "features"}); out && out->exited_ok()) {
        j = nlohmann::json::parse(out->output, nullptr, false);
        if (j.is_discarded()) j = nullptr;
    }
    return cache[runtime] = j;
}

// What the runtime under test supports. The built-in runtime supports every feature a case can
// name; an OCI runtime answers through `features` (runtime-spec features.md); one without that
// command is assumed to support it (the case then judges what it does).
std::string runtime_gap(const std::string& runtime, const std::string& feature) {
    if (builtin_runtime(runtime)) return {};
    const auto& f = features_of(runtime);
    if (f.is_null()) return {};
    if (feature == "time_namespace") {
        auto ns = f.value("/linux/namespaces"_json_pointer, nlohmann::json::array());
        if (std::find(ns.begin(), ns.end(), "time") != ns.end()) return {};
        return fmt::format("runtime {} does not list the time namespace in `features` (linux.namespaces: {})", runtime,
                           ns.dump());
    }
    if (feature == "idmapped_mounts") {
        auto on = f.value("/linux/mountExtensions/idmap/enabled"_json_pointer, false);
        return on ? "" : fmt::format("runtime {} does not report idmapped mounts in `features`", runtime);
    }
    return fmt::format("unknown runtime feature {}", feature);
}

std::string feature_gap(const std::map<std::string, Feature>& features, const std::string& what,
                        const std::string& name) {
    auto it = features.find(name);
    if (it == features.end()) return fmt::format("{} {} was not probed", what, name);
    if (it->second.available) return {};
    return fmt::format("{} {} unavailable: {}", what, name, it->second.detail);
}

std::string controller_gap(const report::HostProbe& host, const std::string& name, bool need_v2) {
    const auto* c = host.controller(name);
    if (!c || c->hierarchy == "none") return fmt::format("cgroup controller {} is not mounted", name);
    if (need_v2 && c->hierarchy != "v2")
        return fmt::format("{} controller is on cgroup {} ({} host)", name, c->hierarchy, host.cgroups.mode);
    if (!c->subtree.available) return fmt::format("cgroup controller {}: {}", name, c->subtree.detail);
    return {};
}

// The start tracer needs kernel BTF (CO-RE), tracefs, and one of the program types it is written
// for (tp_btf preferred, raw_tp otherwise); kprobe and fentry are never needed.
std::string tracing_gap(const report::HostProbe& host) {
    if (!host.btf.available) return "kernel BTF unavailable: " + host.btf.detail;
    if (!host.tracefs.available) return "tracefs unavailable: " + host.tracefs.detail;
    for (const char* type : {"tp_btf", "raw_tp"})
        if (feature_gap(host.bpf_program_types, "", type).empty()) return {};
    return "neither tp_btf nor raw_tp programs attach: " +
           feature_gap(host.bpf_program_types, "BPF program type", "raw_tp");
}

}  // namespace

// "blkio|io": met when any alternative is; the first alternative's gap otherwise.
std::string any_controller_gap(const report::HostProbe& host, const std::string& names) {
    std::string first;
    std::istringstream in(names);
    for (std::string name; std::getline(in, name, '|');) {
        auto gap = controller_gap(host, name, false);
        if (gap.empty()) return {};
        if (first.empty()) first = gap;
    }
    return first;
}

std::string unmet_requirement(const Requirement& r, const report::HostProbe& host, const std::string& runtime) {
    using K = Requirement::Kind;
    switch (r.kind) {
        case K::root: return host.root ? "" : "needs root";
        case K::namespace_type: return feature_gap(host.namespaces, "namespace", r.value);
        case K::cgroup_controller: return any_controller_gap(host, r.value);
        case K::cgroup_feature: return cgroup_feature_gap(host, r.value);
        case K::cgroup_v2_controller: return controller_gap(host, r.value, true);
        case K::overlay_feature:
            if (!host.overlay.available) return "overlayfs unavailable: " + host.overlay.detail;
            if (r.value.empty()) return {};  // overlayfs itself
            return feature_gap(host.overlay_features, "overlay feature", r.value);
        case K::bpf_program_type: return feature_gap(host.bpf_program_types, "BPF program type", r.value);
        case K::network_feature: return feature_gap(host.network, "network feature", r.value);
        case K::tool: {
            const auto* t = host.tool(r.value);
            if (!t) return fmt::format("{} was not probed", r.value);
            return t->present.available ? "" : fmt::format("{}: {}", r.value, t->present.detail);
        }
        case K::bpf_tracing: return tracing_gap(host);
        case K::kernel_version: return kernel_gap(host, r.value);
        case K::min_cpus: return cpus_gap(host, r.value);
        case K::swap: return swap_gap();
        case K::device_node: return device_gap(r.value);
        case K::free_memory: return memory_gap(r.value);
        case K::hugepage_pool: return hugepage_gap(r.value);
        case K::runtime_feature: return runtime_gap(runtime_path_of(runtime), r.value);
        case K::rootful: return rootless_runtime(runtime) ? "needs rootful: " + r.value : "";
    }
    return "unknown requirement";
}

bool rootless_runtime(const std::string& runtime) { return runtime.starts_with("rootless:"); }

std::string runtime_path_of(const std::string& runtime) {
    if (!rootless_runtime(runtime)) return runtime;
    std::size_t at = 0;
    for (int colon = 0; colon < 4 && at != std::string::npos; ++colon) at = runtime.find(':', at == 0 ? 0 : at + 1);
    return at == std::string::npos ? runtime : runtime.substr(at + 1);
}

std::string first_unmet(const std::vector<Requirement>& needs, const report::HostProbe& host,
                        const std::string& runtime) {
    for (const auto& r : needs)
        if (auto why = unmet_requirement(r, host, runtime); !why.empty()) return why;
    return {};
}

std::string requirement_text(const Requirement& r) {
    using K = Requirement::Kind;
    switch (r.kind) {
        case K::root: return "root";
        case K::namespace_type: return "ns:" + r.value;
        case K::cgroup_controller: return "cgroup:" + r.value;
        case K::cgroup_v2_controller: return "cgroup2:" + r.value;
        case K::overlay_feature: return r.value.empty() ? "overlay" : "overlay:" + r.value;
        case K::bpf_program_type: return "bpf:" + r.value;
        case K::network_feature: return "net:" + r.value;
        case K::tool: return "tool:" + r.value;
        case K::bpf_tracing: return "bpf-tracing";
        case K::cgroup_feature: return "cgroup-feature:" + r.value;
        case K::kernel_version: return "kernel>=" + r.value;
        case K::min_cpus: return "cpus>=" + r.value;
        case K::swap: return "swap";
        case K::device_node: return "dev:" + r.value;
        case K::free_memory: return "mem>=" + r.value + "MiB";
        case K::hugepage_pool: return "hugepages:" + r.value;
        case K::runtime_feature: return "runtime:" + r.value;
        case K::rootful: return "rootful";
    }
    return "?";
}

}  // namespace ctb
