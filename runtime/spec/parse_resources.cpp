// config.json "linux.resources" -> spec::Resources. Ranges are the ones the cgroup files accept, so
// a bad value fails here with its JSON path rather than later as a bare EINVAL from a cgroup write.
#include <limits>

#include "runtime/spec/decode.hpp"
#include "runtime/spec/names.hpp"

namespace ctb::spec::detail {

namespace {

constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

// Device cgroup access letters: read, write, mknod (cgroups-v1/devices.rst).
void check_access(const Reader& r, const std::string& access) {
    if (r.failed() || !r.has("access")) return;
    if (!access.empty() && access.find_first_not_of("rwm") == std::string::npos) return;
    r.fail_at("access", fmt::format("expected a combination of r, w, m, got {}", json(access).dump()));
}

}  // namespace

void decode(const Reader& r, Resources& out) {
    if (!r.expect_object()) return;
    r.get("memory", out.memory);
    r.get("cpu", out.cpu);
    r.get("pids", out.pids);
    r.get("blockIO", out.block_io);
    r.get("hugepageLimits", out.hugepage_limits);
    r.get("devices", out.devices);
    r.get("unified", out.unified);
}

void decode(const Reader& r, DeviceRule& out) {
    if (!r.expect_object()) return;
    r.require("allow", out.allow);
    r.get_enum("type", out.type, kDeviceRuleTypes, "device rule type");
    r.get("major", out.major);
    r.get("minor", out.minor);
    r.get("access", out.access);
    check_access(r, out.access);
}

void decode(const Reader& r, MemoryResources& out) {
    if (!r.expect_object()) return;
    // Byte counts; -1 is the spec's "unlimited".
    r.get_in("limit", out.limit, -1, kI64Max);
    r.get_in("reservation", out.reservation, -1, kI64Max);
    r.get_in("swap", out.swap, -1, kI64Max);
    r.get_in("kernel", out.kernel, -1, kI64Max);
    r.get_in("swappiness", out.swappiness, 0, 100);  // memory.swappiness accepts 0..100
    r.get("disableOOMKiller", out.disable_oom_killer);
}

void decode(const Reader& r, CpuResources& out) {
    if (!r.expect_object()) return;
    r.get("shares", out.shares);
    r.get_in("quota", out.quota, -1, kI64Max);  // -1 = no quota
    r.get("period", out.period);
    r.get("realtimeRuntime", out.realtime_runtime);
    r.get("realtimePeriod", out.realtime_period);
    r.get("cpus", out.cpus);
    r.get("mems", out.mems);
    r.get_in("idle", out.idle, 0, 1);  // cgroup v2 cpu.idle is a boolean
}

void decode(const Reader& r, PidsResources& out) {
    if (!r.expect_object()) return;
    r.get("limit", out.limit);  // REQUIRED before spec 1.3, optional since; absent reads as 0
}

void decode(const Reader& r, BlockIoResources& out) {
    if (!r.expect_object()) return;
    r.get_in("weight", out.weight, 10, 1000);  // blkio.weight / io.bfq.weight range
    r.get_in("leafWeight", out.leaf_weight, 10, 1000);
    r.get("weightDevice", out.weight_device);
    r.get("throttleReadBpsDevice", out.throttle_read_bps_device);
    r.get("throttleWriteBpsDevice", out.throttle_write_bps_device);
    r.get("throttleReadIOPSDevice", out.throttle_read_iops_device);
    r.get("throttleWriteIOPSDevice", out.throttle_write_iops_device);
}

void decode(const Reader& r, WeightDevice& out) {
    if (!r.expect_object()) return;
    r.require("major", out.major);
    r.require("minor", out.minor);
    r.get_in("weight", out.weight, 10, 1000);
    r.get_in("leafWeight", out.leaf_weight, 10, 1000);
}

void decode(const Reader& r, ThrottleDevice& out) {
    if (!r.expect_object()) return;
    r.require("major", out.major);
    r.require("minor", out.minor);
    r.require("rate", out.rate);
}

void decode(const Reader& r, HugepageLimit& out) {
    if (!r.expect_object()) return;
    r.require("pageSize", out.page_size);
    r.require("limit", out.limit);
}

}  // namespace ctb::spec::detail
