// OCI runtime-spec config.json (versions 1.0 to 1.3) as C++ types. Only what the reference
// runtime acts on is modelled; unknown fields are ignored, as the spec requires.
// Parsing and validation: spec/parse.hpp. Field names follow the spec so that an error can name
// the JSON path ("linux.resources.memory.limit"). Every struct compares field by field (==), which
// the round-trip tests (parse_spec(to_json(s)) == s) rely on.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ctb::spec {

struct User {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::optional<std::uint32_t> umask;
    std::vector<std::uint32_t> additional_gids;  // additionalGids

    bool operator==(const User&) const = default;
};

struct Capabilities {  // names as in the spec: "CAP_SYS_ADMIN"
    std::vector<std::string> bounding, effective, inheritable, permitted, ambient;

    bool operator==(const Capabilities&) const = default;
};

struct Rlimit {
    std::string type;  // "RLIMIT_NOFILE"
    std::uint64_t hard = 0, soft = 0;

    bool operator==(const Rlimit&) const = default;
};

// process.consoleSize: the pty's size in characters (TIOCSWINSZ), with process.terminal.
struct ConsoleSize {
    unsigned height = 0, width = 0;
    bool operator==(const ConsoleSize&) const = default;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;  // consoleSize
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;  // noNewPrivileges
    std::optional<int> oom_score_adj;  // oomScoreAdj
    std::string apparmor_profile, selinux_label;  // accepted, not enforced (no LSM handling here)

    bool operator==(const Process&) const = default;
};

struct Root {
    std::string path = "rootfs";  // relative to the bundle unless absolute
    bool readonly = false;

    bool operator==(const Root&) const = default;
};

struct IdMapping {
    std::uint32_t container_id = 0;  // containerID
    std::uint32_t host_id = 0;       // hostID
    std::uint32_t size = 0;

    bool operator==(const IdMapping&) const = default;
};

struct Mount {
    std::string destination;
    std::string type;    // "proc", "tmpfs", "bind", "" (bind when options say so) ...
    std::string source;
    std::vector<std::string> options;  // "ro", "nosuid", "bind", "rbind", "rprivate", "size=65536k" ...
    // An idmapped mount's own mapping (config.md#posix-platform-mounts, OCI 1.2): an on-disk id
    // in containerID..+size shows as hostID + (id - containerID). Both or neither.
    // (Default initializers: the many {dest, type, source, options} initializers stay valid.)
    std::vector<IdMapping> uid_mappings = {}, gid_mappings = {};  // uidMappings, gidMappings

    bool operator==(const Mount&) const = default;
};

struct Namespace {
    std::string type;  // pid, network, mount, ipc, uts, user, cgroup, time
    std::string path;  // join this one instead of creating ("" = create)

    bool operator==(const Namespace&) const = default;
};

struct TimeOffset {
    std::int64_t secs = 0;
    std::uint32_t nanosecs = 0;

    bool operator==(const TimeOffset&) const = default;
};

struct Device {  // linux.devices: created in the container's /dev
    std::string path;
    std::string type;  // c, b, u, p
    std::int64_t major = 0, minor = 0;
    std::optional<std::uint32_t> file_mode;  // fileMode
    std::optional<std::uint32_t> uid, gid;

    bool operator==(const Device&) const = default;
};

struct DeviceRule {  // linux.resources.devices
    bool allow = false;
    std::string type = "a";  // a, c, b
    std::optional<std::int64_t> major, minor;  // absent = wildcard
    std::string access = "rwm";

    bool operator==(const DeviceRule&) const = default;
};

struct MemoryResources {
    std::optional<std::int64_t> limit;        // bytes; -1 = unlimited
    std::optional<std::int64_t> reservation;  // soft limit (v1) / memory.low (v2)
    std::optional<std::int64_t> swap;         // memory+swap (OCI semantics); -1 = unlimited
    std::optional<std::int64_t> kernel;       // deprecated, ignored with a note
    std::optional<std::uint64_t> swappiness;
    std::optional<bool> disable_oom_killer;   // disableOOMKiller

    bool operator==(const MemoryResources&) const = default;
};

struct CpuResources {
    std::optional<std::uint64_t> shares;  // v1 shares; mapped to v2 weight
    std::optional<std::int64_t> quota;    // us per period; -1 = unlimited
    std::optional<std::uint64_t> period;  // us
    std::optional<std::int64_t> realtime_runtime;  // realtimeRuntime
    std::optional<std::uint64_t> realtime_period;  // realtimePeriod
    std::string cpus;  // cpuset "0-1"
    std::string mems;  // cpuset "0"
    std::optional<std::int64_t> idle;

    bool operator==(const CpuResources&) const = default;
};

struct PidsResources {
    std::int64_t limit = 0;  // <= 0: unlimited

    bool operator==(const PidsResources&) const = default;
};

struct ThrottleDevice {
    std::int64_t major = 0, minor = 0;
    std::uint64_t rate = 0;

    bool operator==(const ThrottleDevice&) const = default;
};

struct WeightDevice {
    std::int64_t major = 0, minor = 0;
    std::optional<std::uint16_t> weight, leaf_weight;

    bool operator==(const WeightDevice&) const = default;
};

struct BlockIoResources {
    std::optional<std::uint16_t> weight;       // 10..1000
    std::optional<std::uint16_t> leaf_weight;  // leafWeight
    std::vector<WeightDevice> weight_device;
    std::vector<ThrottleDevice> throttle_read_bps_device, throttle_write_bps_device;
    std::vector<ThrottleDevice> throttle_read_iops_device, throttle_write_iops_device;

    bool operator==(const BlockIoResources&) const = default;
};

struct HugepageLimit {
    std::string page_size;  // pageSize: "2MB", "1GB"
    std::uint64_t limit = 0;

    bool operator==(const HugepageLimit&) const = default;
};

struct Resources {
    std::optional<MemoryResources> memory;
    std::optional<CpuResources> cpu;
    std::optional<PidsResources> pids;
    std::optional<BlockIoResources> block_io;  // blockIO
    std::vector<HugepageLimit> hugepage_limits;  // hugepageLimits
    std::vector<DeviceRule> devices;
    std::map<std::string, std::string> unified;  // raw cgroup v2 files

    bool operator==(const Resources&) const = default;
};

struct SeccompArg {
    unsigned index = 0;
    std::uint64_t value = 0, value_two = 0;  // valueTwo
    std::string op;  // SCMP_CMP_EQ ...

    bool operator==(const SeccompArg&) const = default;
};

struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action;  // SCMP_ACT_ERRNO ...
    std::optional<std::uint32_t> errno_ret;  // errnoRet
    std::vector<SeccompArg> args;

    bool operator==(const SeccompSyscall&) const = default;
};

struct Seccomp {
    std::string default_action;  // defaultAction
    std::optional<std::uint32_t> default_errno_ret;  // defaultErrnoRet
    std::vector<std::string> architectures;
    std::vector<std::string> flags;
    std::vector<SeccompSyscall> syscalls;
    // SCMP_ACT_NOTIFY (config-linux.md#seccomp): the unix socket of the seccomp agent that gets
    // the listener fd with the container process state, and an opaque string passed along.
    std::string listener_path, listener_metadata;  // listenerPath, listenerMetadata

    // Whether any rule (or the default) asks for SCMP_ACT_NOTIFY.
    bool notifies() const {
        if (default_action == "SCMP_ACT_NOTIFY") return true;
        for (const auto& s : syscalls)
            if (s.action == "SCMP_ACT_NOTIFY") return true;
        return false;
    }

    bool operator==(const Seccomp&) const = default;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings, gid_mappings;  // uidMappings, gidMappings
    std::map<std::string, TimeOffset> time_offsets;      // timeOffsets: "monotonic", "boottime"
    std::vector<Device> devices;
    std::string cgroups_path;  // cgroupsPath ("" = ctbench/<id>)
    std::optional<Resources> resources;
    std::string rootfs_propagation;  // rootfsPropagation: private, rprivate, slave, rslave, shared, rshared, unbindable
    std::vector<std::string> masked_paths, readonly_paths;  // maskedPaths, readonlyPaths
    std::optional<Seccomp> seccomp;
    std::map<std::string, std::string> sysctl;
    std::string mount_label;

    bool operator==(const Linux&) const = default;
};

struct Hook {  // config.md#posix-platform-hooks
    std::string path;  // absolute, resolved in the runtime's mount namespace
    std::vector<std::string> args, env;
    std::optional<int> timeout;  // seconds, > 0

    bool operator==(const Hook&) const = default;
};

struct Hooks {
    std::vector<Hook> prestart;  // deprecated; run with createRuntime
    std::vector<Hook> create_runtime, create_container, start_container;  // createRuntime ...
    std::vector<Hook> poststart, poststop;

    bool empty() const {
        return prestart.empty() && create_runtime.empty() && create_container.empty() && start_container.empty() &&
               poststart.empty() && poststop.empty();
    }
    bool operator==(const Hooks&) const = default;
};

struct Spec {
    std::string oci_version;  // ociVersion
    Process process;
    Root root;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    Linux linux;
    Hooks hooks;
    std::map<std::string, std::string> annotations;

    bool has_namespace(const std::string& type) const {
        for (const auto& n : linux.namespaces)
            if (n.type == type) return true;
        return false;
    }

    bool operator==(const Spec&) const = default;
};

}  // namespace ctb::spec
