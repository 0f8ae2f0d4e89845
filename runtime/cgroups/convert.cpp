#include "runtime/cgroups/convert.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

namespace ctb::cgroup {

std::uint64_t cpu_weight_from_shares(std::uint64_t shares) {
    // The kernel clamps cpu.shares to [2, 262144]; clamp first so the mapping stays in [1, 10000].
    shares = std::clamp<std::uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
}

std::optional<std::string> cpu_max(std::optional<std::int64_t> quota, std::optional<std::uint64_t> period) {
    if (!quota && !period) return std::nullopt;
    std::uint64_t p = period && *period > 0 ? *period : 100000;
    if (!quota || *quota <= 0) return fmt::format("max {}", p);
    return fmt::format("{} {}", *quota, p);
}

std::string v2_bytes(std::int64_t value) { return value < 0 ? "max" : std::to_string(value); }

Converted<std::string> v2_swap_max(std::optional<std::int64_t> limit, std::int64_t swap) {
    if (swap < 0) return "max";
    if (!limit || *limit < 0)
        return std::unexpected(fmt::format("a swap limit ({}) needs a finite memory limit on cgroup v2", swap));
    if (swap < *limit)
        return std::unexpected(fmt::format("memory+swap ({}) must be >= the memory limit ({})", swap, *limit));
    return std::to_string(swap - *limit);
}

bool memsw_before_limit(std::int64_t current_limit, std::int64_t new_memsw) {
    return new_memsw < 0 || current_limit < new_memsw;
}

std::string pids_max(std::int64_t limit) { return limit <= 0 ? "max" : std::to_string(limit); }

std::uint64_t io_weight_from_blkio(std::uint64_t weight) {
    weight = std::clamp<std::uint64_t>(weight, 10, 1000);
    return 1 + (weight - 10) * 9999 / 990;
}

std::string device_number(std::int64_t major, std::int64_t minor) { return fmt::format("{}:{}", major, minor); }

std::vector<std::string> io_max_lines(const spec::BlockIoResources& blkio) {
    // Keep the first-seen device order so the writes are predictable in errors and tests.
    std::vector<std::pair<std::string, std::string>> lines;
    auto add = [&](const std::vector<spec::ThrottleDevice>& devices, const char* key) {
        for (const auto& d : devices) {
            std::string dev = device_number(d.major, d.minor);
            auto it = std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.first == dev; });
            if (it == lines.end()) it = lines.insert(lines.end(), {dev, dev});
            it->second += fmt::format(" {}={}", key, d.rate == 0 ? std::string("max") : std::to_string(d.rate));
        }
    };
    add(blkio.throttle_read_bps_device, "rbps");
    add(blkio.throttle_write_bps_device, "wbps");
    add(blkio.throttle_read_iops_device, "riops");
    add(blkio.throttle_write_iops_device, "wiops");
    std::vector<std::string> out;
    for (auto& l : lines) out.push_back(std::move(l.second));
    return out;
}

Converted<std::string> hugetlb_file(const std::string& page_size, int version) {
    std::size_t digits = 0;
    while (digits < page_size.size() && std::isdigit(static_cast<unsigned char>(page_size[digits]))) ++digits;
    std::string unit = page_size.substr(digits);
    if (digits == 0 || (unit != "KB" && unit != "MB" && unit != "GB"))
        return std::unexpected(fmt::format("page size \"{}\" is not <number>KB|MB|GB", page_size));
    return fmt::format("hugetlb.{}.{}", page_size, version == 1 ? "limit_in_bytes" : "max");
}

Converted<std::string> v1_device_line(const spec::DeviceRule& rule) {
    std::string type = rule.type.empty() ? "a" : rule.type;
    if (type != "a" && type != "c" && type != "b")
        return std::unexpected(fmt::format("device type \"{}\" is not a, c or b", rule.type));
    std::string access = rule.access.empty() ? "rwm" : rule.access;
    if (access.find_first_not_of("rwm") != std::string::npos)
        return std::unexpected(fmt::format("access \"{}\" has letters other than r, w, m", rule.access));
    auto number = [](const std::optional<std::int64_t>& n) {
        return n && *n >= 0 ? std::to_string(*n) : std::string("*");
    };
    // Concatenated, not fmt::format: a dozen rules per container create, on its critical path.
    return type + ' ' + number(rule.major) + ':' + number(rule.minor) + ' ' + access;
}

EffectiveDeviceRules effective_device_rules(const std::vector<spec::DeviceRule>& rules) {
    EffectiveDeviceRules out;
    for (const auto& rule : rules) {
        if (rule.type.empty() || rule.type == "a") {
            // As in the v1 kernel code: "a" sets the default and forgets every earlier exception.
            out.default_allow = rule.allow;
            out.rules.clear();
        } else {
            out.rules.push_back(rule);
        }
    }
    return out;
}

bool is_empty(const spec::Resources& r) {
    return !r.memory && !r.cpu && !r.pids && !r.block_io && r.hugepage_limits.empty() && r.devices.empty() &&
           r.unified.empty();
}

std::pair<spec::Resources, spec::Resources> split_resources(const spec::Resources& r,
                                                            const std::function<bool(const std::string&)>& on_v1) {
    spec::Resources v1, v2;
    (on_v1("memory") ? v1 : v2).memory = r.memory;
    (on_v1("pids") ? v1 : v2).pids = r.pids;
    (on_v1("blkio") ? v1 : v2).block_io = r.block_io;
    (on_v1("hugetlb") ? v1 : v2).hugepage_limits = r.hugepage_limits;
    (on_v1("devices") ? v1 : v2).devices = r.devices;
    v2.unified = r.unified;
    if (r.cpu) {
        // One OCI section, two controllers: cpu (bandwidth, shares) and cpuset (placement).
        spec::CpuResources cpu = *r.cpu, cpuset;
        cpuset.cpus = std::exchange(cpu.cpus, {});
        cpuset.mems = std::exchange(cpu.mems, {});
        bool has_cpu = cpu.shares || cpu.quota || cpu.period || cpu.realtime_runtime || cpu.realtime_period || cpu.idle;
        bool has_cpuset = !cpuset.cpus.empty() || !cpuset.mems.empty();
        auto merge = [](std::optional<spec::CpuResources>& into, const spec::CpuResources& part) {
            if (!into) into = spec::CpuResources{};
            if (part.shares) into->shares = part.shares;
            if (part.quota) into->quota = part.quota;
            if (part.period) into->period = part.period;
            if (part.realtime_runtime) into->realtime_runtime = part.realtime_runtime;
            if (part.realtime_period) into->realtime_period = part.realtime_period;
            if (part.idle) into->idle = part.idle;
            if (!part.cpus.empty()) into->cpus = part.cpus;
            if (!part.mems.empty()) into->mems = part.mems;
        };
        if (has_cpu) merge((on_v1("cpu") ? v1 : v2).cpu, cpu);
        if (has_cpuset) merge((on_v1("cpuset") ? v1 : v2).cpu, cpuset);
    }
    return {std::move(v1), std::move(v2)};
}

std::map<std::string, std::uint64_t> parse_keyed(const std::string& text) {
    std::map<std::string, std::uint64_t> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        auto space = line.find(' ');
        if (space == std::string::npos) continue;
        std::uint64_t value = 0;
        const char* first = line.data() + space + 1;
        const char* last = line.data() + line.size();
        auto [ptr, ec] = std::from_chars(first, last, value);
        if (ec == std::errc{} && ptr == last) out[line.substr(0, space)] = value;
    }
    return out;
}

std::vector<pid_t> parse_pids(const std::string& text) {
    std::vector<pid_t> out;
    std::istringstream in(text);
    for (pid_t pid = 0; in >> pid;) out.push_back(pid);
    return out;
}

}  // namespace ctb::cgroup
