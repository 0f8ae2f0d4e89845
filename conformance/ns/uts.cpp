// UTS namespaces: the container gets the hostname its spec names, and its own changes stay inside.
#include <unistd.h>

#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/ns/support.hpp"

namespace ctb::conformance::nscase {
namespace {

// Puts the host's hostname back if a broken namespace let the container change it.
class HostnameGuard {
public:
    explicit HostnameGuard(std::string name) : name_(std::move(name)) {}
    ~HostnameGuard() {
        auto now = read_file("/proc/sys/kernel/hostname");
        if (now && trim(*now) != name_) (void)::sethostname(name_.data(), name_.size());
    }

private:
    std::string name_;
};

Verdict hostname_isolated(const CaseContext& ctx) {
    std::string host_before = trim(read_text("/proc/sys/kernel/hostname"));
    HostnameGuard restore(host_before);
    std::string configured = "ctb-uts-" + short_token();
    std::string changed = "ctb-set-" + short_token();
    Containers cs(ctx);
    spec::Spec s = agent({"sleep", "30"});
    s.hostname = configured;
    add_capabilities(s, {"CAP_SYS_ADMIN"});  // sethostname(2) needs it over the uts namespace
    auto c = cs.start(s);
    json first = agent_json(must_exec(*c, {kAgent, "info"}), "agent info");
    std::string host_during = trim(read_text("/proc/sys/kernel/hostname"));
    json set = agent_json(must_exec(*c, {kAgent, "sethostname", changed}), "agent sethostname");
    json second = agent_json(must_exec(*c, {kAgent, "info"}), "agent info");
    std::string host_after = trim(read_text("/proc/sys/kernel/hostname"));
    char uname_host[256] = "";
    ::gethostname(uname_host, sizeof uname_host - 1);
    json ev = {{"configured", configured},
               {"inside_at_start", first["hostname"]},
               {"sethostname", set},
               {"inside_after_set", second["hostname"]},
               {"host_before", host_before},
               {"host_while_running", host_during},
               {"host_after_set", host_after},
               {"host_gethostname", uname_host},
               {"uts_ns_inside", first["namespaces"]["uts"]},
               {"uts_ns_host", own_ns_inode("uts")}};
    if (first["hostname"] != configured) return Verdict::fail("the container's hostname is not the configured one", ev);
    if (host_during != host_before) return Verdict::fail("starting the container changed the host's hostname", ev);
    if (set.value("ok", false) != true) return Verdict::fail("the container could not set its own hostname", ev);
    if (second["hostname"] != changed)
        return Verdict::fail("sethostname inside did not change the container's hostname", ev);
    if (host_after != host_before || std::string(uname_host) != host_before)
        return Verdict::fail("the container's sethostname changed the host's hostname", ev);
    return Verdict::pass(ev);
}

CTB_CONFORMANCE_CASE({
    .id = "ns.uts.hostname_isolated",
    .reference = "uts_namespaces(7); OCI runtime-spec config.md#hostname",
    .needs = container_needs(),
    .body = hostname_isolated,
});

}  // namespace
}  // namespace ctb::conformance::nscase
