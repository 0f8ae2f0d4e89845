// A report with every field populated, shared by the round-trip test and the schema check.
#pragma once

#include "reports/model.hpp"

namespace ctb::report::samples {

inline Report sample_report() {
    Report r;
    r.run.ctbench_version = "0.1.0";
    r.run.git_revision = "abc123";
    r.run.hostname = "host";
    r.run.kernel = "6.18.0";
    r.run.cgroup_mode = "hybrid";
    r.run.runtime = {"runc", "/usr/sbin/runc", "runc version 1.1.5"};
    r.run.suite = "all";
    r.run.started_at = "2026-11-28T08:30:16Z";
    r.run.finished_at = "2026-11-28T08:31:16Z";
    r.run.command_line = {"ctbench", "run", "--suite", "all"};
    HostProbe& h = r.run.host;
    h.kernel = "6.18.0";
    h.arch = "x86_64";
    h.hostname = "host";
    h.cpus = 2;
    h.memory_bytes = 1ull << 34;
    h.root = true;
    for (const char* ns : {"mount", "uts", "ipc", "pid", "network", "user", "cgroup", "time"})
        h.namespaces[ns] = Feature::yes("created");
    h.cgroups = {"hybrid", "/sys/fs/cgroup/unified",
                 {{"memory", "v1", "/sys/fs/cgroup/memory", Feature::yes("created")},
                  {"hugetlb", "v2", "/sys/fs/cgroup/unified", Feature::no("not delegated")}}};
    h.overlay = Feature::yes("mounted");
    for (const char* f : {"redirect_dir", "index", "metacopy", "xino", "volatile", "userxattr"})
        h.overlay_features[f] = Feature::yes("mounted");
    h.btf = Feature::yes("/sys/kernel/btf/vmlinux");
    h.tracefs = Feature::yes("/sys/kernel/tracing");
    for (const char* p : {"tracepoint", "raw_tp", "tp_btf"}) h.bpf_program_types[p] = Feature::yes("attached");
    h.bpf_program_types["kprobe"] = Feature::no("no kprobe PMU");
    h.bpf_program_types["fentry"] = Feature::no("load: ENOTSUPP");
    h.kvm.device = Feature::yes("/dev/kvm");
    h.kvm.api_version = 12;
    h.kvm.kvm_boot = GuestBootProbe{"kvm", Feature::no("KVM internal error: emulation failure"), 0.4};
    h.kvm.tcg_boot = GuestBootProbe{"tcg", Feature::yes("CTBENCH-GUEST-READY"), 2.1};
    for (const char* n : {"netns", "veth", "bridge", "nftables", "nft_nat"}) h.network[n] = Feature::yes("created");
    h.tools = {{"runc", Feature::yes("/usr/sbin/runc"), "1.1.5"}, {"crun", Feature::no("not found"), ""}};
    h.probe_seconds = 1.5;

    r.conformance.push_back({"ns.pid.init_is_1", "ns", Outcome::pass, "", 0.01, {{"pid", 1}}, "pid_namespaces(7)"});
    r.conformance.push_back({"cgroup.memory.oom_kill", "cgroup", Outcome::skip,
                             "memory controller is on cgroup v1 (hybrid host)", 0, nlohmann::json::object(),
                             "Documentation/admin-guide/cgroup-v2.rst"});
    r.conformance.push_back({"overlay.copy_up.chmod", "overlay", Outcome::fail, "lower layer modified <&>", 0.2,
                             nlohmann::json::object(), "Documentation/filesystems/overlayfs.rst"});
    r.conformance.push_back({"security.seccomp.default", "security", Outcome::error, "setup: mount: EPERM", 0.1,
                             nlohmann::json::object(), "OCI runtime-spec config-linux.md#seccomp"});
    BenchResult b;
    b.name = "start.lifecycle/ctbench-runtime";
    b.unit = "ns";
    b.samples = {5, 3, 4, 6, 2, 4, 5};
    b.baseline = "start.lifecycle/crun";
    b.ratio = 0.42;
    b.context = {{"runtime", "ctbench-runtime"}};
    finalize(b);
    b.ratio_ci = ConfidenceInterval{0.35, 0.51, 0.95};
    b.fidelity = Fidelity{"sockperf", "3.7", "tcp_rr p50 us", 0.98};
    b.trace = {{"tracer", {{"program_type", "tp_btf"}, {"events_seen", 4210}, {"events_lost", 0}, {"samples", 7}}},
               {"phases", {{{"name", "cgroups"}, {"on_cpu_ms", 0.8}, {"blocked_ms", 1.2}, {"share", 0.4},
                            {"top_wait", "synchronize_rcu < rcu_sync_enter"}, {"top_wait_ms", 1.1}},
                           {{"name", "container"}, {"on_cpu_ms", 0.3}, {"blocked_ms", 0.0}, {"share", 0.06}}}},
               {"unattributed_share", 0.01},
               {"sum_error", 0.002},
               {"overhead_ratio", 1.01},
               {"namespace_ops", {{{"op", "clone3(pid,net)"}, {"ms", 0.4}}}}};
    r.benchmarks.push_back(b);
    r.benchmarks_not_run.push_back({"veth.throughput", "network feature veth unavailable", false});
    r.traces.push_back({{"bench", b.name}, {"events", 3}});
    return r;
}

}  // namespace ctb::report::samples
