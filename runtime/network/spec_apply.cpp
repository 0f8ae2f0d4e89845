// apply_to_spec: how an attachment reaches a container, for any OCI runtime. Joining a network
// namespace by path (linux.namespaces[network].path) is plain OCI, so runc and crun attach the
// same way the reference runtime does.
#include <unistd.h>

#include <algorithm>

#include "runtime/network/engine.hpp"

namespace ctb::net {
namespace {

bool has_mount_at(const spec::Spec& spec, const std::string& destination) {
    return std::any_of(spec.mounts.begin(), spec.mounts.end(),
                       [&](const spec::Mount& m) { return m.destination == destination; });
}

// A mount the bundle already has at that path wins, as a `-v /etc/hosts` does with Docker.
void bind_file(spec::Spec& spec, const std::string& source, const std::string& destination, bool readonly) {
    if (source.empty() || has_mount_at(spec, destination) || ::access(source.c_str(), F_OK) != 0) return;
    std::vector<std::string> options{"bind", "nosuid", "nodev", "noexec"};
    if (readonly) options.push_back("ro");
    spec.mounts.push_back({destination, "bind", source, options});
}

}  // namespace

Status apply_to_spec(const Attachment& a, spec::Spec& spec) {
    auto& namespaces = spec.linux.namespaces;
    auto is_net = [](const spec::Namespace& n) { return n.type == "network" || n.type == "net"; };
    if (a.mode == "host") {
        std::erase_if(namespaces, is_net);
        // The host's own files, read-only: a container must not rewrite the host's name service.
        bind_file(spec, "/etc/hosts", "/etc/hosts", true);
        bind_file(spec, "/etc/resolv.conf", "/etc/resolv.conf", true);
        return {};
    }
    if (a.netns_path.empty())
        return fail(plain_error("apply network to spec", a.container_id, "the attachment has no network namespace"));
    auto it = std::find_if(namespaces.begin(), namespaces.end(), is_net);
    if (it == namespaces.end()) namespaces.push_back({"network", a.netns_path});
    else it->path = a.netns_path;
    // The hostname needs a UTS namespace of the container's own; without one, leave it alone.
    if (!a.hostname.empty() && spec.has_namespace("uts")) spec.hostname = a.hostname;
    // Writable, as Docker's: peers are added by rewriting the file from the host side.
    bind_file(spec, a.hosts_file, "/etc/hosts", false);
    bind_file(spec, a.resolv_file, "/etc/resolv.conf", false);
    return {};
}

}  // namespace ctb::net
