// config.json "linux" object -> spec::Linux (resources: parse_resources.cpp).
#include <algorithm>
#include <limits>

#include "runtime/spec/decode.hpp"
#include "runtime/spec/names.hpp"

namespace ctb::spec::detail {

namespace {

constexpr std::int64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

// clone(2) takes each CLONE_NEW* flag once; a second entry would be ignored or contradict the first.
void check_namespaces(const Reader& list, const std::vector<Namespace>& namespaces) {
    for (std::size_t i = 0; i < namespaces.size() && !list.failed(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (namespaces[j].type == namespaces[i].type)
                list.element(i).fail_at("type", fmt::format("duplicate namespace type {} (also at {}[{}])",
                                                            json(namespaces[i].type).dump(), list.path(), j));
}

// A new user namespace without mappings leaves every id unmapped (nobody); runc and crun refuse it.
void check_user_mappings(const Reader& r, const Linux& linux) {
    bool creates_userns = std::any_of(linux.namespaces.begin(), linux.namespaces.end(),
                                      [](const Namespace& n) { return n.type == "user" && n.path.empty(); });
    if (!creates_userns) return;
    const char* why = "required (non-empty) when a user namespace is created (type \"user\" without a path)";
    if (linux.uid_mappings.empty()) r.fail_at("uidMappings", why);
    if (linux.gid_mappings.empty()) r.fail_at("gidMappings", why);
}

void check_time_offsets(const Reader& offsets, const std::map<std::string, TimeOffset>& values) {
    for (const auto& [clock, offset] : values)
        if (!contains(kTimeOffsetClocks, clock))
            offsets.fail_at(clock, fmt::format("unknown clock {} (valid: {})", json(clock).dump(),
                                               join(kTimeOffsetClocks)));
}

}  // namespace

void decode(const Reader& r, Linux& out) {
    if (!r.expect_object()) return;
    r.get("namespaces", out.namespaces);
    check_namespaces(r.child("namespaces"), out.namespaces);
    r.get("uidMappings", out.uid_mappings);
    r.get("gidMappings", out.gid_mappings);
    check_user_mappings(r, out);
    r.get("timeOffsets", out.time_offsets);
    check_time_offsets(r.child("timeOffsets"), out.time_offsets);
    r.get("devices", out.devices);
    r.get("cgroupsPath", out.cgroups_path);
    r.get("resources", out.resources);
    r.get_enum("rootfsPropagation", out.rootfs_propagation, kRootfsPropagation, "propagation");
    r.get("maskedPaths", out.masked_paths);
    r.check_absolute_each("maskedPaths", out.masked_paths);
    r.get("readonlyPaths", out.readonly_paths);
    r.check_absolute_each("readonlyPaths", out.readonly_paths);
    r.get("seccomp", out.seccomp);
    r.get("sysctl", out.sysctl);
    r.get("mountLabel", out.mount_label);
}

void decode(const Reader& r, Namespace& out) {
    if (!r.expect_object()) return;
    r.require_enum("type", out.type, kNamespaceTypes, "namespace type");
    r.get("path", out.path);
    r.check_absolute("path", out.path, /*allow_empty=*/true);  // "" = create, as runc reads it
}

void decode(const Reader& r, IdMapping& out) {
    if (!r.expect_object()) return;
    r.require("containerID", out.container_id);
    r.require("hostID", out.host_id);
    r.require_in("size", out.size, 1, kU32Max);  // the kernel rejects an empty range
}

void decode(const Reader& r, TimeOffset& out) {
    if (!r.expect_object()) return;
    r.get("secs", out.secs);
    r.get_in("nanosecs", out.nanosecs, 0, 999'999'999);  // time_namespaces(7): below one second
}

void decode(const Reader& r, Device& out) {
    if (!r.expect_object()) return;
    r.require("path", out.path);
    r.check_absolute("path", out.path);
    r.require_enum("type", out.type, kDeviceTypes, "device type");
    r.get("major", out.major);
    r.get("minor", out.minor);
    // A FIFO has no device number; character and block devices need one for mknod(2).
    for (const char* key : {"major", "minor"})
        if (!r.failed() && out.type != "p" && !r.has(key))
            r.fail_at(key, fmt::format("required for device type {}", json(out.type).dump()));
    r.get_in("fileMode", out.file_mode, 0, 07777);
    r.get("uid", out.uid);
    r.get("gid", out.gid);
}

void decode(const Reader& r, Seccomp& out) {
    if (!r.expect_object()) return;
    r.require_enum("defaultAction", out.default_action, kSeccompActions, "seccomp action");
    r.get("defaultErrnoRet", out.default_errno_ret);
    r.get_enums("architectures", out.architectures, kSeccompArchitectures, "seccomp architecture");
    r.get_enums("flags", out.flags, kSeccompFlags, "seccomp flag");
    r.get("syscalls", out.syscalls);
    r.get("listenerPath", out.listener_path);
    r.get("listenerMetadata", out.listener_metadata);
    // Without an agent nobody answers a notification: refused before anything exists.
    if (!r.failed() && out.notifies() && out.listener_path.empty())
        r.fail_at("listenerPath", "required when an action is SCMP_ACT_NOTIFY (the seccomp agent's unix socket)");
    r.check_absolute("listenerPath", out.listener_path, /*allow_empty=*/true);
}

void decode(const Reader& r, SeccompSyscall& out) {
    if (!r.expect_object()) return;
    r.require("names", out.names);
    if (r.has("names") && out.names.empty()) r.fail_at("names", "must not be empty");
    r.require_enum("action", out.action, kSeccompActions, "seccomp action");
    r.get("errnoRet", out.errno_ret);
    r.get("args", out.args);
}

void decode(const Reader& r, SeccompArg& out) {
    if (!r.expect_object()) return;
    r.require_in("index", out.index, 0, 5);  // a system call has at most six arguments
    r.require("value", out.value);
    r.get("valueTwo", out.value_two);
    r.require_enum("op", out.op, kSeccompOperators, "seccomp operator");
}

}  // namespace ctb::spec::detail
