// The address of a unix socket named by a filesystem path. Each caller words its own error for a
// path that does not fit (the field or socket it names differs), so this only says whether it does.
#pragma once

#include <sys/un.h>

#include <cstring>
#include <optional>
#include <string>

namespace ctb {

// nullopt when the path (with its terminating NUL) is longer than sun_path.
inline std::optional<sockaddr_un> unix_socket_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return std::nullopt;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

}  // namespace ctb
