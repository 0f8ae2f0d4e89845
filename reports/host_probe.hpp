// What `ctbench doctor` found out about the host: the input to every skip decision, and part of
// every report's metadata. Each entry is a Feature: available or not, with evidence or reason.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/feature.hpp"

namespace ctb::report {

struct CgroupControllerProbe {
    std::string name;
    std::string hierarchy;  // "v1", "v2" or "none" (known to the kernel but not mounted)
    std::string mount;      // where its hierarchy is mounted ("" when none)
    Feature subtree;        // ctbench can create (and use) its own sub-tree there
};

struct CgroupProbe {
    std::string mode;  // "v1", "v2", "hybrid", "none"
    std::string v2_mount;
    std::vector<CgroupControllerProbe> controllers;
};

struct GuestBootProbe {
    std::string accel;  // "kvm" or "tcg": what actually ran
    Feature reached_userspace;
    double seconds = 0;
};

struct KvmProbe {
    Feature device;  // /dev/kvm opens and answers KVM_GET_API_VERSION
    int api_version = 0;
    // Only with `doctor --probe-kvm`: a real guest boot under each accelerator.
    std::optional<GuestBootProbe> kvm_boot;
    std::optional<GuestBootProbe> tcg_boot;
};

struct ToolProbe {
    std::string name;  // qemu-system-x86_64, nft, runc, crun, ...
    Feature present;   // detail: path and version line, or why not
    std::string version;
};

struct HostProbe {
    std::string kernel;  // uname -r
    std::string arch;
    std::string hostname;
    unsigned cpus = 0;
    std::uint64_t memory_bytes = 0;
    bool root = false;
    std::map<std::string, Feature> namespaces;  // mount, uts, ipc, pid, network, user, cgroup, time
    CgroupProbe cgroups;
    Feature overlay;
    std::map<std::string, Feature> overlay_features;
    Feature btf;
    Feature tracefs;
    std::map<std::string, Feature> bpf_program_types;  // tracepoint, raw_tp, tp_btf, kprobe, fentry
    KvmProbe kvm;
    std::map<std::string, Feature> network;  // netns, veth, bridge, nftables, nft_nat
    std::vector<ToolProbe> tools;
    double probe_seconds = 0;

    const CgroupControllerProbe* controller(const std::string& name) const;
    const ToolProbe* tool(const std::string& name) const;
};

void to_json(nlohmann::json& j, const CgroupControllerProbe& v);
void from_json(const nlohmann::json& j, CgroupControllerProbe& v);
void to_json(nlohmann::json& j, const CgroupProbe& v);
void from_json(const nlohmann::json& j, CgroupProbe& v);
void to_json(nlohmann::json& j, const GuestBootProbe& v);
void from_json(const nlohmann::json& j, GuestBootProbe& v);
void to_json(nlohmann::json& j, const KvmProbe& v);
void from_json(const nlohmann::json& j, KvmProbe& v);
void to_json(nlohmann::json& j, const ToolProbe& v);
void from_json(const nlohmann::json& j, ToolProbe& v);
void to_json(nlohmann::json& j, const HostProbe& v);
void from_json(const nlohmann::json& j, HostProbe& v);

}  // namespace ctb::report
