// The -p / --expose syntax, as Docker accepts it, and how mappings are printed (`docker port`).
#include <arpa/inet.h>

#include <charconv>
#include <fmt/format.h>

#include "runtime/network/engine.hpp"
#include "runtime/network/rtnl.hpp"

namespace ctb::net {
namespace {

Error bad(std::string_view text, std::string why) {
    return plain_error("parse port spec", std::string(text), std::move(why));
}

Result<std::uint16_t> parse_port(std::string_view whole, std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535)
        return fail(bad(whole, fmt::format("\"{}\" is not a port number (1-65535)", text)));
    return static_cast<std::uint16_t>(value);
}

// "80" or "8000-8010".
Result<PortRange> parse_range(std::string_view whole, std::string_view text) {
    auto dash = text.find('-');
    auto first = parse_port(whole, text.substr(0, dash));
    if (!first) return fail(first.error());
    if (dash == std::string_view::npos) return PortRange{*first, *first};
    auto last = parse_port(whole, text.substr(dash + 1));
    if (!last) return fail(last.error());
    if (*last < *first) return fail(bad(whole, fmt::format("range {} ends before it starts", text)));
    return PortRange{*first, *last};
}

// Splits off "/tcp" or "/udp" (tcp when absent).
Result<std::string> take_protocol(std::string_view whole, std::string_view& text) {
    auto slash = text.rfind('/');
    if (slash == std::string_view::npos) return std::string("tcp");
    std::string proto(text.substr(slash + 1));
    text = text.substr(0, slash);
    if (proto != "tcp" && proto != "udp") return fail(bad(whole, "protocol must be tcp or udp, not \"" + proto + "\""));
    return proto;
}

// Canonical text of an address (so "::0001" and "::1" compare equal later).
Result<std::string> canonical_ip(std::string_view whole, std::string_view text) {
    auto ip = parse_ip(text);
    if (!ip) return fail(bad(whole, fmt::format("\"{}\" is not an IP address", text)));
    char out[INET6_ADDRSTRLEN] = "";
    ::inet_ntop(ip->family, ip->bytes.data(), out, sizeof out);
    return std::string(out);
}

// "[::1]:8080:80" -> host_ip "::1", rest "8080:80"; "127.0.0.1:8080:80" -> "127.0.0.1", "8080:80".
Result<std::pair<std::string, std::string_view>> take_host_ip(std::string_view whole, std::string_view text) {
    if (text.starts_with('[')) {
        auto close = text.find("]:");
        if (close == std::string_view::npos) return fail(bad(whole, "an IPv6 address in [] must be followed by ':'"));
        auto ip = canonical_ip(whole, text.substr(1, close - 1));
        if (!ip) return fail(ip.error());
        return std::pair{*ip, text.substr(close + 2)};
    }
    auto colons = std::count(text.begin(), text.end(), ':');
    if (colons > 2) return fail(bad(whole, "put an IPv6 host address in brackets: [::1]:8080:80"));
    if (colons < 2) return std::pair{std::string(), text};
    auto first = text.find(':');
    auto ip = canonical_ip(whole, text.substr(0, first));
    if (!ip) return fail(ip.error());
    return std::pair{*ip, text.substr(first + 1)};
}

}  // namespace

std::string to_string(ProxyMode mode) { return mode == ProxyMode::nat ? "nat" : "userland"; }

Result<PortRequest> parse_publish(std::string_view text) {
    std::string_view rest = text;
    PortRequest r;
    auto proto = take_protocol(text, rest);
    if (!proto) return fail(proto.error());
    r.protocol = *proto;
    auto ip = take_host_ip(text, rest);
    if (!ip) return fail(ip.error());
    r.host_ip = ip->first;
    rest = ip->second;
    auto colon = rest.find(':');
    if (colon != std::string_view::npos) {
        if (colon > 0) {  // "127.0.0.1::80" leaves the host port empty: a random one
            auto host = parse_range(text, rest.substr(0, colon));
            if (!host) return fail(host.error());
            r.host = *host;
        }
        rest = rest.substr(colon + 1);
    }
    auto container = parse_range(text, rest);
    if (!container) return fail(container.error());
    r.container = *container;
    if (r.host.given() && r.host.size() != r.container.size() && r.container.size() != 1)
        return fail(bad(text, "host and container port ranges must have the same length"));
    return r;
}

Result<PortRequest> parse_expose(std::string_view text) {
    std::string_view rest = text;
    PortRequest r;
    auto proto = take_protocol(text, rest);
    if (!proto) return fail(proto.error());
    r.protocol = *proto;
    auto container = parse_range(text, rest);
    if (!container) return fail(container.error());
    r.container = *container;
    return r;
}

std::string to_string(const PortMapping& m) {
    bool v6 = m.host_ip.find(':') != std::string::npos;
    return fmt::format("{}/{} -> {}{}{}:{}", m.container_port, m.protocol, v6 ? "[" : "", m.host_ip, v6 ? "]" : "",
                       m.host_port);
}

}  // namespace ctb::net
