// Host probes for eBPF: is there kernel BTF, is tracefs mounted, and which BPF program types can
// this kernel both load *and attach*. Every answer is found by trying, and carries its evidence
// (or the exact step and errno that failed), so `ctbench doctor` and the planner can give a skip
// reason up front instead of failing halfway through a traced benchmark.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/feature.hpp"

namespace ctb::bpf {

// vmlinux BTF loadable through libbpf (what CO-RE relocation needs).
// Evidence: "<path>: <n> types".
Feature probe_btf();

// Mount point of a tracefs instance in this mount namespace, if any (/sys/kernel/tracing is
// preferred over /sys/kernel/debug/tracing when both are mounted).
std::optional<std::string> tracefs_path();

// tracefs mounted somewhere; if none is, mount it at /sys/kernel/tracing (the standard place,
// left mounted like systemd does) and say so in the detail.
Feature ensure_tracefs();

// Load-and-attach checks, always in this order: tracepoint, raw_tp, tp_btf, kprobe, fentry.
// Each loads `r0 = 0; exit`, attaches it for real, then detaches and closes everything.
// The tracepoint check needs tracefs mounted (call ensure_tracefs() first).
std::vector<std::pair<std::string, Feature>> probe_program_types();

}  // namespace ctb::bpf
