// Spec -> config.json, the inverse of parse_spec. Unset optionals and empty lists or strings are left
// out (the spec's "not set"), so the output is what a hand-written config would say and runc and crun
// read it the same way we do.
#include "runtime/spec/parse.hpp"

namespace ctb::spec {

namespace {

using nlohmann::json;

// Declared up front: the list helpers below call them for their element types.
json encode(const Process& p);
json encode(const User& u);
json encode(const ConsoleSize& c);
json encode(const Capabilities& c);
json encode(const Rlimit& r);
json encode(const Hook& h);
json encode(const Hooks& h);
json encode(const Root& r);
json encode(const Mount& m);
json encode(const Linux& l);
json encode(const Namespace& n);
json encode(const IdMapping& m);
json encode(const TimeOffset& t);
json encode(const Device& d);
json encode(const DeviceRule& d);
json encode(const Resources& r);
json encode(const MemoryResources& m);
json encode(const CpuResources& c);
json encode(const PidsResources& p);
json encode(const BlockIoResources& b);
json encode(const WeightDevice& w);
json encode(const ThrottleDevice& t);
json encode(const HugepageLimit& h);
json encode(const Seccomp& s);
json encode(const SeccompSyscall& s);
json encode(const SeccompArg& a);

json encode(const std::string& s) { return s; }
template <class T>
    requires std::is_arithmetic_v<T>
json encode(T v) {
    return v;
}

template <class T>
json encode(const std::vector<T>& items) {
    json out = json::array();
    for (const auto& item : items) out.push_back(encode(item));
    return out;
}

template <class T>
json encode(const std::map<std::string, T>& items) {
    json out = json::object();
    for (const auto& [key, item] : items) out[key] = encode(item);
    return out;
}

// put(): write the field only when it is set.
void put(json& j, const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
}
template <class T>
void put(json& j, const char* key, const std::optional<T>& v) {
    if (v) j[key] = encode(*v);
}
template <class T>
void put(json& j, const char* key, const std::vector<T>& v) {
    if (!v.empty()) j[key] = encode(v);
}
template <class T>
void put(json& j, const char* key, const std::map<std::string, T>& v) {
    if (!v.empty()) j[key] = encode(v);
}

json encode(const Process& p) {
    json j = {{"terminal", p.terminal}, {"user", encode(p.user)}, {"args", encode(p.args)},
              {"cwd", p.cwd}, {"noNewPrivileges", p.no_new_privileges}};
    put(j, "env", p.env);
    put(j, "consoleSize", p.console_size);
    put(j, "capabilities", p.capabilities);
    put(j, "rlimits", p.rlimits);
    put(j, "oomScoreAdj", p.oom_score_adj);
    put(j, "apparmorProfile", p.apparmor_profile);
    put(j, "selinuxLabel", p.selinux_label);
    return j;
}

json encode(const ConsoleSize& c) { return {{"height", c.height}, {"width", c.width}}; }

json encode(const User& u) {
    json j = {{"uid", u.uid}, {"gid", u.gid}};
    put(j, "umask", u.umask);
    put(j, "additionalGids", u.additional_gids);
    return j;
}

json encode(const Capabilities& c) {
    json j = json::object();
    put(j, "bounding", c.bounding);
    put(j, "effective", c.effective);
    put(j, "inheritable", c.inheritable);
    put(j, "permitted", c.permitted);
    put(j, "ambient", c.ambient);
    return j;
}

json encode(const Hook& h) {
    json j = {{"path", h.path}};
    put(j, "args", h.args);
    put(j, "env", h.env);
    put(j, "timeout", h.timeout);
    return j;
}

json encode(const Hooks& h) {
    json j = json::object();
    put(j, "prestart", h.prestart);
    put(j, "createRuntime", h.create_runtime);
    put(j, "createContainer", h.create_container);
    put(j, "startContainer", h.start_container);
    put(j, "poststart", h.poststart);
    put(j, "poststop", h.poststop);
    return j;
}

json encode(const Rlimit& r) { return {{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}}; }

json encode(const Root& r) { return {{"path", r.path}, {"readonly", r.readonly}}; }

json encode(const Mount& m) {
    json j = {{"destination", m.destination}};
    put(j, "type", m.type);
    put(j, "source", m.source);
    put(j, "options", m.options);
    put(j, "uidMappings", m.uid_mappings);
    put(j, "gidMappings", m.gid_mappings);
    return j;
}

json encode(const Linux& l) {
    json j = json::object();
    put(j, "namespaces", l.namespaces);
    put(j, "uidMappings", l.uid_mappings);
    put(j, "gidMappings", l.gid_mappings);
    put(j, "timeOffsets", l.time_offsets);
    put(j, "devices", l.devices);
    put(j, "cgroupsPath", l.cgroups_path);
    put(j, "resources", l.resources);
    put(j, "rootfsPropagation", l.rootfs_propagation);
    put(j, "maskedPaths", l.masked_paths);
    put(j, "readonlyPaths", l.readonly_paths);
    put(j, "seccomp", l.seccomp);
    put(j, "sysctl", l.sysctl);
    put(j, "mountLabel", l.mount_label);
    return j;
}

json encode(const Namespace& n) {
    json j = {{"type", n.type}};
    put(j, "path", n.path);
    return j;
}

json encode(const IdMapping& m) {
    return {{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}};
}

json encode(const TimeOffset& t) { return {{"secs", t.secs}, {"nanosecs", t.nanosecs}}; }

json encode(const Device& d) {
    json j = {{"path", d.path}, {"type", d.type}, {"major", d.major}, {"minor", d.minor}};
    put(j, "fileMode", d.file_mode);
    put(j, "uid", d.uid);
    put(j, "gid", d.gid);
    return j;
}

json encode(const DeviceRule& d) {
    json j = {{"allow", d.allow}, {"type", d.type}, {"access", d.access}};
    put(j, "major", d.major);
    put(j, "minor", d.minor);
    return j;
}

json encode(const Resources& r) {
    json j = json::object();
    put(j, "memory", r.memory);
    put(j, "cpu", r.cpu);
    put(j, "pids", r.pids);
    put(j, "blockIO", r.block_io);
    put(j, "hugepageLimits", r.hugepage_limits);
    put(j, "devices", r.devices);
    put(j, "unified", r.unified);
    return j;
}

json encode(const MemoryResources& m) {
    json j = json::object();
    put(j, "limit", m.limit);
    put(j, "reservation", m.reservation);
    put(j, "swap", m.swap);
    put(j, "kernel", m.kernel);
    put(j, "swappiness", m.swappiness);
    put(j, "disableOOMKiller", m.disable_oom_killer);
    return j;
}

json encode(const CpuResources& c) {
    json j = json::object();
    put(j, "shares", c.shares);
    put(j, "quota", c.quota);
    put(j, "period", c.period);
    put(j, "realtimeRuntime", c.realtime_runtime);
    put(j, "realtimePeriod", c.realtime_period);
    put(j, "cpus", c.cpus);
    put(j, "mems", c.mems);
    put(j, "idle", c.idle);
    return j;
}

json encode(const PidsResources& p) { return {{"limit", p.limit}}; }

json encode(const BlockIoResources& b) {
    json j = json::object();
    put(j, "weight", b.weight);
    put(j, "leafWeight", b.leaf_weight);
    put(j, "weightDevice", b.weight_device);
    put(j, "throttleReadBpsDevice", b.throttle_read_bps_device);
    put(j, "throttleWriteBpsDevice", b.throttle_write_bps_device);
    put(j, "throttleReadIOPSDevice", b.throttle_read_iops_device);
    put(j, "throttleWriteIOPSDevice", b.throttle_write_iops_device);
    return j;
}

json encode(const WeightDevice& w) {
    json j = {{"major", w.major}, {"minor", w.minor}};
    put(j, "weight", w.weight);
    put(j, "leafWeight", w.leaf_weight);
    return j;
}

json encode(const ThrottleDevice& t) { return {{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}}; }

json encode(const HugepageLimit& h) { return {{"pageSize", h.page_size}, {"limit", h.limit}}; }

json encode(const Seccomp& s) {
    json j = {{"defaultAction", s.default_action}};
    put(j, "defaultErrnoRet", s.default_errno_ret);
    put(j, "architectures", s.architectures);
    put(j, "flags", s.flags);
    put(j, "syscalls", s.syscalls);
    put(j, "listenerPath", s.listener_path);
    put(j, "listenerMetadata", s.listener_metadata);
    return j;
}

json encode(const SeccompSyscall& s) {
    json j = {{"names", encode(s.names)}, {"action", s.action}};
    put(j, "errnoRet", s.errno_ret);
    put(j, "args", s.args);
    return j;
}

json encode(const SeccompArg& a) {
    json j = {{"index", a.index}, {"value", a.value}, {"op", a.op}};
    if (a.value_two != 0) j["valueTwo"] = a.value_two;
    return j;
}

}  // namespace

nlohmann::json to_json(const Spec& spec) {
    json j = {{"ociVersion", spec.oci_version},
              {"process", encode(spec.process)},
              {"root", encode(spec.root)},
              {"linux", encode(spec.linux)}};
    put(j, "hostname", spec.hostname);
    put(j, "domainname", spec.domainname);
    put(j, "mounts", spec.mounts);
    if (!spec.hooks.empty()) j["hooks"] = encode(spec.hooks);
    put(j, "annotations", spec.annotations);
    return j;
}

}  // namespace ctb::spec
