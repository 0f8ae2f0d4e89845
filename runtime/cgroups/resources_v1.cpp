// linux.resources on cgroup v1: one file per knob, in the controller's own hierarchy.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>

#include "common/fd.hpp"
#include "runtime/cgroups/cgfs.hpp"
#include "runtime/cgroups/convert.hpp"
#include "runtime/cgroups/resources.hpp"

namespace ctb::cgroup {
namespace {

const std::string kField = "linux.resources.";

Result<std::string> dir_for(const std::map<std::string, std::string>& dir_of, const std::string& controller,
                            const std::string& field) {
    auto it = dir_of.find(controller);
    if (it == dir_of.end()) return fail(missing_controller(field, controller, "not mounted as a cgroup v1 hierarchy"));
    return it->second;
}

Status put(const std::string& field, const std::string& dir, const std::string& file, const std::string& value) {
    return fs::write_field(kField + field, dir + "/" + file, value);
}

// memory.limit_in_bytes and memory.memsw.limit_in_bytes, in the order the kernel accepts.
Status memory_and_swap(const std::string& dir, const spec::MemoryResources& m) {
    std::optional<std::int64_t> limit = m.limit, swap = m.swap;
    // Unlimited memory with no word on swap: lift memsw too, or the kernel refuses the memory
    // write (memory may never exceed memsw).
    if (limit && *limit < 0 && !swap) swap = -1;
    bool memsw = swap && fs::exists(dir + "/memory.memsw.limit_in_bytes");  // absent without swap accounting
    if (!memsw) return limit ? put("memory.limit", dir, "memory.limit_in_bytes", std::to_string(*limit)) : Status{};
    std::int64_t current = 0;
    if (auto text = fs::read(dir + "/memory.limit_in_bytes")) std::from_chars(text->data(), text->data() + text->size(), current);
    auto write_swap = [&] { return put("memory.swap", dir, "memory.memsw.limit_in_bytes", std::to_string(*swap)); };
    auto write_limit = [&] {
        return limit ? put("memory.limit", dir, "memory.limit_in_bytes", std::to_string(*limit)) : Status{};
    };
    if (memsw_before_limit(current, *swap)) {
        if (auto ok = write_swap(); !ok) return ok;
        return write_limit();
    }
    if (auto ok = write_limit(); !ok) return ok;
    return write_swap();
}

Status memory(const std::string& dir, const spec::MemoryResources& m) {
    if (auto ok = memory_and_swap(dir, m); !ok) return ok;
    if (m.reservation)
        if (auto ok = put("memory.reservation", dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation)); !ok)
            return ok;
    if (m.swappiness)
        if (auto ok = put("memory.swappiness", dir, "memory.swappiness", std::to_string(*m.swappiness)); !ok) return ok;
    if (m.disable_oom_killer)
        if (auto ok = put("memory.disableOOMKiller", dir, "memory.oom_control", *m.disable_oom_killer ? "1" : "0"); !ok)
            return ok;
    // memory.kernel (kmem) is deprecated by OCI and a no-op since Linux 5.16+: ignored.
    return {};
}

// Two files whose valid values depend on each other (quota vs period, rt runtime vs period):
// write `first` then `second`; if the kernel refuses `first` with EINVAL because of the current
// value of `second`, do it the other way round.
Status pair(const std::function<Status()>& first, const std::function<Status()>& second) {
    auto ok = first();
    if (ok) return second();
    if (ok.error().err != EINVAL) return ok;
    if (auto other = second(); !other) return other;
    return first();
}

Status cpu(const std::string& dir, const spec::CpuResources& c) {
    auto opt = [&](const std::string& field, const std::string& file, const auto& value) -> Status {
        return value ? put("cpu." + field, dir, file, std::to_string(*value)) : Status{};
    };
    if (auto ok = opt("shares", "cpu.shares", c.shares); !ok) return ok;
    auto period = [&] { return opt("period", "cpu.cfs_period_us", c.period); };
    auto quota = [&] { return opt("quota", "cpu.cfs_quota_us", c.quota); };
    if (auto ok = pair(period, quota); !ok) return ok;
    auto rt_period = [&] { return opt("realtimePeriod", "cpu.rt_period_us", c.realtime_period); };
    auto rt_runtime = [&] { return opt("realtimeRuntime", "cpu.rt_runtime_us", c.realtime_runtime); };
    if (auto ok = pair(rt_period, rt_runtime); !ok) return ok;
    return opt("idle", "cpu.idle", c.idle);
}

Status cpuset(const std::string& dir, const spec::CpuResources& c) {
    if (!c.cpus.empty())
        if (auto ok = put("cpu.cpus", dir, "cpuset.cpus", c.cpus); !ok) return ok;
    if (!c.mems.empty()) return put("cpu.mems", dir, "cpuset.mems", c.mems);
    return {};
}

// CFQ's blkio.weight* files are gone on current kernels; BFQ offers blkio.bfq.weight* with the
// same range. Use whichever this kernel has.
std::string weight_file(const std::string& dir, const std::string& name) {
    return fs::exists(dir + "/blkio." + name) ? "blkio." + name : "blkio.bfq." + name;
}

Status blkio(const std::string& dir, const spec::BlockIoResources& b) {
    if (b.weight)
        if (auto ok = put("blockIO.weight", dir, weight_file(dir, "weight"), std::to_string(*b.weight)); !ok) return ok;
    if (b.leaf_weight)
        if (auto ok = put("blockIO.leafWeight", dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight)); !ok) return ok;
    for (const auto& d : b.weight_device) {
        std::string dev = device_number(d.major, d.minor);
        if (d.weight)
            if (auto ok = put("blockIO.weightDevice", dir, weight_file(dir, "weight_device"),
                              fmt::format("{} {}", dev, *d.weight));
                !ok)
                return ok;
        if (d.leaf_weight)
            if (auto ok = put("blockIO.weightDevice", dir, "blkio.leaf_weight_device", fmt::format("{} {}", dev, *d.leaf_weight));
                !ok)
                return ok;
    }
    struct Throttle {
        const std::vector<spec::ThrottleDevice>& devices;
        const char* field;
        const char* file;
    };
    const Throttle throttles[] = {
        {b.throttle_read_bps_device, "throttleReadBpsDevice", "blkio.throttle.read_bps_device"},
        {b.throttle_write_bps_device, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device"},
        {b.throttle_read_iops_device, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device"},
        {b.throttle_write_iops_device, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"},
    };
    for (const auto& t : throttles)
        for (const auto& d : t.devices)
            if (auto ok = put(std::string("blockIO.") + t.field, dir, t.file,
                              fmt::format("{} {}", device_number(d.major, d.minor), d.rate));
                !ok)
                return ok;
    return {};
}

Status hugetlb(const std::string& dir, const std::vector<spec::HugepageLimit>& limits) {
    for (std::size_t i = 0; i < limits.size(); ++i) {
        std::string field = fmt::format("hugepageLimits[{}]", i);
        auto file = hugetlb_file(limits[i].page_size, 1);
        if (!file) return fail(plain_error("apply " + kField + field, dir, file.error()));
        if (auto ok = put(field, dir, *file, std::to_string(limits[i].limit)); !ok) return ok;
    }
    return {};
}

// As runc does: start from "deny everything", then replay the rules in order. Only the leaf is
// written, so the deny-all can never widen or narrow anything outside this container.
// The kernel takes each write() as one rule, so one descriptor per file serves them all (a
// container gets a dozen default rules, and a kernfs open costs more than the write).
Status devices(const std::string& dir, const std::vector<spec::DeviceRule>& rules) {
    UniqueFd deny, allow;
    constexpr std::size_t kDenyAll = SIZE_MAX;  // the deny-all line, which is no rule of the spec
    // The field is named only when a write fails: the dozen successful writes of every create
    // format nothing.
    auto write_rule = [&](bool is_allow, std::size_t index, const std::string& line) -> Status {
        UniqueFd& fd = is_allow ? allow : deny;
        const char* file = is_allow ? "/devices.allow" : "/devices.deny";
        if (!fd) fd.reset(at::open(dir + file, O_WRONLY | O_CLOEXEC));
        if (fd && ::write(fd.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size())) return {};
        int err = errno;  // before anything below can change it
        std::string field = index == kDenyAll ? "devices" : fmt::format("devices[{}]", index);
        Error e = sys_error("apply " + kField + field, dir + file, err);
        e.detail = fmt::format("writing \"{}\"", line);
        return fail(std::move(e));
    };
    // A spec that opens with its own deny-all (the default one does) needs no second: the
    // kernel takes any "a" deny line as "deny all, forget every exception".
    bool denies_all_first = !rules.empty() && !rules[0].allow && (rules[0].type.empty() || rules[0].type == "a");
    if (!denies_all_first)
        if (auto ok = write_rule(false, kDenyAll, "a"); !ok) return ok;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        auto line = v1_device_line(rules[i]);
        if (!line) return fail(plain_error(fmt::format("apply {}devices[{}]", kField, i), dir, line.error()));
        if (auto ok = write_rule(rules[i].allow, i, *line); !ok) return ok;
    }
    return {};
}

}  // namespace

// missing_controller_of() in manager.cpp recognises this wording: keep the two together.
Error missing_controller(const std::string& field, const std::string& controller, const std::string& why) {
    return plain_error("apply " + field, "", fmt::format("{}{}{} ({})", kMissingPrefix, controller, kMissingSuffix, why));
}

Status apply_v1(const std::map<std::string, std::string>& dir_of, const spec::Resources& r) {
    if (!r.unified.empty())
        return fail(missing_controller(kField + "unified", "cgroup2", "the unified map needs cgroup v2"));
    // Each step: the section present? find its controller's directory, write its files.
    auto section = [&](bool present, const std::string& controller, const std::string& field,
                       const std::function<Status(const std::string&)>& body) -> Status {
        if (!present) return {};
        auto dir = dir_for(dir_of, controller, kField + field);
        if (!dir) return fail(dir.error());
        return body(*dir);
    };
    bool has_cpu = r.cpu && (r.cpu->shares || r.cpu->quota || r.cpu->period || r.cpu->realtime_runtime ||
                             r.cpu->realtime_period || r.cpu->idle);
    bool has_cpuset = r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty());
    const std::function<Status()> steps[] = {
        [&] { return section(r.memory.has_value(), "memory", "memory", [&](auto& d) { return memory(d, *r.memory); }); },
        [&] { return section(has_cpu, "cpu", "cpu", [&](auto& d) { return cpu(d, *r.cpu); }); },
        [&] { return section(has_cpuset, "cpuset", "cpu", [&](auto& d) { return cpuset(d, *r.cpu); }); },
        [&] {
            return section(r.pids.has_value(), "pids", "pids",
                           [&](auto& d) { return put("pids.limit", d, "pids.max", pids_max(r.pids->limit)); });
        },
        [&] { return section(r.block_io.has_value(), "blkio", "blockIO", [&](auto& d) { return blkio(d, *r.block_io); }); },
        [&] {
            return section(!r.hugepage_limits.empty(), "hugetlb", "hugepageLimits",
                           [&](auto& d) { return hugetlb(d, r.hugepage_limits); });
        },
        [&] { return section(!r.devices.empty(), "devices", "devices", [&](auto& d) { return devices(d, r.devices); }); },
    };
    for (const auto& step : steps)
        if (auto ok = step(); !ok) return ok;
    return {};
}

}  // namespace ctb::cgroup
