// Persistence of the network engine: one JSON file per network and per endpoint under
// /run/ctbench/networks, guarded by one flock, so that `ctbench-runtime delete` (another process)
// can detach what `create` attached, concurrent starts never share an address, and cleanup can
// find every leftover.
//   /run/ctbench/networks/.lock               the lock (flock, exclusive)
//   /run/ctbench/networks/<network>.json      Network (config + IPv4 leases)
//   /run/ctbench/networks/endpoints/<id>.json Attachment
//   /run/ctbench/networks/endpoints/<id>.hosts / .resolv   bind-mounted into the container
//   /run/ctbench/netns/<id>                   the pinned network namespace (a bind mount of nsfs)
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/network/engine.hpp"

namespace ctb::net::store {

inline constexpr const char* kNetworksDir = "/run/ctbench/networks";
inline constexpr const char* kEndpointsDir = "/run/ctbench/networks/endpoints";
inline constexpr const char* kNetnsDir = "/run/ctbench/netns";

std::string network_file(const std::string& name);
std::string endpoint_file(const std::string& id);
std::string hosts_file(const std::string& id);
std::string resolv_file(const std::string& id);
std::string netns_pin(const std::string& id);

// Network names follow container ids ([A-Za-z0-9][A-Za-z0-9_.-]{0,63}); "none" and "host" are
// modes, not networks.
Status validate_network_name(const std::string& name);

// The exclusive store lock. It is taken on a file that cleanup may unlink when the store becomes
// empty, so acquire() re-checks after locking that the path still names the locked inode.
class Lock {
public:
    static Result<Lock> acquire(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Removes the lock file and the store directories when no network and no endpoint is left
    // (everything the project created disappears with its last user). Call while holding.
    void remove_store_if_empty();
    int fd() const { return fd_.get(); }

private:
    explicit Lock(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

bool store_exists();

Result<std::vector<Network>> load_networks();
Result<std::optional<Network>> load_network(const std::string& name);
Status save_network(const Network& network);
Status remove_network_file(const std::string& name);

Result<std::vector<Attachment>> load_endpoints();
Result<std::optional<Attachment>> load_endpoint(const std::string& id);
Status save_endpoint(const Attachment& attachment);
// The record and its generated files; absent files are fine.
Status remove_endpoint_files(const std::string& id);

}  // namespace ctb::net::store
