// linux.sysctl: namespaced sysctls are applied inside the container's namespaces and leave the
// host's values alone; a sysctl of no namespace the container owns is refused by the runtime.
//  - ns.sysctl.namespaced_applied: net.* (network ns), kernel.shm* and fs.mqueue.* (ipc ns) read
//    back inside as set, while the host's files keep their values (the control: the values are
//    chosen to differ from the host's).
//  - ns.sysctl.host_sysctl_refused: vm.swappiness belongs to no namespace; the runtime must refuse
//    the container. It is asked for the host's current value, so even a runtime that wrongly
//    writes it changes nothing on the host.
#include <fmt/format.h>

#include <algorithm>

#include "common/files.hpp"
#include "conformance/ns/support.hpp"

namespace ctb::conformance::nscase {
namespace {

constexpr const char* kSysctlRef = "OCI runtime-spec config-linux.md#sysctl; sysctl(8); namespaces(7)";

std::string proc_sys(const std::string& key) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    return path;
}

std::string host_value(const std::string& key) { return trim(read_text(proc_sys(key))); }

// A value for `key` other than the host's, from two candidates.
std::string other_than_host(const std::string& key, const std::string& a, const std::string& b) {
    return host_value(key) == a ? b : a;
}

Verdict namespaced_applied(const CaseContext& ctx) {
    std::map<std::string, std::string> want{
        {"net.ipv4.ip_forward", other_than_host("net.ipv4.ip_forward", "1", "0")},
        {"net.ipv4.ping_group_range", other_than_host("net.ipv4.ping_group_range", "0\t4242", "0\t4243")},
        {"kernel.shmmni", other_than_host("kernel.shmmni", "1234", "1235")},
        {"fs.mqueue.msg_max", other_than_host("fs.mqueue.msg_max", "21", "22")},
    };
    std::map<std::string, std::string> host_before;
    for (const auto& [k, v] : want) host_before[k] = host_value(k);
    Containers cs(ctx);
    std::string script;
    for (const auto& [k, v] : want) script += fmt::format("echo \"{}=$(cat {})\"\n", k, proc_sys(k));
    spec::Spec s = shell_spec(script);
    s.linux.sysctl = want;
    auto run = cs.try_run(s);
    if (!run)  // the promise is that these are applied: a runtime that cannot is the bug looked for
        return Verdict::fail("the runtime did not run a container with namespaced sysctls: " + run.error().message(),
                             {{"set", want}, {"host_before", host_before}});
    const RunOutput& out = *run;
    json inside = json::object(), host_after = json::object();
    for (const auto& l : lines(out.out))
        if (auto eq = l.find('='); eq != std::string::npos) inside[l.substr(0, eq)] = l.substr(eq + 1);
    for (const auto& [k, v] : want) host_after[k] = host_value(k);
    json ev = {{"set", want}, {"inside", inside}, {"host_before", host_before}, {"host_after", host_after},
               {"status", out.status}};
    Checks c;
    for (const auto& [k, v] : want) {
        // /proc/sys prints ping_group_range with a tab; the shell's echo keeps it.
        c.expect(inside.value(k, "") == v, fmt::format("{} inside the container is not the value the spec set", k));
        c.expect(host_after[k] == host_before[k], fmt::format("the host's {} changed", k));
    }
    return c.verdict(ev);
}

Verdict host_sysctl_refused(const CaseContext& ctx) {
    const std::string key = "vm.swappiness";
    std::string before = host_value(key);
    Containers cs(ctx);
    spec::Spec s = shell_spec(fmt::format("cat {}", proc_sys(key)));
    s.linux.sysctl[key] = before;
    auto run = cs.try_run(s);
    json ev = {{"sysctl", {{key, before}}},
               {"runtime_result", run ? describe(*run) : json(run.error().message())},
               {"host_after", host_value(key)}};
    Checks c;
    c.expect(!run || run->status != 0,
             fmt::format("the runtime ran a container with {}, a sysctl of no namespace the container owns", key));
    c.expect(host_value(key) == before, "the host's " + key + " changed");
    return c.verdict(ev);
}

CTB_CONFORMANCE_CASE({
    .id = "ns.sysctl.namespaced_applied",
    .reference = kSysctlRef,
    .needs = container_needs(),
    .body = namespaced_applied,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.sysctl.host_sysctl_refused",
    .reference = kSysctlRef,
    .needs = container_needs(),
    .body = host_sysctl_refused,
});

}  // namespace
}  // namespace ctb::conformance::nscase
