#include "runtime/security/seccomp.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fmt/format.h>
#include <set>
#include <utility>
#include <vector>

#include "common/fd.hpp"

namespace ctb::security {
namespace {

constexpr const char* kPrefix = "linux.seccomp";

// libseccomp returns -errno.
Status check(int rc, const std::string& step, const std::string& object) {
    if (rc >= 0) return {};
    return fail(sys_error(step, object, -rc));
}

template <class Table>
std::optional<typename Table::value_type::second_type> lookup(const Table& table, const std::string& name) {
    for (const auto& [known, value] : table)
        if (name == known) return value;
    return std::nullopt;
}

constexpr std::array<std::pair<const char*, std::uint32_t>, 19> kArchitectures{{
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
}};

constexpr std::array<std::pair<const char*, scmp_filter_attr>, 3> kFlags{{
    {"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB},
}};

constexpr std::array<std::pair<const char*, scmp_compare>, 7> kOperators{{
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
}};

// Actions that take no data; ERRNO and TRACE carry errnoRet and are handled apart.
constexpr std::array<std::pair<const char*, std::uint32_t>, 6> kPlainActions{{
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
}};

// The default action's fields are "defaultAction"/"defaultErrnoRet", a rule's "action"/"errnoRet".
Result<std::uint32_t> parse_action(const std::string& action, std::optional<std::uint32_t> errno_ret,
                                   const std::string& action_field, const std::string& errno_field) {
    if (action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE") {
        std::uint32_t data = errno_ret.value_or(EPERM);
        // The kernel keeps 16 bits (SECCOMP_RET_DATA); a larger value would be silently cut.
        if (data > 0xffff) return fail(plain_error("parse seccomp", errno_field, fmt::format("{} exceeds 65535", data)));
        return action == "SCMP_ACT_ERRNO" ? SCMP_ACT_ERRNO(data) : SCMP_ACT_TRACE(data);
    }
    if (action == "SCMP_ACT_NOTIFY") {
        // Every system call of the runtime's own remaining setup would wait for the agent (and
        // runc refuses it too): only named system calls may be handed to the agent.
        if (action_field.ends_with("defaultAction"))
            return fail(plain_error("parse seccomp", action_field, "SCMP_ACT_NOTIFY cannot be the default action"));
        if (errno_ret)
            return fail(plain_error("parse seccomp", errno_field, "errnoRet applies only to SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not SCMP_ACT_NOTIFY"));
        return SCMP_ACT_NOTIFY;
    }
    auto plain = lookup(kPlainActions, action);
    if (!plain) return fail(plain_error("parse seccomp", action_field, fmt::format("unknown action \"{}\"", action)));
    if (errno_ret)
        return fail(plain_error("parse seccomp", errno_field,
                                fmt::format("errnoRet applies only to SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not {}", action)));
    return *plain;
}

Status add_architectures(scmp_filter_ctx ctx, const std::vector<std::string>& names) {
    for (std::size_t i = 0; i < names.size(); ++i) {
        std::string field = fmt::format("{}.architectures[{}]", kPrefix, i);
        auto arch = lookup(kArchitectures, names[i]);
        if (!arch) return fail(plain_error("parse seccomp", field, fmt::format("unknown architecture \"{}\"", names[i])));
        int rc = ::seccomp_arch_add(ctx, *arch);
        if (rc == -EEXIST) continue;  // the native architecture is always present
        if (auto st = check(rc, "add seccomp architecture " + names[i], field); !st) return st;
    }
    return {};
}

Status set_flags(scmp_filter_ctx ctx, const std::vector<std::string>& names) {
    for (std::size_t i = 0; i < names.size(); ++i) {
        std::string field = fmt::format("{}.flags[{}]", kPrefix, i);
        auto attr = lookup(kFlags, names[i]);
        if (!attr) return fail(plain_error("parse seccomp", field, fmt::format("unsupported flag \"{}\"", names[i])));
        if (auto st = check(::seccomp_attr_set(ctx, *attr, 1), "set seccomp flag " + names[i], field); !st) return st;
    }
    return {};
}

Result<std::vector<scmp_arg_cmp>> parse_args(const std::vector<spec::SeccompArg>& args, const std::string& field) {
    std::vector<scmp_arg_cmp> out;
    for (std::size_t j = 0; j < args.size(); ++j) {
        const auto& arg = args[j];
        std::string arg_field = fmt::format("{}.args[{}]", field, j);
        if (arg.index > 5)
            return fail(plain_error("parse seccomp", arg_field + ".index", fmt::format("{} is not in 0..5", arg.index)));
        auto op = lookup(kOperators, arg.op);
        if (!op) return fail(plain_error("parse seccomp", arg_field + ".op", fmt::format("unknown operator \"{}\"", arg.op)));
        out.push_back(scmp_arg_cmp{arg.index, *op, arg.value, arg.value_two});
    }
    return out;
}

bool repeats_an_argument(const std::vector<scmp_arg_cmp>& conds) {
    std::set<unsigned> seen;
    for (const auto& c : conds)
        if (!seen.insert(c.arg).second) return true;
    return false;
}

Status add_syscall(scmp_filter_ctx ctx, std::uint32_t action, int nr, const std::vector<scmp_arg_cmp>& conds,
                   const std::string& field) {
    auto add = [&](unsigned count, const scmp_arg_cmp* first) {
        return check(::seccomp_rule_add_array(ctx, action, nr, count, first), "add seccomp rule", field);
    };
    if (!repeats_an_argument(conds)) return add(static_cast<unsigned>(conds.size()), conds.data());
    for (const auto& cond : conds)
        if (auto st = add(1, &cond); !st) return st;
    return {};
}

Status add_rule(scmp_filter_ctx ctx, const spec::SeccompSyscall& rule, std::size_t i, std::uint32_t default_action) {
    std::string field = fmt::format("{}.syscalls[{}]", kPrefix, i);
    auto action = parse_action(rule.action, rule.errno_ret, field + ".action", field + ".errnoRet");
    if (!action) return fail(action.error());
    auto conds = parse_args(rule.args, field);
    if (!conds) return fail(conds.error());
    if (*action == default_action) return {};
    for (std::size_t k = 0; k < rule.names.size(); ++k) {
        int nr = ::seccomp_syscall_resolve_name(rule.names[k].c_str());
        if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: skipped, as runc does
        auto st = add_syscall(ctx, *action, nr, *conds, fmt::format("{}.names[{}] ({})", field, k, rule.names[k]));
        if (!st) return st;
    }
    return {};
}

}  // namespace

SeccompFilter& SeccompFilter::operator=(SeccompFilter&& other) noexcept {
    if (this != &other) {
        if (ctx_) ::seccomp_release(ctx_);
        ctx_ = other.release();
    }
    return *this;
}

SeccompFilter::~SeccompFilter() {
    if (ctx_) ::seccomp_release(ctx_);
}

scmp_filter_ctx SeccompFilter::release() { return std::exchange(ctx_, nullptr); }

Result<std::uint32_t> parse_seccomp_action(const std::string& action, std::optional<std::uint32_t> errno_ret,
                                           const std::string& field) {
    return parse_action(action, errno_ret, field + ".action", field + ".errnoRet");
}

Result<SeccompFilter> build_seccomp_filter(const spec::Seccomp& profile) {
    auto default_action = parse_action(profile.default_action, profile.default_errno_ret,
                                       fmt::format("{}.defaultAction", kPrefix), fmt::format("{}.defaultErrnoRet", kPrefix));
    if (!default_action) return fail(default_action.error());
    SeccompFilter filter(::seccomp_init(*default_action));
    if (!filter.get()) return fail(plain_error("seccomp_init", fmt::format("{}.defaultAction", kPrefix), "failed"));
    // We decide about no_new_privs ourselves (security.hpp); the raw errno makes load errors precise.
    auto st = check(::seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_NNP, 0), "seccomp_attr_set", "CTL_NNP");
    if (st) st = check(::seccomp_attr_set(filter.get(), SCMP_FLTATR_API_SYSRAWRC, 1), "seccomp_attr_set", "API_SYSRAWRC");
    if (st) st = add_architectures(filter.get(), profile.architectures);
    if (st) st = set_flags(filter.get(), profile.flags);
    for (std::size_t i = 0; st && i < profile.syscalls.size(); ++i)
        st = add_rule(filter.get(), profile.syscalls[i], i, *default_action);
    if (!st) return fail(st.error());
    return filter;
}

Status load_seccomp_filter(const SeccompFilter& filter) {
    int rc = ::seccomp_load(filter.get());
    if (rc >= 0) return {};
    auto e = sys_error("load seccomp filter", kPrefix, -rc);
    if (-rc == EACCES) e.detail = "loading a filter needs no_new_privs or CAP_SYS_ADMIN";
    return fail(std::move(e));
}

Result<UniqueFd> load_seccomp_with_listener(const spec::Seccomp& profile) {
    auto filter = build_seccomp_filter(profile);
    if (!filter) return fail(filter.error());
    // libseccomp asks the kernel for a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER) by itself when
    // the filter has an SCMP_ACT_NOTIFY rule.
    if (auto st = load_seccomp_filter(*filter); !st) return fail(st.error());
    int fd = ::seccomp_notify_fd(filter->get());
    if (fd < 0) return fail(sys_error("seccomp_notify_fd", std::string(kPrefix) + ".listenerPath", -fd));
    return UniqueFd(fd);
}

Status apply_seccomp(const spec::Seccomp& profile) {
    auto filter = build_seccomp_filter(profile);
    if (!filter) return fail(filter.error());
    return load_seccomp_filter(*filter);
}

Result<std::string> export_seccomp_pfc(const SeccompFilter& filter) {
    UniqueFd fd(::memfd_create("ctb-seccomp-pfc", MFD_CLOEXEC));
    if (!fd) return fail(sys_error("memfd_create", "seccomp pfc"));
    if (auto st = check(::seccomp_export_pfc(filter.get(), fd.get()), "seccomp_export_pfc", kPrefix); !st)
        return fail(st.error());
    std::string out;
    char buf[4096];
    for (off_t at = 0;;) {
        ssize_t n = ::pread(fd.get(), buf, sizeof buf, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(sys_error("read", "seccomp pfc"));
        if (n == 0) return out;
        out.append(buf, static_cast<std::size_t>(n));
        at += n;
    }
}

SeccompSupport seccomp_support() {
    SeccompSupport out;
    for (const auto& [name, value] : kPlainActions) out.actions.push_back(name);
    out.actions.push_back("SCMP_ACT_ERRNO");
    out.actions.push_back("SCMP_ACT_TRACE");
    out.actions.push_back("SCMP_ACT_NOTIFY");
    for (const auto& [name, value] : kOperators) out.operators.push_back(name);
    for (const auto& [name, value] : kArchitectures) out.archs.push_back(name);
    for (const auto& [name, value] : kFlags) out.flags.push_back(name);
    return out;
}

}  // namespace ctb::security
