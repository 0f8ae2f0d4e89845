#include "reports/host_probe.hpp"

namespace ctb::report {

const CgroupControllerProbe* HostProbe::controller(const std::string& name) const {
    for (const auto& c : cgroups.controllers)
        if (c.name == name) return &c;
    return nullptr;
}

const ToolProbe* HostProbe::tool(const std::string& name) const {
    for (const auto& t : tools)
        if (t.name == name) return &t;
    return nullptr;
}

void to_json(nlohmann::json& j, const CgroupControllerProbe& v) {
    j = {{"name", v.name}, {"hierarchy", v.hierarchy}, {"mount", v.mount}, {"subtree", v.subtree}};
}
void from_json(const nlohmann::json& j, CgroupControllerProbe& v) {
    j.at("name").get_to(v.name);
    j.at("hierarchy").get_to(v.hierarchy);
    j.at("mount").get_to(v.mount);
    j.at("subtree").get_to(v.subtree);
}

void to_json(nlohmann::json& j, const CgroupProbe& v) {
    j = {{"mode", v.mode}, {"v2_mount", v.v2_mount}, {"controllers", v.controllers}};
}
void from_json(const nlohmann::json& j, CgroupProbe& v) {
    j.at("mode").get_to(v.mode);
    j.at("v2_mount").get_to(v.v2_mount);
    j.at("controllers").get_to(v.controllers);
}

void to_json(nlohmann::json& j, const GuestBootProbe& v) {
    j = {{"accel", v.accel}, {"reached_userspace", v.reached_userspace}, {"seconds", v.seconds}};
}
void from_json(const nlohmann::json& j, GuestBootProbe& v) {
    j.at("accel").get_to(v.accel);
    j.at("reached_userspace").get_to(v.reached_userspace);
    j.at("seconds").get_to(v.seconds);
}

void to_json(nlohmann::json& j, const KvmProbe& v) {
    j = {{"device", v.device}, {"api_version", v.api_version}};
    // null means "not probed" (doctor without --probe-kvm), distinct from "probed and failed".
    j["kvm_boot"] = v.kvm_boot ? nlohmann::json(*v.kvm_boot) : nlohmann::json(nullptr);
    j["tcg_boot"] = v.tcg_boot ? nlohmann::json(*v.tcg_boot) : nlohmann::json(nullptr);
}
void from_json(const nlohmann::json& j, KvmProbe& v) {
    j.at("device").get_to(v.device);
    j.at("api_version").get_to(v.api_version);
    if (!j.at("kvm_boot").is_null()) v.kvm_boot = j.at("kvm_boot").get<GuestBootProbe>();
    if (!j.at("tcg_boot").is_null()) v.tcg_boot = j.at("tcg_boot").get<GuestBootProbe>();
}

void to_json(nlohmann::json& j, const ToolProbe& v) {
    j = {{"name", v.name}, {"present", v.present}, {"version", v.version}};
}
void from_json(const nlohmann::json& j, ToolProbe& v) {
    j.at("name").get_to(v.name);
    j.at("present").get_to(v.present);
    j.at("version").get_to(v.version);
}

void to_json(nlohmann::json& j, const HostProbe& v) {
    j = {{"kernel", v.kernel},
         {"arch", v.arch},
         {"hostname", v.hostname},
         {"cpus", v.cpus},
         {"memory_bytes", v.memory_bytes},
         {"root", v.root},
         {"namespaces", v.namespaces},
         {"cgroups", v.cgroups},
         {"overlay", v.overlay},
         {"overlay_features", v.overlay_features},
         {"btf", v.btf},
         {"tracefs", v.tracefs},
         {"bpf_program_types", v.bpf_program_types},
         {"kvm", v.kvm},
         {"network", v.network},
         {"tools", v.tools},
         {"probe_seconds", v.probe_seconds}};
}
void from_json(const nlohmann::json& j, HostProbe& v) {
    j.at("kernel").get_to(v.kernel);
    j.at("arch").get_to(v.arch);
    j.at("hostname").get_to(v.hostname);
    j.at("cpus").get_to(v.cpus);
    j.at("memory_bytes").get_to(v.memory_bytes);
    j.at("root").get_to(v.root);
    j.at("namespaces").get_to(v.namespaces);
    j.at("cgroups").get_to(v.cgroups);
    j.at("overlay").get_to(v.overlay);
    j.at("overlay_features").get_to(v.overlay_features);
    j.at("btf").get_to(v.btf);
    j.at("tracefs").get_to(v.tracefs);
    j.at("bpf_program_types").get_to(v.bpf_program_types);
    j.at("kvm").get_to(v.kvm);
    j.at("network").get_to(v.network);
    j.at("tools").get_to(v.tools);
    j.at("probe_seconds").get_to(v.probe_seconds);
}

}  // namespace ctb::report
