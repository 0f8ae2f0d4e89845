// config.json parsing, validation messages, to_json round trips and the default spec.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <fmt/format.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "common/files.hpp"
#include "runtime/spec/parse.hpp"

using namespace ctb;
using namespace ctb::spec;
using nlohmann::json;

namespace {

// A config.json touching every field the Spec models (the runtime-spec's own full example, extended),
// plus fields we do not model (network, intelRdt ...) that must be ignored.
const char* const kFullConfig = R"json({
  "ociVersion": "1.1.0",
  "process": {
    "terminal": true,
    "consoleSize": {"height": 25, "width": 80},
    "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6]},
    "args": ["sh", "-c", "echo hi"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/root",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_KILL"],
      "inheritable": ["CAP_CHOWN"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL"],
      "ambient": ["CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [
      {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0},
      {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}
    ],
    "noNewPrivileges": true,
    "oomScoreAdj": -500,
    "apparmorProfile": "acme_secure_profile",
    "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675"
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "slartibartfast",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/data", "type": "bind", "source": "/volumes/testing", "options": ["rbind", "rw", "ridmap"],
     "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
     "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 2}]}
  ],
  "hooks": {"prestart": [{"path": "/usr/bin/fix-mounts", "args": ["fix-mounts", "arg1"]}]},
  "linux": {
    "namespaces": [
      {"type": "pid"}, {"type": "network", "path": "/var/run/netns/neta"}, {"type": "mount"},
      {"type": "ipc"}, {"type": "uts"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}
    ],
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 32000}],
    "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 32000},
                    {"containerID": 32000, "hostID": 200000, "size": 1}],
    "timeOffsets": {"monotonic": {"secs": 172800, "nanosecs": 0},
                    "boottime": {"secs": -3600, "nanosecs": 500}},
    "devices": [
      {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
      {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 432, "uid": 0, "gid": 6},
      {"path": "/dev/myfifo", "type": "p"}
    ],
    "cgroupsPath": "/myRuntime/myContainer",
    "resources": {
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
      "pids": {"limit": 32771},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}, {"pageSize": "1GB", "limit": 0}],
      "memory": {"limit": 536870912, "reservation": 268435456, "swap": -1, "kernel": 0,
                 "kernelTCP": 0, "swappiness": 60, "disableOOMKiller": true},
      "cpu": {"shares": 1024, "quota": 1000000, "period": 500000, "realtimeRuntime": 950000,
              "realtimePeriod": 1000000, "cpus": "2-3", "mems": "0-7", "idle": 1},
      "devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"},
        {"allow": true, "type": "b", "major": 8, "access": "r"}
      ],
      "blockIO": {
        "weight": 10, "leafWeight": 1000,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                         {"major": 8, "minor": 16, "weight": 500}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 1, "rate": 700}],
        "throttleReadIOPSDevice": [{"major": 8, "minor": 2, "rate": 800}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]
      },
      "unified": {"memory.high": "1073741824", "io.weight": "default 100"}
    },
    "rootfsPropagation": "slave",
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 38,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "listenerPath": "/run/seccomp-agent.sock",
      "syscalls": [
        {"names": ["getcwd", "chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 255, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"}]}
      ]
    },
    "sysctl": {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "256"},
    "maskedPaths": ["/proc/kcore", "/proc/latency_stats"],
    "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
    "mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
    "intelRdt": {"closID": "guaranteed_group", "l3CacheSchema": "L3:0=7f0;1=1f"},
    "personality": {"domain": "LINUX"}
  },
  "annotations": {"com.example.key1": "value1", "com.example.key2": "value2"}
})json";

// `runc spec` of runc 1.1.5 (spec 1.0.2-dev), verbatim.
const char* const kRuncSpec = R"json({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
})json";

Process expected_process() {
    Process p;
    p.terminal = true;
    p.console_size = ConsoleSize{25, 80};
    p.user.uid = 1000;
    p.user.gid = 1001;
    p.user.umask = 18;
    p.user.additional_gids = {5, 6};
    p.args = {"sh", "-c", "echo hi"};
    p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
    p.cwd = "/root";
    Capabilities caps;
    caps.bounding = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    caps.effective = {"CAP_KILL"};
    caps.inheritable = {"CAP_CHOWN"};
    caps.permitted = {"CAP_AUDIT_WRITE", "CAP_KILL"};
    caps.ambient = {"CAP_NET_BIND_SERVICE"};
    p.capabilities = caps;
    p.rlimits = {{"RLIMIT_CORE", 18446744073709551615ULL, 0}, {"RLIMIT_NOFILE", 1024, 512}};
    p.no_new_privileges = true;
    p.oom_score_adj = -500;
    p.apparmor_profile = "acme_secure_profile";
    p.selinux_label = "system_u:system_r:svirt_lxc_net_t:s0:c124,c675";
    return p;
}

Resources expected_resources() {
    Resources r;
    r.pids = PidsResources{32771};
    r.hugepage_limits = {{"2MB", 209715200}, {"1GB", 0}};
    MemoryResources& m = r.memory.emplace();
    m.limit = 536870912;
    m.reservation = 268435456;
    m.swap = -1;
    m.kernel = 0;
    m.swappiness = 60;
    m.disable_oom_killer = true;
    CpuResources& c = r.cpu.emplace();
    c.shares = 1024;
    c.quota = 1000000;
    c.period = 500000;
    c.realtime_runtime = 950000;
    c.realtime_period = 1000000;
    c.cpus = "2-3";
    c.mems = "0-7";
    c.idle = 1;
    r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"},
                 {true, "c", 10, 229, "rw"},
                 {true, "b", 8, std::nullopt, "r"}};
    BlockIoResources& b = r.block_io.emplace();
    b.weight = 10;
    b.leaf_weight = 1000;
    b.weight_device = {{8, 0, 500, 300}, {8, 16, 500, std::nullopt}};
    b.throttle_read_bps_device = {{8, 0, 600}};
    b.throttle_write_bps_device = {{8, 1, 700}};
    b.throttle_read_iops_device = {{8, 2, 800}};
    b.throttle_write_iops_device = {{8, 16, 300}};
    r.unified = {{"memory.high", "1073741824"}, {"io.weight", "default 100"}};
    return r;
}

Seccomp expected_seccomp() {
    Seccomp s;
    s.default_action = "SCMP_ACT_ERRNO";
    s.default_errno_ret = 38;
    s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    s.flags = {"SECCOMP_FILTER_FLAG_LOG"};
    s.listener_path = "/run/seccomp-agent.sock";
    s.syscalls = {{{"getcwd", "chmod"}, "SCMP_ACT_ERRNO", 1, {}},
                  {{"personality"},
                   "SCMP_ACT_ALLOW",
                   std::nullopt,
                   {{0, 8, 0, "SCMP_CMP_EQ"}, {1, 255, 4, "SCMP_CMP_MASKED_EQ"}}}};
    return s;
}

Linux expected_linux() {
    Linux l;
    l.namespaces = {{"pid", ""},  {"network", "/var/run/netns/neta"}, {"mount", ""}, {"ipc", ""},
                    {"uts", ""},  {"user", ""},   {"cgroup", ""}, {"time", ""}};
    l.uid_mappings = {{0, 1000, 32000}};
    l.gid_mappings = {{0, 1000, 32000}, {32000, 200000, 1}};
    l.time_offsets = {{"monotonic", {172800, 0}}, {"boottime", {-3600, 500}}};
    l.devices = {{"/dev/fuse", "c", 10, 229, 438, 0, 0},
                 {"/dev/sda", "b", 8, 0, 432, 0, 6},
                 {"/dev/myfifo", "p", 0, 0, std::nullopt, std::nullopt, std::nullopt}};
    l.cgroups_path = "/myRuntime/myContainer";
    l.resources = expected_resources();
    l.rootfs_propagation = "slave";
    l.masked_paths = {"/proc/kcore", "/proc/latency_stats"};
    l.readonly_paths = {"/proc/sys", "/proc/sysrq-trigger"};
    l.seccomp = expected_seccomp();
    l.sysctl = {{"net.ipv4.ip_forward", "1"}, {"net.core.somaxconn", "256"}};
    l.mount_label = "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811";
    return l;
}

Spec expected_full_spec() {
    Spec s;
    s.oci_version = "1.1.0";
    s.process = expected_process();
    s.root = {"rootfs", true};
    s.hostname = "slartibartfast";
    s.hooks.prestart = {{"/usr/bin/fix-mounts", {"fix-mounts", "arg1"}, {}, std::nullopt}};
    s.domainname = "example.org";
    s.mounts = {{"/proc", "proc", "proc", {}},
                {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
                {"/data", "bind", "/volumes/testing", {"rbind", "rw", "ridmap"}, {{0, 1000, 1}}, {{0, 2000, 2}}}};
    s.linux = expected_linux();
    s.annotations = {{"com.example.key1", "value1"}, {"com.example.key2", "value2"}};
    return s;
}

// The message of parsing `config`, or "ok".
std::string error_of(const json& config) {
    auto spec = parse_spec(config);
    return spec ? "ok" : spec.error().message();
}

// The message of parsing the default config with `value` at JSON pointer `pointer`.
std::string error_with(const std::string& pointer, const json& value) {
    json config = to_json(default_spec());
    config[json::json_pointer(pointer)] = value;
    return error_of(config);
}

std::string error_without(const std::string& pointer) {
    json config = to_json(default_spec());
    json::json_pointer p(pointer);
    config[p.parent_pointer()].erase(p.back());
    return error_of(config);
}

// A config with a user namespace created (no path) and the given mappings.
json with_user_namespace(const json& uid_mappings, const json& gid_mappings) {
    json config = to_json(default_spec());
    config["linux"]["namespaces"].push_back({{"type", "user"}});
    if (!uid_mappings.is_null()) config["linux"]["uidMappings"] = uid_mappings;
    if (!gid_mappings.is_null()) config["linux"]["gidMappings"] = gid_mappings;
    return config;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// A full config: every modelled field read into the right place.

TEST(ParseSpec, FullConfigEveryField) {
    auto spec = parse_spec(json::parse(kFullConfig));
    ASSERT_TRUE(spec) << spec.error().message();
    Spec want = expected_full_spec();
    // Section by section, so that a failure points at the part that differs; the JSON dumps show how.
    EXPECT_EQ(spec->oci_version, want.oci_version);
    EXPECT_TRUE(spec->process == want.process) << to_json(*spec)["process"].dump(2);
    EXPECT_TRUE(spec->root == want.root);
    EXPECT_EQ(spec->hostname, want.hostname);
    EXPECT_EQ(spec->domainname, want.domainname);
    EXPECT_TRUE(spec->mounts == want.mounts) << to_json(*spec)["mounts"].dump(2);
    EXPECT_TRUE(spec->linux.namespaces == want.linux.namespaces);
    EXPECT_TRUE(spec->linux.uid_mappings == want.linux.uid_mappings);
    EXPECT_TRUE(spec->linux.gid_mappings == want.linux.gid_mappings);
    EXPECT_TRUE(spec->linux.time_offsets == want.linux.time_offsets);
    EXPECT_TRUE(spec->linux.devices == want.linux.devices) << to_json(*spec)["linux"]["devices"].dump(2);
    EXPECT_TRUE(spec->linux.resources == want.linux.resources)
        << to_json(*spec)["linux"]["resources"].dump(2);
    EXPECT_TRUE(spec->linux.seccomp == want.linux.seccomp) << to_json(*spec)["linux"]["seccomp"].dump(2);
    EXPECT_TRUE(spec->linux.sysctl == want.linux.sysctl);
    EXPECT_EQ(spec->linux.cgroups_path, want.linux.cgroups_path);
    EXPECT_EQ(spec->linux.rootfs_propagation, want.linux.rootfs_propagation);
    EXPECT_EQ(spec->linux.masked_paths, want.linux.masked_paths);
    EXPECT_EQ(spec->linux.readonly_paths, want.linux.readonly_paths);
    EXPECT_EQ(spec->linux.mount_label, want.linux.mount_label);
    EXPECT_EQ(spec->annotations, want.annotations);
    EXPECT_TRUE(spec->hooks == want.hooks) << to_json(*spec)["hooks"].dump(2);
    EXPECT_EQ(to_json(*spec).dump(2), to_json(want).dump(2));
    EXPECT_TRUE(*spec == want);
}

TEST(ParseSpec, FullConfigSpotChecks) {
    auto spec = parse_spec(json::parse(kFullConfig));
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->process.rlimits.at(0).hard, UINT64_MAX);  // RLIM_INFINITY survives as uint64
    EXPECT_EQ(spec->linux.time_offsets.at("boottime").secs, -3600);
    EXPECT_EQ(spec->linux.resources->memory->swap, -1);
    EXPECT_FALSE(spec->linux.resources->devices.at(2).minor.has_value());  // absent = wildcard
    EXPECT_EQ(spec->linux.resources->devices.at(0).type, "a");  // absent type = all
    EXPECT_TRUE(spec->has_namespace("time"));
}

TEST(ParseSpec, RuncSpecOutputParses) {
    auto spec = parse_spec(json::parse(kRuncSpec));
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->oci_version, "1.0.2-dev");
    EXPECT_TRUE(spec->process.terminal);
    EXPECT_EQ(spec->process.capabilities->ambient.size(), 3u);
    EXPECT_EQ(spec->mounts.size(), 7u);
    EXPECT_EQ(spec->linux.namespaces.size(), 5u);
    EXPECT_FALSE(spec->has_namespace("cgroup"));
    EXPECT_EQ(spec->linux.masked_paths.size(), 10u);
    ASSERT_EQ(spec->linux.resources->devices.size(), 1u);
    EXPECT_FALSE(spec->linux.resources->devices[0].allow);
    EXPECT_EQ(spec->hostname, "runc");
}

// config.md#posix-platform-mounts: a mount's own id mappings (idmapped mounts), both or neither.
TEST(ParseSpec, MountIdMappingsRoundTripAndComeInPairs) {
    json config = to_json(default_spec());
    json map = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 100}}});
    config["mounts"][0]["options"] = {"bind", "idmap"};
    config["mounts"][0]["uidMappings"] = map;
    config["mounts"][0]["gidMappings"] = map;
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->mounts[0].uid_mappings, (std::vector<IdMapping>{{0, 100000, 100}}));
    EXPECT_EQ(spec->mounts[0].gid_mappings, spec->mounts[0].uid_mappings);
    auto again = parse_spec(to_json(*spec));
    ASSERT_TRUE(again);
    EXPECT_TRUE(*again == *spec);
    config["mounts"][0].erase("gidMappings");
    auto half = parse_spec(config);
    ASSERT_FALSE(half);
    EXPECT_TRUE(half.error().message().starts_with("parse config.json mounts[0].gidMappings: required"))
        << half.error().message();
    config["mounts"][0]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 1}, {"size", 0}}});
    auto empty_range = parse_spec(config);
    ASSERT_FALSE(empty_range);
    EXPECT_NE(empty_range.error().message().find("mounts[0].gidMappings[0].size"), std::string::npos)
        << empty_range.error().message();
}

// config-linux.md#seccomp: SCMP_ACT_NOTIFY needs an agent to answer: listenerPath, absolute.
TEST(ParseSpec, SeccompNotifyNeedsAListenerPath) {
    json config = to_json(default_spec());
    config["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                  {"syscalls", json::array({{{"names", {"mkdir"}}, {"action", "SCMP_ACT_NOTIFY"}}})}};
    auto missing = parse_spec(config);
    ASSERT_FALSE(missing);
    EXPECT_TRUE(missing.error().message().starts_with("parse config.json linux.seccomp.listenerPath: required"))
        << missing.error().message();
    config["linux"]["seccomp"]["listenerPath"] = "agent.sock";
    auto relative = parse_spec(config);
    ASSERT_FALSE(relative);
    EXPECT_NE(relative.error().message().find("linux.seccomp.listenerPath"), std::string::npos);
    config["linux"]["seccomp"]["listenerPath"] = "/run/agent.sock";
    config["linux"]["seccomp"]["listenerMetadata"] = "meta";
    auto ok = parse_spec(config);
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(ok->linux.seccomp->listener_metadata, "meta");
    EXPECT_TRUE(ok->linux.seccomp->notifies());
}

TEST(ParseSpec, UnknownFieldsAreIgnored) {
    json config = to_json(default_spec());
    config["futureTopLevel"] = {{"anything", 1}};
    config["hooks"] = {{"futureHook", json::array({{{"path", "/bin/true"}}})}};
    config["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}};
    config["process"]["user"]["username"] = "root";
    config["mounts"][0]["uidMappings"] = json::array();
    config["linux"]["resources"]["rdma"] = {{"mlx5_1", {{"hcaHandles", 3}}}};
    config["linux"]["intelRdt"] = "not even the right type";
    config["linux"]["namespaces"][0]["extra"] = true;
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_TRUE(*spec == default_spec());
}

TEST(ParseSpec, HooksEveryKindAndBadValues) {
    json config = to_json(default_spec());
    json hook = {{"path", "/bin/h"}, {"args", {"h", "x"}}, {"env", {"A=1"}}, {"timeout", 3}};
    for (const char* kind : {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"})
        config["hooks"][kind] = json::array({hook});
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    for (const auto* list : {&spec->hooks.prestart, &spec->hooks.create_runtime, &spec->hooks.create_container,
                             &spec->hooks.start_container, &spec->hooks.poststart, &spec->hooks.poststop}) {
        ASSERT_EQ(list->size(), 1u);
        EXPECT_EQ(list->front(), (Hook{"/bin/h", {"h", "x"}, {"A=1"}, 3}));
    }
    EXPECT_TRUE(*parse_spec(to_json(*spec)) == *spec);
    auto error_with_hook = [](const json& h) {
        json c = to_json(default_spec());
        c["hooks"]["poststop"] = json::array({h});
        return error_of(c);
    };
    EXPECT_EQ(error_with_hook({{"path", "/bin/h"}, {"timeout", 0}}),
              "parse config.json hooks.poststop[0].timeout: must be greater than zero");
    EXPECT_NE(error_with_hook({{"path", "relative/h"}}).find("hooks.poststop[0].path"), std::string::npos);
}

TEST(ParseSpec, NullMeansNotSet) {
    json config = to_json(default_spec());
    config["hostname"] = nullptr;
    config["linux"]["seccomp"] = nullptr;
    config["process"]["rlimits"] = nullptr;
    auto spec = parse_spec(config);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->hostname, "");
    EXPECT_TRUE(spec->process.rlimits.empty());
}

// ---------------------------------------------------------------------------------------------
// Every rejection names the step, the JSON path of the field and what was expected.

TEST(ParseSpecErrors, TypeErrorsNameThePath) {
    EXPECT_EQ(error_with("/linux/resources/memory/limit", "abc"),
              R"(parse config.json linux.resources.memory.limit: expected integer, got "abc")");
    EXPECT_EQ(error_with("/linux/resources/memory/limit", 1.5),
              "parse config.json linux.resources.memory.limit: expected integer, got 1.5");
    EXPECT_EQ(error_with("/process/terminal", "yes"),
              R"(parse config.json process.terminal: expected boolean, got "yes")");
    EXPECT_EQ(error_with("/process/consoleSize", json{{"height", 25}}),
              "parse config.json process.consoleSize.width: required field is missing");
    EXPECT_EQ(error_with("/process/consoleSize", json{{"height", -1}, {"width", 80}}),
              "parse config.json process.consoleSize.height: expected integer in 0..65535, got -1");
    EXPECT_EQ(error_with("/process/consoleSize", json{{"height", 25}, {"width", 65536}}),
              "parse config.json process.consoleSize.width: expected integer in 0..65535, got 65536");
    EXPECT_EQ(error_with("/process/env", "PATH=/bin"),
              R"(parse config.json process.env: expected array, got "PATH=/bin")");
    EXPECT_EQ(error_with("/mounts/2/options/1", 5), "parse config.json mounts[2].options[1]: expected string, got 5");
    EXPECT_EQ(error_with("/linux", "x"), R"(parse config.json linux: expected object, got "x")");
    EXPECT_EQ(error_with("/linux/sysctl", json{{"net.ipv4.ip_forward", 1}}),
              R"(parse config.json linux.sysctl["net.ipv4.ip_forward"]: expected string, got 1)");
    EXPECT_EQ(error_of(json::array()), "parse config.json: expected object, got []");
}

TEST(ParseSpecErrors, RequiredFields) {
    EXPECT_EQ(error_without("/ociVersion"), "parse config.json ociVersion: required field is missing");
    EXPECT_EQ(error_without("/process"), "parse config.json process: required field is missing");
    EXPECT_EQ(error_without("/process/cwd"), "parse config.json process.cwd: required field is missing");
    EXPECT_EQ(error_without("/process/args"), "parse config.json process.args: required field is missing");
    EXPECT_EQ(error_without("/root/path"), "parse config.json root.path: required field is missing");
    EXPECT_EQ(error_without("/mounts/0/destination"),
              "parse config.json mounts[0].destination: required field is missing");
    EXPECT_EQ(error_without("/process/rlimits/0/soft"),
              "parse config.json process.rlimits[0].soft: required field is missing");
}

TEST(ParseSpecErrors, EmptyArgs) {
    EXPECT_EQ(error_with("/process/args", json::array()), "parse config.json process.args: must not be empty");
}

TEST(ParseSpecErrors, UnknownNamespaceType) {
    EXPECT_EQ(error_with("/linux/namespaces/2/type", "bogus"),
              R"(parse config.json linux.namespaces[2].type: unknown namespace type "bogus" )"
              "(valid: pid, network, mount, ipc, uts, user, cgroup, time)");
}

TEST(ParseSpecErrors, DuplicateNamespaceType) {
    EXPECT_EQ(error_with("/linux/namespaces/3/type", "pid"),
              R"(parse config.json linux.namespaces[3].type: duplicate namespace type "pid" )"
              "(also at linux.namespaces[0])");
}

TEST(ParseSpecErrors, RelativePaths) {
    EXPECT_EQ(error_with("/mounts/3/destination", "dev/shm"),
              R"(parse config.json mounts[3].destination: must be an absolute path, got "dev/shm")");
    EXPECT_EQ(error_with("/process/cwd", "home"),
              R"(parse config.json process.cwd: must be an absolute path, got "home")");
    EXPECT_EQ(error_with("/linux/maskedPaths/1", "proc/kcore"),
              R"(parse config.json linux.maskedPaths[1]: must be an absolute path, got "proc/kcore")");
    EXPECT_EQ(error_with("/linux/namespaces/1/path", "run/netns/x"),
              R"(parse config.json linux.namespaces[1].path: must be an absolute path, got "run/netns/x")");
}

TEST(ParseSpecErrors, UnknownRlimit) {
    EXPECT_TRUE(error_with("/process/rlimits/0/type", "RLIMIT_FOO")
                    .starts_with(R"(parse config.json process.rlimits[0].type: unknown rlimit "RLIMIT_FOO" (valid: RLIMIT_AS, )"));
}

TEST(ParseSpecErrors, RlimitConsistency) {
    json config = to_json(default_spec());
    config["process"]["rlimits"].push_back({{"type", "RLIMIT_NOFILE"}, {"hard", 10}, {"soft", 10}});
    EXPECT_EQ(error_of(config), R"(parse config.json process.rlimits[1].type: duplicate rlimit "RLIMIT_NOFILE")");
    EXPECT_EQ(error_with("/process/rlimits/0/soft", 2048),
              "parse config.json process.rlimits[0].soft: soft limit 2048 exceeds hard limit 1024");
}

TEST(ParseSpecErrors, UnknownCapability) {
    EXPECT_EQ(error_with("/process/capabilities/bounding/1", "CAP_FOO"),
              R"(parse config.json process.capabilities.bounding[1]: unknown capability "CAP_FOO")");
    EXPECT_EQ(error_with("/process/capabilities/ambient", json{"CAP_SYS_ADMN"}),
              R"(parse config.json process.capabilities.ambient[0]: unknown capability "CAP_SYS_ADMN")");
}

TEST(ParseSpecErrors, OciVersionRange) {
    for (const char* ok : {"1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0", "1.3.7+dirty"})
        EXPECT_EQ(error_with("/ociVersion", ok), "ok") << ok;
    for (const char* old : {"2.0.0", "1.4.0", "0.5.0-dev", "1.0.0-rc5"})
        EXPECT_EQ(error_with("/ociVersion", old),
                  fmt::format(R"(parse config.json ociVersion: unsupported version "{}" (supported: 1.0.0 .. 1.3.x))", old));
    EXPECT_EQ(error_with("/ociVersion", "1.0"),
              R"(parse config.json ociVersion: expected a version like "1.0.2", got "1.0")");
}

TEST(ParseSpecErrors, UserNamespaceNeedsMappings) {
    json mapping = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
    EXPECT_EQ(error_of(with_user_namespace(nullptr, nullptr)),
              "parse config.json linux.uidMappings: required (non-empty) when a user namespace is "
              R"(created (type "user" without a path))");
    EXPECT_TRUE(error_of(with_user_namespace(json::array(), mapping))
                    .starts_with("parse config.json linux.uidMappings: required (non-empty)"));
    EXPECT_TRUE(error_of(with_user_namespace(mapping, nullptr))
                    .starts_with("parse config.json linux.gidMappings: required (non-empty)"));
    EXPECT_EQ(error_of(with_user_namespace(mapping, mapping)), "ok");

    json joined = to_json(default_spec());  // joining an existing user namespace needs no mappings
    joined["linux"]["namespaces"].push_back({{"type", "user"}, {"path", "/proc/1/ns/user"}});
    EXPECT_EQ(error_of(joined), "ok");

    json empty_range = mapping;
    empty_range[0]["size"] = 0;
    EXPECT_EQ(error_of(with_user_namespace(empty_range, mapping)),
              "parse config.json linux.uidMappings[0].size: expected integer in 1..4294967295, got 0");
}

TEST(ParseSpecErrors, TimeOffsetClocks) {
    EXPECT_EQ(error_with("/linux/timeOffsets", json{{"monotonic", {{"secs", 1}}}}), "ok");
    EXPECT_EQ(error_with("/linux/timeOffsets", json{{"realtime", {{"secs", 1}}}}),
              R"(parse config.json linux.timeOffsets.realtime: unknown clock "realtime" (valid: monotonic, boottime))");
    EXPECT_EQ(error_with("/linux/timeOffsets/boottime/nanosecs", 1000000000),
              "parse config.json linux.timeOffsets.boottime.nanosecs: expected integer in 0..999999999, got 1000000000");
}

TEST(ParseSpecErrors, IntegerRanges) {
    EXPECT_EQ(error_with("/linux/resources/blockIO/weight", 5),
              "parse config.json linux.resources.blockIO.weight: expected integer in 10..1000, got 5");
    EXPECT_EQ(error_with("/linux/resources/blockIO/weight", 1001),
              "parse config.json linux.resources.blockIO.weight: expected integer in 10..1000, got 1001");
    EXPECT_EQ(error_with("/linux/resources/blockIO/weightDevice", json::array({{{"major", 8}, {"minor", 0}, {"weight", 9}}})),
              "parse config.json linux.resources.blockIO.weightDevice[0].weight: expected integer in 10..1000, got 9");
    EXPECT_EQ(error_with("/process/oomScoreAdj", -1001),
              "parse config.json process.oomScoreAdj: expected integer in -1000..1000, got -1001");
    EXPECT_EQ(error_with("/process/oomScoreAdj", 1000), "ok");
    EXPECT_EQ(error_with("/process/user/uid", -1),
              "parse config.json process.user.uid: expected integer in 0..4294967295, got -1");
    EXPECT_EQ(error_with("/process/user/gid", 4294967296LL),
              "parse config.json process.user.gid: expected integer in 0..4294967295, got 4294967296");
    EXPECT_EQ(error_with("/linux/resources/memory/limit", -2),
              "parse config.json linux.resources.memory.limit: expected integer in -1..9223372036854775807, got -2");
    EXPECT_EQ(error_with("/linux/resources/memory/swappiness", 101),
              "parse config.json linux.resources.memory.swappiness: expected integer in 0..100, got 101");
}

TEST(ParseSpecErrors, DevicesAndSeccomp) {
    EXPECT_EQ(error_with("/linux/resources/devices/0/access", "rwx"),
              R"(parse config.json linux.resources.devices[0].access: expected a combination of r, w, m, got "rwx")");
    EXPECT_EQ(error_with("/linux/devices", json::array({{{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}}})),
              R"(parse config.json linux.devices[0].minor: required for device type "c")");
    EXPECT_EQ(error_with("/linux/devices", json::array({{{"path", "/dev/x"}, {"type", "z"}}})),
              R"(parse config.json linux.devices[0].type: unknown device type "z" (valid: c, b, u, p))");
    EXPECT_TRUE(error_with("/linux/rootfsPropagation", "shared-ish")
                    .starts_with(R"(parse config.json linux.rootfsPropagation: unknown propagation "shared-ish" (valid: )"));
    json seccomp = {{"defaultAction", "SCMP_ACT_ALLOW"},
                    {"syscalls", {{{"names", {"kill"}}, {"action", "SCMP_ACT_ERRNO"},
                                   {"args", {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_SAME"}}}}}}}};
    EXPECT_TRUE(error_with("/linux/seccomp", seccomp)
                    .starts_with(R"(parse config.json linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "SCMP_CMP_SAME")"));
    seccomp["syscalls"][0]["args"][0]["op"] = "SCMP_CMP_EQ";
    EXPECT_EQ(error_with("/linux/seccomp", seccomp), "ok");
    seccomp["defaultAction"] = "SCMP_ACT_MAYBE";
    EXPECT_TRUE(error_with("/linux/seccomp", seccomp)
                    .starts_with(R"(parse config.json linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_MAYBE")"));
}

TEST(ParseSpecErrors, FirstErrorWins) {
    json config = to_json(default_spec());
    config["process"]["cwd"] = 1;
    config["linux"]["namespaces"][0]["type"] = "bogus";
    EXPECT_EQ(error_of(config), "parse config.json process.cwd: expected string, got 1");
}

// ---------------------------------------------------------------------------------------------
// to_json: the inverse of parse_spec.

TEST(ToJson, FullSpecRoundTrips) {
    Spec want = expected_full_spec();
    json written = to_json(want);
    auto back = parse_spec(written);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_TRUE(*back == want);
    EXPECT_EQ(to_json(*back), written);
}

TEST(ToJson, DefaultSpecRoundTrips) {
    json written = to_json(default_spec());
    auto back = parse_spec(written);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_TRUE(*back == default_spec());
    EXPECT_EQ(to_json(*back), written);
}

TEST(ToJson, LeavesUnsetFieldsOut) {
    json j = to_json(default_spec());
    EXPECT_FALSE(j.contains("domainname"));
    EXPECT_FALSE(j.contains("annotations"));
    EXPECT_FALSE(j["process"].contains("oomScoreAdj"));
    EXPECT_FALSE(j["process"]["capabilities"].contains("ambient"));
    EXPECT_FALSE(j["linux"].contains("seccomp"));
    EXPECT_FALSE(j["mounts"][0].contains("options"));
    EXPECT_FALSE(j["linux"]["namespaces"][0].contains("path"));
}

// ---------------------------------------------------------------------------------------------
// default_spec and the name lists.

TEST(DefaultSpec, LooksLikeRuncSpec) {
    Spec s = default_spec();
    EXPECT_EQ(s.oci_version, "1.0.2");
    EXPECT_EQ(s.process.args, std::vector<std::string>{"sh"});
    EXPECT_EQ(s.process.env.size(), 2u);
    EXPECT_EQ(s.process.cwd, "/");
    EXPECT_TRUE(s.process.no_new_privileges);
    ASSERT_EQ(s.process.rlimits.size(), 1u);
    EXPECT_TRUE((s.process.rlimits[0] == Rlimit{"RLIMIT_NOFILE", 1024, 1024}));
    ASSERT_TRUE(s.process.capabilities);
    EXPECT_EQ(s.process.capabilities->bounding.size(), 14u);
    EXPECT_EQ(s.process.capabilities->effective, s.process.capabilities->bounding);
    EXPECT_EQ(s.process.capabilities->permitted, s.process.capabilities->bounding);
    EXPECT_TRUE(s.process.capabilities->ambient.empty());
    EXPECT_EQ(s.hostname, "ctbench");
    EXPECT_FALSE(s.root.readonly);
    EXPECT_EQ(s.root.path, "rootfs");
    for (const char* ns : {"pid", "network", "ipc", "uts", "mount", "cgroup"}) EXPECT_TRUE(s.has_namespace(ns)) << ns;
    EXPECT_FALSE(s.has_namespace("user"));
    ASSERT_EQ(s.mounts.size(), 7u);
    EXPECT_TRUE((s.mounts[2] == Mount{"/dev/pts", "devpts", "devpts",
                                      {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}));
    EXPECT_TRUE((s.mounts[6] == Mount{"/sys/fs/cgroup", "cgroup", "cgroup",
                                      {"nosuid", "noexec", "nodev", "relatime", "ro"}}));
    EXPECT_EQ(s.linux.masked_paths.size(), 10u);
    EXPECT_EQ(s.linux.readonly_paths.size(), 5u);
}

TEST(DefaultSpec, MatchesRuncSpecWhereNotDeliberatelyDifferent) {
    auto runc = parse_spec(json::parse(kRuncSpec));
    ASSERT_TRUE(runc);
    Spec ours = default_spec();
    EXPECT_TRUE(ours.mounts == runc->mounts);
    EXPECT_EQ(ours.linux.masked_paths, runc->linux.masked_paths);
    EXPECT_EQ(ours.linux.readonly_paths, runc->linux.readonly_paths);
    EXPECT_TRUE(ours.linux.resources == runc->linux.resources);
    EXPECT_TRUE(ours.process.rlimits == runc->process.rlimits);
    EXPECT_EQ(ours.process.env, runc->process.env);
}

TEST(Names, Lists) {
    auto caps = all_capability_names();
    ASSERT_EQ(caps.size(), 41u);
    EXPECT_EQ(caps.front(), "CAP_CHOWN");                // capability 0
    EXPECT_EQ(caps[21], "CAP_SYS_ADMIN");                // capability 21
    EXPECT_EQ(caps.back(), "CAP_CHECKPOINT_RESTORE");    // capability 40
    EXPECT_EQ(all_namespace_types(),
              (std::vector<std::string>{"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"}));
    EXPECT_EQ(all_rlimit_names().size(), 16u);
}

// ---------------------------------------------------------------------------------------------
// load_spec: reads <bundle>/config.json.

class LoadSpec : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/ctb-spec-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

TEST_F(LoadSpec, ReadsBundleConfig) {
    ASSERT_TRUE(write_file(dir_ + "/config.json", to_json(default_spec()).dump(2)));
    auto spec = load_spec(dir_);
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_TRUE(*spec == default_spec());
}

TEST_F(LoadSpec, SyntaxErrorGivesLineAndColumn) {
    ASSERT_TRUE(write_file(dir_ + "/config.json", "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,\n}\n"));
    auto spec = load_spec(dir_);
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().step, "parse config.json");
    EXPECT_EQ(spec.error().object, dir_ + "/config.json");
    EXPECT_NE(spec.error().detail.find("line 3, column 15"), std::string::npos) << spec.error().message();
    EXPECT_FALSE(spec.error().detail.starts_with("[json.exception")) << spec.error().detail;
}

TEST_F(LoadSpec, MissingConfigNamesTheFile) {
    auto spec = load_spec(dir_);
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().object, dir_ + "/config.json");
    EXPECT_EQ(spec.error().err, ENOENT);
}

TEST_F(LoadSpec, ValueErrorNamesTheField) {
    json config = to_json(default_spec());
    config["linux"]["resources"]["memory"] = {{"limit", "abc"}};
    ASSERT_TRUE(write_file(dir_ + "/config.json", config.dump()));
    auto spec = load_spec(dir_);
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().message(), R"(parse config.json linux.resources.memory.limit: expected integer, got "abc")");
}

TEST_F(LoadSpec, SpecFileUnderAnotherName) {
    ASSERT_TRUE(write_file(dir_ + "/saved.json", to_json(default_spec()).dump()));
    auto spec = load_spec_file(dir_ + "/saved.json");
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_TRUE(*spec == default_spec());
}

// ---------------------------------------------------------------------------------------------
// A lone process object (`exec --process process.json`).

TEST(ParseProcess, ReadsAProcessObject) {
    json process = to_json(default_spec())["process"];
    process["args"] = {"ls", "-l"};
    auto p = parse_process(process);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->args, (std::vector<std::string>{"ls", "-l"}));
    EXPECT_EQ(p->capabilities, default_spec().process.capabilities);
}

TEST(ParseProcess, ErrorsNameProcessJson) {
    json process = to_json(default_spec())["process"];
    process["args"] = json::array();
    EXPECT_EQ(parse_process(process).error().message(), "parse process.json args: must not be empty");
    process["args"] = {"sh"};
    process["capabilities"]["bounding"][0] = "CAP_FOO";
    EXPECT_EQ(parse_process(process).error().message(),
              R"(parse process.json capabilities.bounding[0]: unknown capability "CAP_FOO")");
}

TEST_F(LoadSpec, LoadProcess) {
    json process = to_json(default_spec())["process"];
    ASSERT_TRUE(write_file(dir_ + "/process.json", process.dump()));
    auto p = load_process(dir_ + "/process.json");
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_TRUE(*p == default_spec().process);

    ASSERT_TRUE(write_file(dir_ + "/process.json", "{\"args\": [\"sh\"]"));
    auto bad = load_process(dir_ + "/process.json");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().step, "parse process.json");
    EXPECT_NE(bad.error().detail.find("line 1, column"), std::string::npos) << bad.error().message();
}
