#include "runtime/cgroups/device_bpf.hpp"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <climits>

#include "common/fd.hpp"

namespace ctb::cgroup {
namespace {

// Registers: r1 = ctx on entry (reused as scratch after the loads), r2 = device type,
// r3 = requested access, r4 = major, r5 = minor, r0 = verdict (1 allow, 0 deny).
bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}
bpf_insn load_u32(std::uint8_t dst, std::int16_t offset) { return insn(BPF_LDX | BPF_MEM | BPF_W, dst, 1, offset, 0); }
bpf_insn alu_imm(std::uint8_t op, std::uint8_t dst, std::int32_t imm) { return insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
bpf_insn mov_reg(std::uint8_t dst, std::uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn jne_imm(std::uint8_t reg, std::int32_t imm) { return insn(BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0, imm); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

Converted<std::int32_t> access_mask(const std::string& access) {
    std::int32_t mask = 0;
    for (char c : access.empty() ? std::string("rwm") : access) {
        if (c == 'r') mask |= BPF_DEVCG_ACC_READ;
        else if (c == 'w') mask |= BPF_DEVCG_ACC_WRITE;
        else if (c == 'm') mask |= BPF_DEVCG_ACC_MKNOD;
        else return std::unexpected(fmt::format("access \"{}\" has letters other than r, w, m", access));
    }
    return mask;
}

Converted<void> check_rule(const spec::DeviceRule& rule) {
    if (!rule.type.empty() && rule.type != "a" && rule.type != "c" && rule.type != "b")
        return std::unexpected(fmt::format("device type \"{}\" is not a, c or b", rule.type));
    if (auto mask = access_mask(rule.access); !mask) return std::unexpected(mask.error());
    for (const auto& n : {rule.major, rule.minor})
        if (n && *n > INT_MAX) return std::unexpected(fmt::format("device number {} is out of range", *n));
    return {};
}

// One rule: a chain of "if field != value goto next_rule" tests, then "return verdict".
std::vector<bpf_insn> rule_block(const spec::DeviceRule& rule) {
    std::vector<bpf_insn> block;
    std::vector<std::size_t> jumps;
    auto test = [&](std::uint8_t reg, std::int32_t value) {
        jumps.push_back(block.size());
        block.push_back(jne_imm(reg, value));
    };
    test(2, rule.type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    std::int32_t mask = *access_mask(rule.access);
    if (mask != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
        // The request may combine bits (open O_RDWR asks read|write); every bit must be granted.
        block.push_back(mov_reg(1, 3));
        block.push_back(alu_imm(BPF_AND, 1, ~mask & 7));
        test(1, 0);
    }
    if (rule.major && *rule.major >= 0) test(4, static_cast<std::int32_t>(*rule.major));
    if (rule.minor && *rule.minor >= 0) test(5, static_cast<std::int32_t>(*rule.minor));
    block.push_back(alu_imm(BPF_MOV, 0, rule.allow ? 1 : 0));
    block.push_back(exit_insn());
    for (std::size_t j : jumps) block[j].off = static_cast<std::int16_t>(block.size() - (j + 1));
    return block;
}

int load(const std::vector<bpf_insn>& program, std::string& log) {
    bpf_prog_load_opts opts{};
    opts.sz = sizeof opts;
    int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "ctb_devices", "Apache-2.0", program.data(), program.size(),
                           &opts);
    if (fd >= 0) return fd;
    int err = errno;
    // Load again with the verifier log, only to explain the failure.
    std::string buf(64 * 1024, '\0');
    opts.log_buf = buf.data();
    opts.log_size = static_cast<std::uint32_t>(buf.size());
    opts.log_level = 1;
    if (int again = bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "ctb_devices", "Apache-2.0", program.data(),
                                  program.size(), &opts);
        again >= 0)
        ::close(again);
    log = buf.c_str();
    errno = err;
    return -1;
}

}  // namespace

Converted<std::vector<bpf_insn>> device_program(const std::vector<spec::DeviceRule>& rules) {
    for (std::size_t i = 0; i < rules.size(); ++i)
        if (auto ok = check_rule(rules[i]); !ok) return std::unexpected(fmt::format("devices[{}]: {}", i, ok.error()));
    EffectiveDeviceRules effective = effective_device_rules(rules);
    std::vector<bpf_insn> program{
        load_u32(2, offsetof(bpf_cgroup_dev_ctx, access_type)),
        alu_imm(BPF_AND, 2, 0xffff),  // low half: BPF_DEVCG_DEV_*
        load_u32(3, offsetof(bpf_cgroup_dev_ctx, access_type)),
        alu_imm(BPF_RSH, 3, 16),  // high half: BPF_DEVCG_ACC_*
        load_u32(4, offsetof(bpf_cgroup_dev_ctx, major)),
        load_u32(5, offsetof(bpf_cgroup_dev_ctx, minor)),
    };
    for (auto it = effective.rules.rbegin(); it != effective.rules.rend(); ++it) {
        auto block = rule_block(*it);
        program.insert(program.end(), block.begin(), block.end());
    }
    program.push_back(alu_imm(BPF_MOV, 0, effective.default_allow ? 1 : 0));
    program.push_back(exit_insn());
    return program;
}

Status attach_device_program(int cgroup_fd, const std::vector<bpf_insn>& program, const std::string& cgroup_path) {
    const std::string step = "apply linux.resources.devices";
    std::vector<__u32> old(64);
    __u32 count = static_cast<__u32>(old.size()), flags = 0;
    if (bpf_prog_query(cgroup_fd, BPF_CGROUP_DEVICE, 0, &flags, old.data(), &count) != 0)
        return fail(sys_error(step + ": query attached device programs", cgroup_path));
    old.resize(count);

    std::string log;
    UniqueFd prog(load(program, log));
    if (!prog) {
        Error e = sys_error(step + ": load BPF_PROG_TYPE_CGROUP_DEVICE program", cgroup_path);
        e.detail = log.empty() ? "" : "verifier: " + log;
        return fail(std::move(e));
    }
    if (bpf_prog_attach(prog.get(), cgroup_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) != 0)
        return fail(sys_error(step + ": attach device program", cgroup_path));
    // The new program is in force; only now drop the old ones, so there is no window without
    // a filter. Only programs on this cgroup are listed (not inherited ones): ours.
    for (__u32 id : old) {
        UniqueFd old_prog(bpf_prog_get_fd_by_id(id));
        if (!old_prog || bpf_prog_detach2(old_prog.get(), cgroup_fd, BPF_CGROUP_DEVICE) != 0)
            return fail(sys_error(fmt::format("{}: detach earlier device program id {}", step, id), cgroup_path));
    }
    return {};
}

}  // namespace ctb::cgroup
