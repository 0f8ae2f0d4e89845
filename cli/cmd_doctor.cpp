// `ctbench doctor`: the host probe that decides every skip, as a table or as JSON; --cleanup
// removes what interrupted runs left behind.
#include <fmt/format.h>

#include "cli/cleanup.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/host_probe.hpp"

namespace ctb::cli {
namespace {

struct DoctorArgs {
    std::string format = "text";
    bool probe_kvm = false;
    bool cleanup = false;
    bool all = false;
};

void row(const std::string& name, const Feature& f) {
    fmt::print("  {:<22} {:<4} {}\n", name, f.available ? "yes" : "no", f.detail);
}

void section(const std::string& title, const std::map<std::string, Feature>& features,
             const std::vector<std::string>& order) {
    if (!title.empty()) fmt::print("{}\n", title);
    for (const auto& name : order)
        if (auto it = features.find(name); it != features.end()) row(name, it->second);
}

void print_cgroups(const report::CgroupProbe& c) {
    fmt::print("cgroups: {}{}\n", c.mode, c.v2_mount.empty() ? "" : " (cgroup2 at " + c.v2_mount + ")");
    for (const auto& ctl : c.controllers)
        fmt::print("  {:<12} {:<4} {:<28} subtree {:<3} {}\n", ctl.name, ctl.hierarchy, ctl.mount,
                   ctl.subtree.available ? "yes" : "no", ctl.subtree.available ? "" : ctl.subtree.detail);
}

void print_kvm(const report::KvmProbe& k) {
    fmt::print("virtualisation\n");
    row("/dev/kvm", k.device);
    if (k.device.available) fmt::print("  {:<22} {}\n", "KVM API version", k.api_version);
    for (const auto* boot : {&k.kvm_boot, &k.tcg_boot}) {
        if (!*boot) continue;
        row(fmt::format("guest boot ({})", (*boot)->accel), (*boot)->reached_userspace);
    }
    if (!k.kvm_boot) fmt::print("  {:<22} not probed (use --probe-kvm)\n", "guest boot");
}

void print_text(const report::HostProbe& h) {
    fmt::print("host: {} {} {}, {} CPUs, {:.1f} GiB, {}\n", h.hostname, h.kernel, h.arch, h.cpus,
               double(h.memory_bytes) / double(1ull << 30), h.root ? "root" : "not root");
    section("namespaces", h.namespaces, {"mount", "uts", "ipc", "pid", "network", "user", "cgroup", "time"});
    print_cgroups(h.cgroups);
    fmt::print("overlayfs\n");
    row("overlay", h.overlay);
    section("", h.overlay_features, {"redirect_dir", "index", "metacopy", "xino", "volatile", "userxattr"});
    fmt::print("eBPF\n");
    row("BTF", h.btf);
    row("tracefs", h.tracefs);
    section("", h.bpf_program_types, {"tracepoint", "raw_tp", "tp_btf", "kprobe", "fentry"});
    print_kvm(h.kvm);
    section("network", h.network, {"netns", "veth", "bridge", "nftables", "nft_nat"});
    fmt::print("tools\n");
    for (const auto& t : h.tools)
        fmt::print("  {:<22} {:<4} {}\n", t.name, t.present.available ? "yes" : "no",
                   t.present.available ? t.version : t.present.detail);
    fmt::print("probed in {:.2f} s\n", h.probe_seconds);
}

int cleanup(bool all) {
    auto lock = take_run_lock();
    if (!lock) return usage_error(lock.error());
    if (all)
        fmt::print("--all: removing every object by the naming rules, including users' own ctbench-runtime "
                   "containers, networks and volumes\n");
    std::vector<std::string> kept;
    auto removed = remove_leftovers(all ? Scope::everything : Scope::runs, &kept);
    int failures = 0;
    for (const auto& r : removed) {
        if (r.error.empty()) fmt::print("removed {:<8} {}\n", r.kind, r.object);
        else fmt::print("FAILED  {:<8} {}: {}\n", r.kind, r.object, r.error), ++failures;
    }
    if (removed.empty()) fmt::print("nothing to clean up\n");
    for (const auto& k : kept) fmt::print("kept    {} (not made by a ctbench run; --all removes it)\n", k);
    return failures ? kExitFailed : kExitOk;
}

int doctor(const DoctorArgs& a) {
    if (a.format != "text" && a.format != "json")
        return usage_error(plain_error("--format", "'" + a.format + "'", "unknown format; valid formats: text, json"));
    if (a.all && !a.cleanup) return usage_error(plain_error("--all", "", "only with --cleanup"));
    if (a.cleanup) return cleanup(a.all);
    auto host = probe_host({a.probe_kvm});
    if (a.format == "json") fmt::print("{}\n", nlohmann::json(host).dump(2));
    else print_text(host);
    return kExitOk;
}

}  // namespace

void register_doctor(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<DoctorArgs>();
    auto* cmd = app.add_subcommand("doctor", "Probe what this host supports (decides every skip)");
    cmd->add_option("--format", args->format, "text or json")->capture_default_str();
    cmd->add_flag("--probe-kvm", args->probe_kvm, "Also boot a tiny guest under KVM and under TCG (takes seconds)");
    cmd->add_flag("--cleanup", args->cleanup, "Remove leftovers of interrupted runs and list what was removed");
    cmd->add_flag("--all", args->all,
                  "With --cleanup: also remove users' own ctbench-runtime containers, networks and volumes");
    cmd->callback([args, &exit_code] { exit_code = doctor(*args); });
}

}  // namespace ctb::cli
