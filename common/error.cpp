#include "common/error.hpp"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace ctb {

std::string errno_name(int err) {
    if (const char* name = strerrorname_np(err)) return name;
    return fmt::format("errno {}", err);
}

std::string Error::message() const {
    std::string out = step;
    if (!object.empty()) out += fmt::format(" {}", object);
    if (err != 0 || !detail.empty()) out += ":";
    if (err != 0) out += fmt::format(" {} ({})", errno_name(err), std::strerror(err));
    if (!detail.empty()) out += fmt::format("{}{}", err != 0 ? "; " : " ", detail);
    return out;
}

Error sys_error(std::string step, std::string object) {
    return sys_error(std::move(step), std::move(object), errno);
}

Error sys_error(std::string step, std::string object, int err) {
    return Error{std::move(step), std::move(object), err, {}};
}

Error plain_error(std::string step, std::string object, std::string detail) {
    return Error{std::move(step), std::move(object), 0, std::move(detail)};
}

}  // namespace ctb
