// linux.resources on cgroup v2: one directory, controllers gated by what the parent delegated.
#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "common/fd.hpp"
#include "runtime/cgroups/cgfs.hpp"
#include "runtime/cgroups/convert.hpp"
#include "runtime/cgroups/device_bpf.hpp"
#include "runtime/cgroups/resources.hpp"

namespace ctb::cgroup {
namespace {

const std::string kField = "linux.resources.";

// What the parent enabled for this cgroup (cgroup.controllers of the cgroup itself).
class Target {
public:
    explicit Target(std::string dir) : dir_(std::move(dir)) {
        std::istringstream in(fs::read(dir_ + "/cgroup.controllers").value_or(""));
        for (std::string c; in >> c;) controllers_.push_back(c);
    }
    const std::string& dir() const { return dir_; }
    bool has(const std::string& controller) const {
        return std::find(controllers_.begin(), controllers_.end(), controller) != controllers_.end();
    }
    Status need(const std::string& controller, const std::string& field) const {
        if (has(controller)) return {};
        return fail(missing_controller(kField + field, controller,
                                       fmt::format("not delegated: absent from {}/cgroup.controllers", dir_)));
    }
    Status put(const std::string& field, const std::string& file, const std::string& value) const {
        return fs::write_field(kField + field, dir_ + "/" + file, value);
    }

private:
    std::string dir_;
    std::vector<std::string> controllers_;
};

Status memory(const Target& t, const spec::MemoryResources& m) {
    if (auto ok = t.need("memory", "memory"); !ok) return ok;
    if (m.limit)
        if (auto ok = t.put("memory.limit", "memory.max", v2_bytes(*m.limit)); !ok) return ok;
    if (m.reservation)
        if (auto ok = t.put("memory.reservation", "memory.low", v2_bytes(*m.reservation)); !ok) return ok;
    // memory.swap.max is absent without swap accounting; like v1's memsw, skipped then.
    if (m.swap && fs::exists(t.dir() + "/memory.swap.max")) {
        auto swap = v2_swap_max(m.limit, *m.swap);
        if (!swap) return fail(plain_error("apply " + kField + "memory.swap", t.dir() + "/memory.swap.max", swap.error()));
        if (auto ok = t.put("memory.swap", "memory.swap.max", *swap); !ok) return ok;
    }
    // A container told its OOM killer is off would be surprised by a kill: refuse instead.
    if (m.disable_oom_killer && *m.disable_oom_killer)
        return fail(plain_error("apply " + kField + "memory.disableOOMKiller", t.dir(),
                                "cgroup v2 cannot disable the OOM killer"));
    // swappiness has no per-cgroup file on v2 (runc and crun ignore it too); kernel is deprecated.
    return {};
}

Status cpu(const Target& t, const spec::CpuResources& c) {
    bool bandwidth = c.shares || c.quota || c.period || c.idle;
    if (bandwidth)
        if (auto ok = t.need("cpu", "cpu"); !ok) return ok;
    if ((c.realtime_runtime && *c.realtime_runtime != 0) || (c.realtime_period && *c.realtime_period != 0))
        return fail(plain_error("apply " + kField + "cpu.realtimeRuntime", t.dir(),
                                "cgroup v2 has no real-time group scheduling (cpu.rt_* is v1 only)"));
    if (c.shares)
        if (auto ok = t.put("cpu.shares", "cpu.weight", std::to_string(cpu_weight_from_shares(*c.shares))); !ok)
            return ok;
    if (auto max = cpu_max(c.quota, c.period))
        if (auto ok = t.put(c.quota ? "cpu.quota" : "cpu.period", "cpu.max", *max); !ok) return ok;
    if (c.idle)
        if (auto ok = t.put("cpu.idle", "cpu.idle", std::to_string(*c.idle)); !ok) return ok;
    if (!c.cpus.empty() || !c.mems.empty())
        if (auto ok = t.need("cpuset", "cpu.cpus"); !ok) return ok;
    if (!c.cpus.empty())
        if (auto ok = t.put("cpu.cpus", "cpuset.cpus", c.cpus); !ok) return ok;
    if (!c.mems.empty()) return t.put("cpu.mems", "cpuset.mems", c.mems);
    return {};
}

Status io(const Target& t, const spec::BlockIoResources& b) {
    if (auto ok = t.need("io", "blockIO"); !ok) return ok;
    // BFQ's io.bfq.weight takes the blkio range as is; io.weight needs the [1, 10000] mapping.
    bool bfq = fs::exists(t.dir() + "/io.bfq.weight");
    auto weight = [&](std::uint64_t w) { return bfq ? w : io_weight_from_blkio(w); };
    std::string weight_file = bfq ? "io.bfq.weight" : "io.weight";
    if (b.weight)
        if (auto ok = t.put("blockIO.weight", weight_file, std::to_string(weight(*b.weight))); !ok) return ok;
    for (const auto& d : b.weight_device)
        if (d.weight)
            if (auto ok = t.put("blockIO.weightDevice", weight_file,
                                fmt::format("{} {}", device_number(d.major, d.minor), weight(*d.weight)));
                !ok)
                return ok;
    // leafWeight has no v2 counterpart (no internal processes in v2): ignored, as runc does.
    for (const auto& line : io_max_lines(b))
        if (auto ok = t.put("blockIO.throttle", "io.max", line); !ok) return ok;
    return {};
}

Status hugetlb(const Target& t, const std::vector<spec::HugepageLimit>& limits) {
    if (auto ok = t.need("hugetlb", "hugepageLimits"); !ok) return ok;
    for (std::size_t i = 0; i < limits.size(); ++i) {
        std::string field = fmt::format("hugepageLimits[{}]", i);
        auto file = hugetlb_file(limits[i].page_size, 2);
        if (!file) return fail(plain_error("apply " + kField + field, t.dir(), file.error()));
        if (auto ok = t.put(field, *file, std::to_string(limits[i].limit)); !ok) return ok;
    }
    return {};
}

Status devices(const Target& t, const std::vector<spec::DeviceRule>& rules) {
    auto program = device_program(rules);
    if (!program) return fail(plain_error("apply " + kField + "devices", t.dir(), program.error()));
    // bpf(2) wants a real directory fd (an O_PATH fd is refused).
    UniqueFd dir(at::open(t.dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return fail(sys_error("apply " + kField + "devices: open", t.dir()));
    return attach_device_program(dir.get(), *program, t.dir());
}

Status unified(const Target& t, const std::map<std::string, std::string>& files) {
    for (const auto& [key, value] : files) {
        std::string field = "unified." + key;
        if (key.empty() || key.find('/') != std::string::npos || key.starts_with("."))
            return fail(plain_error("apply " + kField + field, t.dir(), "not a cgroup file name"));
        std::string controller = key.substr(0, key.find('.'));
        if (!fs::exists(t.dir() + "/" + key) && controller != "cgroup" && !t.has(controller))
            if (auto ok = t.need(controller, field); !ok) return ok;
        if (auto ok = t.put(field, key, value); !ok) return ok;
    }
    return {};
}

}  // namespace

Status apply_v2(const std::string& dir, const spec::Resources& r) {
    Target t(dir);
    if (r.memory)
        if (auto ok = memory(t, *r.memory); !ok) return ok;
    if (r.cpu)
        if (auto ok = cpu(t, *r.cpu); !ok) return ok;
    if (r.pids) {
        if (auto ok = t.need("pids", "pids"); !ok) return ok;
        if (auto ok = t.put("pids.limit", "pids.max", pids_max(r.pids->limit)); !ok) return ok;
    }
    if (r.block_io)
        if (auto ok = io(t, *r.block_io); !ok) return ok;
    if (!r.hugepage_limits.empty())
        if (auto ok = hugetlb(t, r.hugepage_limits); !ok) return ok;
    if (!r.devices.empty())
        if (auto ok = devices(t, r.devices); !ok) return ok;
    // Last, so that raw values override what the typed fields above wrote (as runc does).
    return unified(t, r.unified);
}

}  // namespace ctb::cgroup
