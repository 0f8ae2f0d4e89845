#include "reports/requirements.hpp"

#include <fmt/format.h>

namespace ctb {
namespace {

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

std::string unmet_requirement(const Requirement& r, const report::HostProbe& host) {
    using K = Requirement::Kind;
    switch (r.kind) {
        case K::root: return host.root ? "" : "needs root";
        case K::namespace_type: return feature_gap(host.namespaces, "namespace", r.value);
        case K::cgroup_controller: return controller_gap(host, r.value, false);
        case K::cgroup_v2_controller: return controller_gap(host, r.value, true);
        case K::overlay_feature:
            if (!host.overlay.available) return "overlayfs unavailable: " + host.overlay.detail;
            return feature_gap(host.overlay_features, "overlay feature", r.value);
        case K::bpf_program_type: return feature_gap(host.bpf_program_types, "BPF program type", r.value);
        case K::network_feature: return feature_gap(host.network, "network feature", r.value);
        case K::tool: {
            const auto* t = host.tool(r.value);
            if (!t) return fmt::format("{} was not probed", r.value);
            return t->present.available ? "" : fmt::format("{}: {}", r.value, t->present.detail);
        }
        case K::bpf_tracing: return tracing_gap(host);
    }
    return "unknown requirement";
}

std::string first_unmet(const std::vector<Requirement>& needs, const report::HostProbe& host) {
    for (const auto& r : needs)
        if (auto why = unmet_requirement(r, host); !why.empty()) return why;
    return {};
}

std::string requirement_text(const Requirement& r) {
    using K = Requirement::Kind;
    switch (r.kind) {
        case K::root: return "root";
        case K::namespace_type: return "ns:" + r.value;
        case K::cgroup_controller: return "cgroup:" + r.value;
        case K::cgroup_v2_controller: return "cgroup2:" + r.value;
        case K::overlay_feature: return "overlay:" + r.value;
        case K::bpf_program_type: return "bpf:" + r.value;
        case K::network_feature: return "net:" + r.value;
        case K::tool: return "tool:" + r.value;
        case K::bpf_tracing: return "bpf-tracing";
    }
    return "?";
}

}  // namespace ctb
