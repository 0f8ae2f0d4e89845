#include "netlab.hpp"

#include <cstdlib>
#include <stdexcept>

namespace netlab {
namespace {

template <class T>
T must(ctb::Result<T> r) {
    if (!r) throw std::runtime_error(r.error().message());
    return std::move(*r);
}
void must(ctb::Status s) {
    if (!s) throw std::runtime_error(s.error().message());
}

}  // namespace

std::string agent_path() {
    const char* p = std::getenv("CTBENCH_AGENT");
    if (!p) throw std::runtime_error("CTBENCH_AGENT is not set");
    return p;
}

Outcome agent_in(const std::string& ns_path, const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    return ctb::net::testbed::run_agent(agent_path(), ns_path, args, timeout);
}

pid_t start_server(const std::string& ns_path, const std::vector<std::string>& args) {
    return must(ctb::net::testbed::start_agent_server(agent_path(), ns_path, args));
}

std::vector<std::string> engine_links() { return must(ctb::net::testbed::engine_links()); }

void RemoteHost::up() { host_.emplace(must(ctb::net::testbed::RemoteHost::create({kRemoteLink, kHostAddr, kRemoteAddr}))); }
void RemoteHost::route_loopback_to_host() { must(host_->route_loopback_to_host()); }
void RemoteHost::route_containers_via_host() { must(host_->route_containers_via_host()); }

}  // namespace netlab
