#include "cli/host_probe.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <fmt/format.h>

#include "benches/baselines/vm.hpp"
#include "bpf/probe.hpp"
#include "common/subprocess.hpp"
#include "runtime/cgroups/detect.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/network/probe.hpp"
#include "runtime/rootfs/overlay_probe.hpp"

namespace ctb::cli {
namespace {

void probe_identity(report::HostProbe& h) {
    struct utsname u {};
    ::uname(&u);
    h.kernel = u.release;
    h.arch = u.machine;
    h.hostname = u.nodename;
    h.cpus = static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN));
    h.memory_bytes = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    h.root = ::geteuid() == 0;
}

void probe_namespaces(report::HostProbe& h) {
    for (const auto& type : ns::all_types()) h.namespaces[std::string(type.name)] = ns::probe(type);
}

report::CgroupControllerProbe controller_probe(const cgroup::Layout& layout, const std::string& name) {
    const cgroup::Hierarchy* hier = layout.find(name);
    if (!hier) return {name, "none", "", Feature::no(name + " is known to the kernel but no hierarchy mounts it")};
    std::string version = hier->version == 2 ? "v2" : "v1";
    return {name, version, hier->mount, cgroup::probe_subtree(*hier, name)};
}

void probe_cgroups(report::HostProbe& h) {
    auto layout = cgroup::detect();
    if (!layout) {
        h.cgroups.mode = "none";
        return;
    }
    h.cgroups.mode = cgroup::to_string(layout->mode);
    if (const auto* v2 = layout->v2()) h.cgroups.v2_mount = v2->mount;
    for (const auto& name : layout->known_controllers) h.cgroups.controllers.push_back(controller_probe(*layout, name));
}

void probe_overlay(report::HostProbe& h) {
    auto p = overlay::probe();
    h.overlay = p.filesystem;
    for (const auto& f : overlay::feature_options()) h.overlay_features[f.name] = Feature::no("overlayfs unavailable");
    for (auto& [name, feature] : p.features) h.overlay_features[name] = feature;
}

void probe_bpf(report::HostProbe& h) {
    h.btf = bpf::probe_btf();
    h.tracefs = bpf::ensure_tracefs();
    for (auto& [name, feature] : bpf::probe_program_types()) h.bpf_program_types[name] = feature;
}

// A broken nested KVM can take a minute to reach its emulation failure (seen on this project's
// CI hosts), so KVM gets a longer deadline than TCG: the reason then names the real failure.
report::GuestBootProbe boot_probe(vm::Accel accel) {
    auto deadline = accel == vm::Accel::kvm ? std::chrono::seconds(120) : std::chrono::seconds(60);
    auto r = vm::boot_probe_guest(accel, deadline);
    return {vm::to_string(r.accel), r.reached_userspace, r.seconds};
}

void probe_kvm(report::HostProbe& h, const ProbeOptions& options) {
    auto dev = vm::probe_kvm_device();
    h.kvm.device = dev.present ? Feature::yes(dev.detail) : Feature::no(dev.detail);
    h.kvm.api_version = dev.api_version;
    if (!options.boot_guests) return;
    if (dev.present) h.kvm.kvm_boot = boot_probe(vm::Accel::kvm);
    else h.kvm.kvm_boot = report::GuestBootProbe{"kvm", Feature::no("no usable /dev/kvm: " + dev.detail), 0};
    h.kvm.tcg_boot = boot_probe(vm::Accel::tcg);
}

void probe_network(report::HostProbe& h) {
    auto n = net::probe_network();
    h.network = {{"netns", n.netns}, {"veth", n.veth}, {"bridge", n.bridge}, {"nftables", n.nftables},
                 {"nft_nat", n.nft_nat}};
}

report::ToolProbe probe_tool(const std::string& name, std::vector<std::string> version_args) {
    auto path = find_executable(name);
    if (!path) return {name, Feature::no(name + " not found in PATH, /usr/sbin or /sbin"), ""};
    version_args.insert(version_args.begin(), *path);
    RunOptions opts;
    opts.timeout = std::chrono::seconds(5);
    auto out = run_process(version_args, opts);
    std::string version = out ? out->output.substr(0, out->output.find('\n')) : "";
    return {name, Feature::yes(*path), version};
}

void probe_tools(report::HostProbe& h) {
    const std::vector<std::pair<std::string, std::vector<std::string>>> tools{
        {"qemu-system-x86_64", {"--version"}}, {"nft", {"--version"}},     {"runc", {"--version"}},
        {"crun", {"--version"}},               {"bpftool", {"--version"}}, {"ip", {"-V"}},
        {"iperf3", {"--version"}},             {"fio", {"--version"}},     {"sockperf", {"--version"}},
        {"busybox", {}},
    };
    for (const auto& [name, args] : tools) h.tools.push_back(probe_tool(name, args));
}

}  // namespace

report::HostProbe probe_host(const ProbeOptions& options) {
    auto start = std::chrono::steady_clock::now();
    report::HostProbe h;
    probe_identity(h);
    probe_namespaces(h);
    probe_cgroups(h);
    probe_overlay(h);
    probe_bpf(h);
    probe_kvm(h, options);
    probe_network(h);
    probe_tools(h);
    h.probe_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return h;
}

}  // namespace ctb::cli
