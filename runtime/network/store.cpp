// Network engine state on disk (see store.hpp for the layout).
#include "runtime/network/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/deadline.hpp"
#include "common/files.hpp"

namespace ctb::net {

NLOHMANN_JSON_SERIALIZE_ENUM(ProxyMode, {{ProxyMode::nat, "nat"}, {ProxyMode::userland, "userland"}})
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PortMapping, protocol, host_ip, host_port, container_ip,
                                                container_port)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ProxyProcess, pid, start_time)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Network, name, bridge, subnet4, gateway4, subnet6, gateway6,
                                                proxy, builtin, leases, owner)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Attachment, container_id, network, mode, netns_path, bridge,
                                                host_link, address4, address6, gateway4, gateway6, hostname,
                                                names, ports, proxy, proxies, hosts_file, resolv_file, notes,
                                                complete, owner)

namespace store {
namespace {

namespace fs = std::filesystem;
const std::string kLockFile = std::string(kNetworksDir) + "/.lock";

bool valid_name(const std::string& name) {
    static const std::regex valid("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    return std::regex_match(name, valid);
}

// Write-then-rename: a reader, or a SIGKILL halfway, never sees half a record.
Status write_atomic(const std::string& path, const std::string& content) {
    std::string tmp = path + ".tmp";
    if (auto w = write_file(tmp, content); !w) return w;
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(sys_error("rename", tmp));
    return {};
}

template <class T>
Result<std::optional<T>> load_json(const std::string& path) {
    auto text = read_file(path);
    if (!text) {
        if (text.error().err == ENOENT) return std::optional<T>{};
        return fail(text.error());
    }
    try {
        return std::optional<T>(nlohmann::json::parse(*text).get<T>());
    } catch (const nlohmann::json::exception& e) {
        return fail(plain_error("parse", path, e.what()));
    }
}

Status remove_file(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail(sys_error("remove", path));
    return {};
}

// Entries of `dir` named *.json (not the .tmp of a record being written), without the suffix.
std::vector<std::string> json_names(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename();
        if (e.is_regular_file() && name.ends_with(".json")) out.push_back(name.substr(0, name.size() - 5));
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool same_inode(int fd, const std::string& path) {
    struct stat held {}, named {};
    return ::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
           held.st_dev == named.st_dev;
}

// One attempt: open (creating the directories), try the lock, check it is still the live file.
Result<std::optional<UniqueFd>> try_lock() {
    if (auto d = make_dirs(kEndpointsDir, 0700); !d) return fail(d.error());
    UniqueFd fd(::open(kLockFile.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return fail(sys_error("open lock", kLockFile));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK || errno == EINTR) return std::optional<UniqueFd>{};
        return fail(sys_error("flock", kLockFile));
    }
    if (!same_inode(fd.get(), kLockFile)) return std::optional<UniqueFd>{};  // removed meanwhile: retry
    return std::optional<UniqueFd>(std::move(fd));
}

}  // namespace

std::string network_file(const std::string& name) { return std::string(kNetworksDir) + "/" + name + ".json"; }
std::string endpoint_file(const std::string& id) { return std::string(kEndpointsDir) + "/" + id + ".json"; }
std::string hosts_file(const std::string& id) { return std::string(kEndpointsDir) + "/" + id + ".hosts"; }
std::string resolv_file(const std::string& id) { return std::string(kEndpointsDir) + "/" + id + ".resolv"; }
std::string netns_pin(const std::string& id) { return std::string(kNetnsDir) + "/" + id; }

Status validate_network_name(const std::string& name) {
    if (!valid_name(name))
        return fail(plain_error("network name", "'" + name + "'",
                                "must match [A-Za-z0-9][A-Za-z0-9_.-]* and be at most 64 characters"));
    if (name == "none" || name == "host")
        return fail(plain_error("network name", name, "is a network mode, not a network"));
    return {};
}

Result<Lock> Lock::acquire(std::chrono::milliseconds timeout) {
    std::optional<Error> error;
    UniqueFd held;
    bool got = retry_until(Deadline(timeout), [&] {
        auto attempt = try_lock();
        if (!attempt) error = attempt.error();
        else if (*attempt) held = std::move(**attempt);
        return error.has_value() || held;
    });
    if (error) return fail(*error);
    if (!got) return fail(plain_error("lock", kLockFile, "another ctbench network operation holds it"));
    return Lock(std::move(held));
}

void Lock::remove_store_if_empty() {
    if (!json_names(kNetworksDir).empty() || !json_names(kEndpointsDir).empty()) return;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(kEndpointsDir, ec)) fs::remove(e.path(), ec);  // stray .tmp
    ::rmdir(kEndpointsDir);
    // Unlinked while we hold it: a waiter that opened the old file notices and retries.
    ::unlink(kLockFile.c_str());
    ::rmdir(kNetworksDir);
    ::rmdir(kNetnsDir);  // only when empty: a pin still there is a leftover for cleanup to see
}

bool store_exists() { return ::access(kNetworksDir, F_OK) == 0; }

Result<std::vector<Network>> load_networks() {
    std::vector<Network> out;
    for (const auto& name : json_names(kNetworksDir)) {
        auto n = load_json<Network>(network_file(name));
        if (!n) return fail(n.error());
        if (*n) out.push_back(**n);
    }
    return out;
}

Result<std::optional<Network>> load_network(const std::string& name) {
    if (auto v = validate_network_name(name); !v) return fail(v.error());
    return load_json<Network>(network_file(name));
}

Status save_network(const Network& network) {
    return write_atomic(network_file(network.name), nlohmann::json(network).dump(2) + "\n");
}

Status remove_network_file(const std::string& name) { return remove_file(network_file(name)); }

Result<std::vector<Attachment>> load_endpoints() {
    std::vector<Attachment> out;
    for (const auto& id : json_names(kEndpointsDir)) {
        auto a = load_json<Attachment>(endpoint_file(id));
        if (!a) return fail(a.error());
        if (*a) out.push_back(**a);
    }
    return out;
}

Result<std::optional<Attachment>> load_endpoint(const std::string& id) {
    if (!valid_name(id)) return fail(plain_error("container id", "'" + id + "'", "is not a valid id"));
    return load_json<Attachment>(endpoint_file(id));
}

Status save_endpoint(const Attachment& attachment) {
    return write_atomic(endpoint_file(attachment.container_id), nlohmann::json(attachment).dump(2) + "\n");
}

Status remove_endpoint_files(const std::string& id) {
    for (const auto& path : {hosts_file(id), resolv_file(id), endpoint_file(id) + ".tmp", endpoint_file(id)})
        if (auto r = remove_file(path); !r) return r;
    return {};
}

}  // namespace store
}  // namespace ctb::net
