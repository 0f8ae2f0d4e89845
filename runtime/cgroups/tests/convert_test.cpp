// Unit tests of the pure parts of the cgroup manager: value conversions, path rule, parsers,
// hybrid routing, and the device BPF program (run through a tiny interpreter of the handful of
// instructions device_program emits, so the rule semantics are checked without a kernel).
#include <gtest/gtest.h>

#include <map>

#include "runtime/cgroups/convert.hpp"
#include "runtime/cgroups/device_bpf.hpp"
#include "runtime/cgroups/manager.hpp"

using namespace ctb::cgroup;
using ctb::spec::DeviceRule;

TEST(CgroupPath, AcceptsOnlyPathsBelowCtbench) {
    EXPECT_EQ(normalise_path("ctbench/abc").value(), "ctbench/abc");
    EXPECT_EQ(normalise_path("/ctbench/abc/").value(), "ctbench/abc");
    EXPECT_EQ(normalise_path("ctbench//pod/x").value(), "ctbench/pod/x");
    for (const char* bad : {"", "ctbench", "/ctbench", "abc", "/sys/fs/cgroup/x", "ctbench/../x", "ctbench/./x",
                            "system.slice:ctb:x", "other/ctbench/x"}) {
        auto r = normalise_path(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().object.find("relative_path"), std::string::npos) << r.error().message();
    }
}

TEST(CgroupConvert, SharesToWeightFollowsTheOciFormula) {
    EXPECT_EQ(cpu_weight_from_shares(2), 1u);
    EXPECT_EQ(cpu_weight_from_shares(1024), 39u);  // 1 + 1022*9999/262142
    EXPECT_EQ(cpu_weight_from_shares(262144), 10000u);
    EXPECT_EQ(cpu_weight_from_shares(0), 1u);        // clamped like the kernel
    EXPECT_EQ(cpu_weight_from_shares(1u << 30), 10000u);
}

TEST(CgroupConvert, CpuMax) {
    EXPECT_EQ(cpu_max(20000, 100000).value(), "20000 100000");
    EXPECT_EQ(cpu_max(-1, 50000).value(), "max 50000");
    EXPECT_EQ(cpu_max(std::nullopt, 50000).value(), "max 50000");
    EXPECT_EQ(cpu_max(30000, std::nullopt).value(), "30000 100000");
    EXPECT_FALSE(cpu_max(std::nullopt, std::nullopt));
}

TEST(CgroupConvert, MemoryValues) {
    EXPECT_EQ(v2_bytes(-1), "max");
    EXPECT_EQ(v2_bytes(33554432), "33554432");
    EXPECT_EQ(v2_swap_max(100, 300).value(), "200");
    EXPECT_EQ(v2_swap_max(100, 100).value(), "0");
    EXPECT_EQ(v2_swap_max(std::nullopt, -1).value(), "max");
    EXPECT_FALSE(v2_swap_max(300, 100));           // memory+swap below memory
    EXPECT_FALSE(v2_swap_max(std::nullopt, 100));  // finite swap, no memory limit
    EXPECT_FALSE(v2_swap_max(-1, 100));
}

TEST(CgroupConvert, MemswOrderKeepsMemoryBelowMemsw) {
    // Raising: memsw first. Lowering below the current limit: memory first.
    EXPECT_TRUE(memsw_before_limit(64 << 20, 128 << 20));
    EXPECT_TRUE(memsw_before_limit(64 << 20, -1));
    EXPECT_FALSE(memsw_before_limit(INT64_C(9223372036854771712), 32 << 20));  // "unlimited" read back
    EXPECT_FALSE(memsw_before_limit(64 << 20, 64 << 20));
}

TEST(CgroupConvert, PidsAndIo) {
    EXPECT_EQ(pids_max(0), "max");
    EXPECT_EQ(pids_max(-1), "max");
    EXPECT_EQ(pids_max(5), "5");
    EXPECT_EQ(io_weight_from_blkio(10), 1u);
    EXPECT_EQ(io_weight_from_blkio(1000), 10000u);
    EXPECT_EQ(io_weight_from_blkio(500), 1 + 490u * 9999 / 990);

    ctb::spec::BlockIoResources b;
    b.throttle_read_bps_device = {{8, 0, 1048576}};
    b.throttle_write_bps_device = {{8, 0, 0}, {8, 16, 10}};
    b.throttle_write_iops_device = {{8, 0, 100}};
    EXPECT_EQ(io_max_lines(b), (std::vector<std::string>{"8:0 rbps=1048576 wbps=max wiops=100", "8:16 wbps=10"}));
}

TEST(CgroupConvert, HugetlbFileNames) {
    EXPECT_EQ(hugetlb_file("2MB", 1).value(), "hugetlb.2MB.limit_in_bytes");
    EXPECT_EQ(hugetlb_file("1GB", 2).value(), "hugetlb.1GB.max");
    EXPECT_FALSE(hugetlb_file("2M", 2));
    EXPECT_FALSE(hugetlb_file("MB", 2));
    EXPECT_FALSE(hugetlb_file("../x", 1));
}

TEST(CgroupConvert, V1DeviceLines) {
    DeviceRule all;
    EXPECT_EQ(v1_device_line(all).value(), "a *:* rwm");
    DeviceRule null{true, "c", 1, 3, "rw"};
    EXPECT_EQ(v1_device_line(null).value(), "c 1:3 rw");
    DeviceRule any_minor{true, "b", 8, std::nullopt, "r"};
    EXPECT_EQ(v1_device_line(any_minor).value(), "b 8:* r");
    EXPECT_FALSE(v1_device_line(DeviceRule{true, "x", 1, 3, "rwm"}));
    EXPECT_FALSE(v1_device_line(DeviceRule{true, "c", 1, 3, "rwx"}));
}

TEST(CgroupConvert, ParseKeyedAndPids) {
    auto keyed = parse_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\nbogus\nx y\n");
    EXPECT_EQ(keyed["oom_kill"], 3u);
    EXPECT_EQ(keyed.count("bogus"), 0u);
    EXPECT_EQ(keyed.count("x"), 0u);
    EXPECT_EQ(parse_pids("12\n7\n"), (std::vector<pid_t>{12, 7}));
    EXPECT_TRUE(parse_pids("").empty());
}

TEST(CgroupConvert, HybridSplitRoutesByController) {
    ctb::spec::Resources r;
    r.memory = ctb::spec::MemoryResources{};
    r.memory->limit = 1;
    r.cpu = ctb::spec::CpuResources{};
    r.cpu->quota = 20000;
    r.cpu->cpus = "0";
    r.pids = ctb::spec::PidsResources{5};
    r.hugepage_limits = {{"2MB", 0}};
    r.devices = {DeviceRule{}};
    r.unified = {{"memory.high", "1"}};
    // Like this host: everything on v1 except hugetlb; cpuset pretend-missing from v1.
    auto [v1, v2] = split_resources(r, [](const std::string& c) { return c != "hugetlb" && c != "cpuset"; });
    EXPECT_TRUE(v1.memory && v1.pids && v1.cpu && !v1.devices.empty());
    EXPECT_EQ(v1.cpu->quota, 20000);
    EXPECT_TRUE(v1.cpu->cpus.empty());
    EXPECT_TRUE(v1.hugepage_limits.empty() && v1.unified.empty());
    EXPECT_FALSE(v2.memory || v2.pids);
    ASSERT_TRUE(v2.cpu);
    EXPECT_EQ(v2.cpu->cpus, "0");
    EXPECT_FALSE(v2.cpu->quota);
    EXPECT_EQ(v2.hugepage_limits.size(), 1u);
    EXPECT_EQ(v2.unified.size(), 1u);
    EXPECT_TRUE(is_empty(ctb::spec::Resources{}));
}

namespace {

// Runs a device program on one access, supporting exactly the instructions device_program
// emits. Returns the verdict in r0.
std::uint64_t run(const std::vector<bpf_insn>& prog, std::uint32_t type, std::uint32_t access, std::uint32_t major,
                  std::uint32_t minor) {
    bpf_cgroup_dev_ctx ctx{(access << 16) | type, major, minor};
    std::uint64_t r[11] = {};
    for (std::size_t pc = 0, steps = 0; pc < prog.size() && steps < 10000; ++pc, ++steps) {
        const bpf_insn& i = prog[pc];
        switch (i.code) {
            case BPF_LDX | BPF_MEM | BPF_W:
                r[i.dst_reg] = *reinterpret_cast<const std::uint32_t*>(reinterpret_cast<const char*>(&ctx) + i.off);
                break;
            case BPF_ALU64 | BPF_AND | BPF_K: r[i.dst_reg] &= static_cast<std::uint64_t>(std::int64_t{i.imm}); break;
            case BPF_ALU64 | BPF_RSH | BPF_K: r[i.dst_reg] >>= i.imm; break;
            case BPF_ALU64 | BPF_MOV | BPF_K: r[i.dst_reg] = static_cast<std::uint64_t>(std::int64_t{i.imm}); break;
            case BPF_ALU64 | BPF_MOV | BPF_X: r[i.dst_reg] = r[i.src_reg]; break;
            case BPF_JMP | BPF_JNE | BPF_K:
                if (r[i.dst_reg] != static_cast<std::uint64_t>(std::int64_t{i.imm})) pc += i.off;
                break;
            case BPF_JMP | BPF_EXIT: return r[0];
            default: ADD_FAILURE() << "unexpected opcode " << int(i.code); return 99;
        }
    }
    ADD_FAILURE() << "program ran off its end";
    return 99;
}

constexpr std::uint32_t C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
constexpr std::uint32_t R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;

}  // namespace

TEST(CgroupDeviceProgram, DenyAllThenAllowDevNull) {
    auto prog = device_program({DeviceRule{false, "a", {}, {}, "rwm"}, DeviceRule{true, "c", 1, 3, "rwm"}});
    ASSERT_TRUE(prog) << prog.error();
    EXPECT_EQ(run(*prog, C, R | W, 1, 3), 1u);  // /dev/null
    EXPECT_EQ(run(*prog, C, R, 1, 5), 0u);      // /dev/zero
    EXPECT_EQ(run(*prog, B, R, 1, 3), 0u);      // block 1:3 is another device
}

TEST(CgroupDeviceProgram, AccessBitsMustAllBeGranted) {
    auto prog = device_program({DeviceRule{true, "c", 1, 5, "r"}});
    ASSERT_TRUE(prog);
    EXPECT_EQ(run(*prog, C, R, 1, 5), 1u);
    EXPECT_EQ(run(*prog, C, R | W, 1, 5), 0u);
    EXPECT_EQ(run(*prog, C, M, 1, 5), 0u);
}

TEST(CgroupDeviceProgram, LastMatchingRuleWinsAndWildcards) {
    auto prog = device_program({DeviceRule{true, "c", 136, std::nullopt, "rwm"},  // all ptys
                                DeviceRule{false, "c", 136, 0, "rwm"}});          // but not pty 0
    ASSERT_TRUE(prog);
    EXPECT_EQ(run(*prog, C, R, 136, 4), 1u);
    EXPECT_EQ(run(*prog, C, R, 136, 0), 0u);
    EXPECT_EQ(run(*prog, C, R, 5, 0), 0u);  // default deny
}

TEST(CgroupDeviceProgram, AllowAllResetsAndEarlierRulesAreForgotten) {
    auto prog = device_program({DeviceRule{true, "c", 1, 3, "rwm"}, DeviceRule{true, "a", {}, {}, "rwm"},
                                DeviceRule{false, "b", 8, 0, "w"}});
    ASSERT_TRUE(prog);
    EXPECT_EQ(run(*prog, B, W, 8, 0), 0u);
    EXPECT_EQ(run(*prog, B, R, 8, 0), 1u);
    EXPECT_EQ(run(*prog, C, R | W | M, 4, 1), 1u);
    EXPECT_EQ(effective_device_rules({DeviceRule{true, "c", 1, 3, "rwm"}, DeviceRule{true, "a", {}, {}, "rwm"}}).rules.size(),
              0u);
}

TEST(CgroupDeviceProgram, BadRulesNameTheirIndex) {
    auto prog = device_program({DeviceRule{true, "c", 1, 3, "rwm"}, DeviceRule{true, "p", 1, 3, "rwm"}});
    ASSERT_FALSE(prog);
    EXPECT_NE(prog.error().find("devices[1]"), std::string::npos) << prog.error();
}
