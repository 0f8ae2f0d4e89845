#include "runtime/security/capabilities.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <fmt/format.h>
#include <memory>
#include <string_view>

#include "runtime/log.hpp"
#include "runtime/security/user.hpp"

namespace ctb::security {
namespace {

struct CapFree {
    void operator()(void* p) const { ::cap_free(p); }
};
using CapState = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

// "CAP_CHOWN" for CAP_CHOWN; libcap spells names in lower case, the spec in upper case.
std::string cap_name(cap_value_t cap) {
    std::unique_ptr<char, CapFree> name(::cap_to_name(cap));
    std::string out = name ? name.get() : std::to_string(cap);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

bool contains(const std::vector<cap_value_t>& caps, cap_value_t cap) {
    return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

cap_value_t kernel_cap_count() { return static_cast<cap_value_t>(::cap_max_bits()); }

// Drops the capabilities this kernel does not know (see the header: one config for all kernels).
std::vector<cap_value_t> known_to_kernel(const std::vector<cap_value_t>& caps) {
    std::vector<cap_value_t> out;
    for (cap_value_t cap : caps)
        if (cap < kernel_cap_count()) out.push_back(cap);
    return out;
}

// Step 1. Capabilities already out of the bounding set are fine: dropping them again needs
// CAP_SETPCAP, which a runtime started with a reduced set may lack, so an EPERM is checked
// against the set (asked only then: one system call per capability on the usual path).
Status drop_bounding_set(const std::vector<cap_value_t>& keep) {
    for (cap_value_t cap = 0; cap < kernel_cap_count(); ++cap) {
        if (contains(keep, cap)) continue;
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
        int drop_errno = errno;
        if (drop_errno == EPERM && ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0) continue;
        return fail(sys_error("drop from bounding set", cap_name(cap), drop_errno));
    }
    return {};
}

Status set_keepcaps(bool on) {
    if (::prctl(PR_SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0) != 0)
        return fail(sys_error("prctl PR_SET_KEEPCAPS", on ? "1" : "0"));
    return {};
}

Status set_flag(cap_t state, cap_flag_t flag, const std::vector<cap_value_t>& caps) {
    auto known = known_to_kernel(caps);
    if (known.empty()) return {};
    if (::cap_set_flag(state, flag, static_cast<int>(known.size()), known.data(), CAP_SET) != 0)
        return fail(sys_error("cap_set_flag", "process.capabilities"));
    return {};
}

// Step 3: one capset(2) for the three sets, starting from all clear.
Status set_process_sets(const CapabilitySets& sets) {
    CapState state(::cap_init());
    if (!state) return fail(sys_error("cap_init", "process.capabilities"));
    for (auto [flag, caps] : {std::pair{CAP_EFFECTIVE, &sets.effective}, std::pair{CAP_PERMITTED, &sets.permitted},
                              std::pair{CAP_INHERITABLE, &sets.inheritable}})
        if (auto st = set_flag(state.get(), flag, *caps); !st) return st;
    if (::cap_set_proc(state.get()) != 0) {
        auto e = sys_error("capset", "process.capabilities");
        e.detail = "effective must lie within permitted, permitted within what the process holds, "
                   "inheritable within bounding";
        return fail(std::move(e));
    }
    return {};
}

// The warning of a capability the kernel would not raise, on the init's stderr (where runc's
// init logs its own "can't raise ambient capability" warning too).
void warn_not_raised(cap_value_t cap, int err) {
    rtlog::warning(fmt::format("cannot raise ambient capability {}: {} "
                               "(process.capabilities.ambient: it must also be permitted and inheritable); "
                               "continuing without it",
                               cap_name(cap), errno_name(err)));
}

// Step 4. CLEAR_ALL fails with EINVAL before Linux 4.3, where an empty ambient set is moot.
// A capability the kernel refuses to raise (EPERM: not both permitted and inheritable) is skipped
// with a warning, as runc does: `runc spec` itself lists ambient capabilities without listing
// them as inheritable, and that config must run.
Status set_ambient(const std::vector<cap_value_t>& ambient) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && !(errno == EINVAL && ambient.empty()))
        return fail(sys_error("clear ambient set", "process.capabilities.ambient"));
    for (cap_value_t cap : known_to_kernel(ambient)) {
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) == 0) continue;
        if (errno == EPERM) {
            warn_not_raised(cap, errno);
            continue;
        }
        return fail(sys_error("raise ambient capability", cap_name(cap)));
    }
    return {};
}

}  // namespace

// The spec's spelling of every capability of Linux 6.x, by value (a unit test holds it to
// libcap's cap_to_name). A container's ~50 names are checked against it instead of a cap_to_name
// round trip each: no allocation, nothing built at run time (a table built lazily was built by
// every container's init in its own copy of the runtime's memory, and built before the clone it
// added 250 KiB to the CLI's peak RSS).
const std::array<std::string_view, 41> kCapabilityNames{
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};

namespace {

// Whether `name` is the spec's spelling of `cap`; a capability newer than the table takes the
// round trip through libcap.
bool spelled_as_spec(cap_value_t cap, const std::string& name) {
    if (cap >= 0 && static_cast<std::size_t>(cap) < kCapabilityNames.size())
        return kCapabilityNames[static_cast<std::size_t>(cap)] == name;
    return cap_name(cap) == name;
}

}  // namespace

Result<std::vector<cap_value_t>> parse_capabilities(const std::vector<std::string>& names, const std::string& field) {
    std::vector<cap_value_t> out;
    out.reserve(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        cap_value_t cap = 0;
        // cap_from_name also takes numbers, lower case and a name followed by junk
        // ("CAP_CHOWN,X", "CAP_SYS_ADMIN2"): only the spec's exact spelling is accepted.
        if (::cap_from_name(names[i].c_str(), &cap) != 0 || !spelled_as_spec(cap, names[i]))
            return fail(plain_error("parse capability", fmt::format("{}[{}]", field, i),
                                    fmt::format("unknown capability \"{}\"", names[i])));
        if (!contains(out, cap)) out.push_back(cap);
    }
    return out;
}

Result<CapabilitySets> parse_capability_sets(const spec::Capabilities& caps) {
    CapabilitySets sets;
    for (auto [names, parsed, field] : {std::tuple{&caps.bounding, &sets.bounding, "bounding"},
                                        std::tuple{&caps.effective, &sets.effective, "effective"},
                                        std::tuple{&caps.inheritable, &sets.inheritable, "inheritable"},
                                        std::tuple{&caps.permitted, &sets.permitted, "permitted"},
                                        std::tuple{&caps.ambient, &sets.ambient, "ambient"}}) {
        auto values = parse_capabilities(*names, fmt::format("process.capabilities.{}", field));
        if (!values) return fail(values.error());
        *parsed = std::move(*values);
    }
    return sets;
}

Status apply_capabilities(const spec::Capabilities& caps) {
    auto sets = parse_capability_sets(caps);
    if (!sets) return fail(sets.error());
    return apply_capability_sets(*sets);
}

Status apply_capability_sets(const CapabilitySets& sets) {
    if (auto st = drop_bounding_set(sets.bounding); !st) return st;
    if (auto st = set_process_sets(sets); !st) return st;
    return set_ambient(sets.ambient);
}

Status apply_identity_and_capabilities(const spec::User& user, const std::optional<spec::Capabilities>& caps) {
    if (!caps) return apply_identity_and_capability_sets(user, std::nullopt);
    auto sets = parse_capability_sets(*caps);
    if (!sets) return fail(sets.error());
    return apply_identity_and_capability_sets(user, *sets);
}

Status apply_identity_and_capability_sets(const spec::User& user, const std::optional<CapabilitySets>& sets) {
    if (!sets) return apply_user(user);
    if (auto st = drop_bounding_set(sets->bounding); !st) return st;
    if (auto st = set_keepcaps(true); !st) return st;
    if (auto st = apply_user(user); !st) return st;
    if (auto st = set_keepcaps(false); !st) return st;
    if (auto st = set_process_sets(*sets); !st) return st;
    return set_ambient(sets->ambient);
}

bool has_effective_capability(cap_value_t cap) {
    CapState state(::cap_get_proc());
    cap_flag_value_t value = CAP_CLEAR;
    return state && ::cap_get_flag(state.get(), cap, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET;
}

spec::Capabilities default_capabilities() {
    std::vector<std::string> docker{"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
                                    "CAP_MKNOD",  "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
                                    "CAP_SETFCAP", "CAP_SETPCAP",     "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
                                    "CAP_KILL",   "CAP_AUDIT_WRITE"};
    spec::Capabilities caps;
    caps.bounding = caps.effective = caps.permitted = docker;
    return caps;
}

}  // namespace ctb::security
