// `ctbench-runtime update [flags] ID`: new resource limits for a created, running or paused
// container, as `runc update` takes them: from flags, or from -r resources.json ("-" = stdin;
// a linux.resources object). Only what is given is written; the kernel's refusal names the field.
#include <fmt/format.h>

#include <cctype>
#include <iostream>
#include <iterator>
#include <optional>

#include "runtime/cli/commands.hpp"
#include "runtime/container/container.hpp"
#include "runtime/spec/parse.hpp"
#include "runtime/log.hpp"

namespace ctb::runtime_cli {
namespace {

struct UpdateArgs {
    std::string id, resources_file;
    std::string memory, memory_swap, memory_reservation;  // bytes, or with k/m/g suffix; -1 = unlimited
    std::optional<std::uint64_t> cpu_period, cpu_share;
    std::optional<std::int64_t> cpu_quota, pids_limit;
    std::optional<std::uint16_t> blkio_weight;
    std::string cpuset_cpus, cpuset_mems;
};

// "1073741824", "512m", "1g", "-1": bytes (binary units, as runc's RAMInBytes).
Result<std::int64_t> parse_bytes(const std::string& flag, const std::string& text) {
    if (text == "-1") return -1;
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    std::string unit = text.substr(digits);
    for (auto& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (unit.ends_with("b") && unit.size() > 1) unit.pop_back();  // "512mb"
    std::int64_t scale = unit.empty() || unit == "b" ? 1 : unit == "k" ? 1LL << 10 : unit == "m" ? 1LL << 20
                       : unit == "g" ? 1LL << 30 : unit == "t" ? 1LL << 40 : 0;
    if (digits == 0 || digits > 15 || scale == 0)
        return fail(plain_error("parse", flag, fmt::format("expected bytes (e.g. 1048576, 512m, 1g or -1), got \"{}\"", text)));
    return std::stoll(text.substr(0, digits)) * scale;
}

Result<spec::Resources> from_file(const std::string& file) {
    if (file != "-") return spec::load_resources(file);
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return fail(plain_error("parse resources.json", "stdin", "malformed JSON"));
    return spec::parse_resources(j);
}

Result<spec::Resources> from_flags(const UpdateArgs& a) {
    spec::Resources r;
    spec::MemoryResources mem;
    for (auto [flag, text, field] : {std::tuple{"--memory", &a.memory, &mem.limit},
                                     std::tuple{"--memory-swap", &a.memory_swap, &mem.swap},
                                     std::tuple{"--memory-reservation", &a.memory_reservation, &mem.reservation}}) {
        if (text->empty()) continue;
        auto bytes = parse_bytes(flag, *text);
        if (!bytes) return fail(bytes.error());
        *field = *bytes;
    }
    if (mem != spec::MemoryResources{}) r.memory = mem;
    spec::CpuResources cpu;
    cpu.period = a.cpu_period;
    cpu.quota = a.cpu_quota;
    cpu.shares = a.cpu_share;
    cpu.cpus = a.cpuset_cpus;
    cpu.mems = a.cpuset_mems;
    if (cpu != spec::CpuResources{}) r.cpu = cpu;
    if (a.pids_limit) r.pids = spec::PidsResources{*a.pids_limit};
    if (a.blkio_weight) {
        spec::BlockIoResources io;
        io.weight = a.blkio_weight;
        r.block_io = io;
    }
    return r;
}

int update(const std::string& root, const UpdateArgs& a) {
    auto resources = a.resources_file.empty() ? from_flags(a) : from_file(a.resources_file);
    Status s = resources ? container::update_resources(root, a.id, *resources) : fail(resources.error());
    if (s) return 0;
    rtlog::error(s.error().message());
    return 1;
}

}  // namespace

void register_update(CLI::App& app, const std::string& root, int& rc) {
    static UpdateArgs a;  // CLI11 keeps pointers to the option targets until parsing ends
    auto* cmd = app.add_subcommand("update", "Update the resource limits of a container (as runc update)");
    cmd->add_option("id", a.id, "Container id")->required();
    cmd->add_option("-r,--resources", a.resources_file, "A linux.resources JSON file (\"-\" reads stdin); "
                                                         "the other flags are then ignored");
    cmd->add_option("--memory", a.memory, "Memory limit in bytes (k, m, g suffixes; -1 = unlimited)");
    cmd->add_option("--memory-swap", a.memory_swap, "Memory plus swap limit in bytes (-1 = unlimited)");
    cmd->add_option("--memory-reservation", a.memory_reservation, "Memory soft limit in bytes");
    cmd->add_option("--cpu-period", a.cpu_period, "CPU CFS period in microseconds");
    cmd->add_option("--cpu-quota", a.cpu_quota, "CPU CFS quota in microseconds per period (-1 = unlimited)");
    cmd->add_option("--cpu-share", a.cpu_share, "CPU shares (relative weight)");
    cmd->add_option("--cpuset-cpus", a.cpuset_cpus, "CPUs to use (0-3, 0,1)");
    cmd->add_option("--cpuset-mems", a.cpuset_mems, "Memory nodes to use (0-3, 0,1)");
    cmd->add_option("--pids-limit", a.pids_limit, "Maximum number of tasks (<= 0: unlimited)");
    cmd->add_option("--blkio-weight", a.blkio_weight, "Block IO weight (10..1000)");
    cmd->callback([&root, &rc] { rc = update(root, a); });
}

}  // namespace ctb::runtime_cli
