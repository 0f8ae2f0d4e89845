// The network paths the veth benches measure in one run, each with a netbench server at its far
// end and a way to run the engine's client at its near end:
//   loopback         host namespace, 127.0.0.1 (the bare baseline: no veth, no bridge, no NAT)
//   netns-veth       two namespaces the bench creates, joined by its own veth pair (ctbnv*)
//   bridge           container to container over the runtime engine's default bridge (ctb0),
//                    both containers of the runtime under test
//   published-nat    host to a container through a published port: nftables DNAT
//   published-proxy  the same through the userland proxy of a network without NAT
// A path that cannot be built here (no nft NAT, runtime missing) is left out with its reason.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benches/start/fixture.hpp"
#include "benches/veth/lab.hpp"
#include "common/error.hpp"

namespace ctb::bench::veth {

// A link to count in the network tracer: resolved to (netns inode, ifindex) when the path is built.
struct WatchedLink {
    std::string label;
    std::uint32_t netns = 0;
    int ifindex = 0;
};

struct Path {
    std::string name;
    nlohmann::json context;  // what the path is made of
    // Runs `netbench-client MODE <far end> extra...` at the near end; its JSON document.
    std::function<Result<nlohmann::json>(const std::string& mode, const std::vector<std::string>& extra)> client;
    std::vector<WatchedLink> links;
    std::vector<std::uint32_t> namespaces;  // whose TCP retransmits count
};

// Everything the paths are made of; destroyed in reverse (containers, attachments, networks,
// namespaces, host servers, then the fixture's rootfs and directory).
class Lab {
public:
    static Result<std::unique_ptr<Lab>> build(const std::string& runtime);
    ~Lab();
    Lab(const Lab&) = delete;
    Lab& operator=(const Lab&) = delete;

    std::vector<Path> paths;
    std::vector<std::string> not_measured;  // "bridge: <why>"
    std::string agent;                      // host-side path of the static agent
    std::string runtime_exe;                // the runtime under test's CLI ("" if none)
    pid_t loopback_server() const;          // the loopback path's netbench server
    struct Parts;  // defined in paths.cpp: the objects behind the paths

private:
    Lab() = default;
    std::optional<Fixture> fixture_;
    std::unique_ptr<Parts> parts_;
};

}  // namespace ctb::bench::veth
