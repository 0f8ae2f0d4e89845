#include "runtime/security/rlimits.hpp"

#include <sys/resource.h>

#include <array>
#include <fmt/format.h>
#include <set>
#include <utility>

#include "common/files.hpp"

namespace ctb::security {
namespace {

// getrlimit(2) lists these 16; RLIMIT_NLIMITS is 16 on every Linux architecture.
constexpr std::array<std::pair<const char*, int>, 16> kLimits{{
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
}};

std::string field(std::size_t i) { return fmt::format("process.rlimits[{}]", i); }

}  // namespace

Result<int> rlimit_resource(const std::string& name) {
    for (const auto& [known, resource] : kLimits)
        if (name == known) return resource;
    return fail(plain_error("parse rlimit", name, "unknown rlimit type"));
}

Status check_rlimits(const std::vector<spec::Rlimit>& rlimits) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < rlimits.size(); ++i) {
        const auto& limit = rlimits[i];
        if (!rlimit_resource(limit.type))
            return fail(plain_error("parse rlimit", field(i), fmt::format("unknown type \"{}\"", limit.type)));
        if (!seen.insert(limit.type).second)
            return fail(plain_error("parse rlimit", field(i), fmt::format("{} given twice", limit.type)));
        if (limit.soft > limit.hard)
            return fail(plain_error("parse rlimit", field(i),
                                    fmt::format("{}: soft {} exceeds hard {}", limit.type, limit.soft, limit.hard)));
    }
    return {};
}

Status apply_rlimits(const std::vector<spec::Rlimit>& rlimits) {
    if (auto st = check_rlimits(rlimits); !st) return st;
    for (std::size_t i = 0; i < rlimits.size(); ++i) {
        const auto& limit = rlimits[i];
        // rlim_t is 64-bit and RLIM_INFINITY is its maximum, so values pass through unchanged.
        const rlimit value{static_cast<rlim_t>(limit.soft), static_cast<rlim_t>(limit.hard)};
        auto resource = static_cast<__rlimit_resource_t>(*rlimit_resource(limit.type));
        if (::setrlimit(resource, &value) != 0) {
            auto e = sys_error("setrlimit", limit.type);
            e.detail = fmt::format("{}: soft {} hard {}", field(i), limit.soft, limit.hard);
            return fail(std::move(e));
        }
    }
    return {};
}

Status set_oom_score_adj(pid_t pid, int value) {
    std::string path = pid == 0 ? "/proc/self/oom_score_adj" : fmt::format("/proc/{}/oom_score_adj", pid);
    if (value < -1000 || value > 1000)
        return fail(plain_error("set oom_score_adj", path, fmt::format("{} is outside [-1000, 1000]", value)));
    auto st = write_file(path, std::to_string(value));
    if (st) return {};
    // Lowering below the current minimum needs CAP_SYS_RESOURCE; the kernel says EACCES then.
    auto e = st.error();
    e.detail = fmt::format("process.oomScoreAdj {}", value);
    return fail(std::move(e));
}

}  // namespace ctb::security
