// rtnetlink through libmnl. Why libmnl rather than libnl or hand-rolled netlink: it is small, it
// is already on every host we build for (libnftables depends on it), and it only frames messages,
// so every attribute we send is one we wrote here, exactly as rtnetlink(7) documents it.
#include "runtime/network/rtnl.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <fmt/format.h>

namespace ctb::net {
namespace {

// A dump part is at most 32 KiB (the kernel's largest netlink skb for dumps); twice that is safe.
constexpr std::size_t kRecvBufferSize = 64 * 1024;

// One request under construction. Our requests are a few hundred bytes; 4 KiB leaves room.
class Request {
public:
    Request(uint16_t type, uint16_t flags) {
        nlmsghdr* h = mnl_nlmsg_put_header(buf_);
        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | flags;
    }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    nlmsghdr* nlh() { return reinterpret_cast<nlmsghdr*>(buf_); }
    // The fixed family header (ifinfomsg, ifaddrmsg, rtmsg), zeroed by libmnl.
    template <class T>
    T* header() {
        return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh(), sizeof(T)));
    }

private:
    alignas(8) char buf_[4096]{};
};

// A link request addressed by name: with ifi_index 0 the kernel looks the link up by IFLA_IFNAME,
// which saves a round trip and keeps the lookup and the change in one atomic request.
ifinfomsg* start_link(Request& rq, const std::string& name) {
    auto* ifi = rq.header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(rq.nlh(), IFLA_IFNAME, name.c_str());
    return ifi;
}

// ---- reply parsing --------------------------------------------------------------------------

struct AttrTable {
    std::vector<const nlattr*> tb;
    explicit AttrTable(int max) : tb(static_cast<std::size_t>(max) + 1, nullptr) {}
    const nlattr* operator[](int type) const { return tb[static_cast<std::size_t>(type)]; }
};

int collect_attr(const nlattr* attr, void* data) {
    auto* table = static_cast<AttrTable*>(data);
    // Attributes newer than our headers are skipped, not errors.
    if (mnl_attr_type_valid(attr, static_cast<uint16_t>(table->tb.size() - 1)) < 0) return MNL_CB_OK;
    table->tb[mnl_attr_get_type(attr)] = attr;
    return MNL_CB_OK;
}

std::string attr_str(const nlattr* attr) {
    if (!attr || mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) return {};
    return mnl_attr_get_str(attr);
}

uint32_t attr_u32(const nlattr* attr) {
    if (!attr || mnl_attr_validate(attr, MNL_TYPE_U32) < 0) return 0;
    return mnl_attr_get_u32(attr);
}

LinkInfo parse_link(const nlmsghdr* nlh) {
    const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    AttrTable tb(IFLA_MAX);
    mnl_attr_parse(nlh, sizeof(ifinfomsg), collect_attr, &tb);
    LinkInfo info;
    info.index = ifi->ifi_index;
    info.up = (ifi->ifi_flags & IFF_UP) != 0;
    info.name = attr_str(tb[IFLA_IFNAME]);
    info.mtu = attr_u32(tb[IFLA_MTU]);
    info.master = static_cast<int>(attr_u32(tb[IFLA_MASTER]));
    if (tb[IFLA_LINKINFO]) {
        AttrTable li(IFLA_INFO_MAX);
        mnl_attr_parse_nested(tb[IFLA_LINKINFO], collect_attr, &li);
        info.kind = attr_str(li[IFLA_INFO_KIND]);
    }
    return info;
}

// ---- the ACK protocol -----------------------------------------------------------------------

struct Exchange {
    const std::function<void(const nlmsghdr*)>* on_reply = nullptr;
    int error = 0;               // errno from NLMSG_ERROR / NLMSG_DONE
    std::string kernel_message;  // NLMSGERR_ATTR_MSG: the kernel's reason, when it gives one
};

int on_data(const nlmsghdr* nlh, void* data) {
    auto* ex = static_cast<Exchange*>(data);
    if (ex->on_reply && *ex->on_reply) (*ex->on_reply)(nlh);
    return MNL_CB_OK;
}

// Extended ACK attributes follow the echoed request (or only its header, when capped).
std::string extack_message(const nlmsghdr* nlh, const nlmsgerr* err) {
    std::size_t offset = sizeof(nlmsgerr);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
    AttrTable tb(NLMSGERR_ATTR_MAX);
    mnl_attr_parse(nlh, static_cast<unsigned>(offset), collect_attr, &tb);
    return attr_str(tb[NLMSGERR_ATTR_MSG]);
}

int on_error(const nlmsghdr* nlh, void* data) {
    auto* ex = static_cast<Exchange*>(data);
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
        ex->error = EBADMSG;
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    if (err->error == 0) return MNL_CB_STOP;  // the ACK
    ex->error = -err->error;
    if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) ex->kernel_message = extack_message(nlh, err);
    errno = ex->error;
    return MNL_CB_ERROR;
}

// A dump ends with NLMSG_DONE, whose payload is an error code when the dump failed midway.
int on_done(const nlmsghdr* nlh, void* data) {
    auto* ex = static_cast<Exchange*>(data);
    if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
        int code = *static_cast<const int*>(mnl_nlmsg_get_payload(nlh));
        if (code < 0) {
            ex->error = -code;
            errno = -code;
            return MNL_CB_ERROR;
        }
    }
    return MNL_CB_STOP;
}

// A lookup inside a larger operation fails as that operation: "add address X to ctb0: ENODEV",
// not "get link ctb0"; the looked-up link is named in the detail when it is another one.
Error as_step(Error e, const std::string& step, const std::string& object) {
    if (e.object != object)
        e.detail = fmt::format("looking up link {}{}{}", e.object, e.detail.empty() ? "" : ": ", e.detail);
    e.step = step;
    e.object = object;
    return e;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

// ---- names and addresses --------------------------------------------------------------------

Status validate_link_name(std::string_view name, std::string_view argument, std::string_view step) {
    auto bad = [&](std::string why) {
        return fail(plain_error(std::string(step), std::string(argument),
                                fmt::format("link name \"{}\" {}", name, why)));
    };
    if (name.empty()) return bad("is empty");
    if (name.size() >= IFNAMSIZ)
        return bad(fmt::format("is {} characters, more than {} (IFNAMSIZ - 1)", name.size(), IFNAMSIZ - 1));
    if (name == "." || name == "..") return bad("is reserved");
    for (char c : name)
        if (c == '/' || c == ':' || is_space(c)) return bad("contains '/', ':' or whitespace");
    return {};
}

std::size_t IpPrefix::size() const { return family == AF_INET ? 4 : 16; }

Result<IpPrefix> parse_ip(std::string_view text) {
    std::string s(text);
    IpPrefix p;
    if (::inet_pton(AF_INET, s.c_str(), p.bytes.data()) == 1) {
        p.family = AF_INET;
        p.prefix_len = 32;
        return p;
    }
    if (::inet_pton(AF_INET6, s.c_str(), p.bytes.data()) == 1) {
        p.family = AF_INET6;
        p.prefix_len = 128;
        return p;
    }
    return fail(plain_error("parse IP address", s, "not an IPv4 or IPv6 address"));
}

Result<IpPrefix> parse_cidr(std::string_view text) {
    std::string s(text);
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return fail(plain_error("parse CIDR", s, "missing /prefix-length"));
    auto ip = parse_ip(text.substr(0, slash));
    if (!ip) return fail(plain_error("parse CIDR", s, ip.error().detail));
    int len = -1;
    std::string_view digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    int max = ip->family == AF_INET ? 32 : 128;
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() || len < 0 || len > max)
        return fail(plain_error("parse CIDR", s, fmt::format("prefix length must be 0..{}", max)));
    ip->prefix_len = len;
    return ip;
}

// ---- Rtnl -----------------------------------------------------------------------------------

void Rtnl::SocketCloser::operator()(mnl_socket* s) const {
    if (s) mnl_socket_close(s);
}

Rtnl::Rtnl(std::unique_ptr<mnl_socket, SocketCloser> sock, unsigned portid)
    : sock_(std::move(sock)), portid_(portid), recv_buf_(kRecvBufferSize) {}
Rtnl::Rtnl(Rtnl&&) noexcept = default;
Rtnl& Rtnl::operator=(Rtnl&&) noexcept = default;
Rtnl::~Rtnl() = default;

Result<Rtnl> Rtnl::open(std::optional<int> netns_fd) {
    std::unique_ptr<mnl_socket, SocketCloser> sock;
    auto make = [&sock]() -> Status {
        sock.reset(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
        if (!sock) return fail(sys_error("open rtnetlink socket"));
        return {};
    };
    if (Status st = netns_fd ? in_netns(*netns_fd, make) : make(); !st) return fail(st.error());
    // Best effort: older kernels lack these. EXT_ACK gives the kernel's reason for a failure;
    // CAP_ACK stops it echoing our whole request back with every error.
    int one = 1;
    mnl_socket_setsockopt(sock.get(), NETLINK_EXT_ACK, &one, sizeof one);
    mnl_socket_setsockopt(sock.get(), NETLINK_CAP_ACK, &one, sizeof one);
    if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return fail(sys_error("bind rtnetlink socket"));
    unsigned portid = mnl_socket_get_portid(sock.get());
    return Rtnl(std::move(sock), portid);
}

Status Rtnl::talk(nlmsghdr* request, std::string_view step, const std::string& object,
                  const OnReply& on_reply) {
    request->nlmsg_seq = ++seq_;
    if (mnl_socket_sendto(sock_.get(), request, request->nlmsg_len) < 0)
        return fail(sys_error(std::string(step), object));
    Exchange ex{&on_reply, 0, {}};
    mnl_cb_t control[NLMSG_MIN_TYPE] = {};
    control[NLMSG_ERROR] = on_error;
    control[NLMSG_DONE] = on_done;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_.get(), recv_buf_.data(), recv_buf_.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(sys_error(std::string(step), object));
        int rc = mnl_cb_run2(recv_buf_.data(), static_cast<std::size_t>(n), seq_, portid_, on_data, &ex,
                             control, NLMSG_MIN_TYPE);
        if (rc == MNL_CB_ERROR) {
            Error e = sys_error(std::string(step), object, ex.error != 0 ? ex.error : errno);
            if (!ex.kernel_message.empty()) e.detail = "kernel says: " + ex.kernel_message;
            return fail(std::move(e));
        }
        if (rc == MNL_CB_STOP) return {};
    }
}

Status Rtnl::create_bridge(const std::string& name) {
    if (auto ok = validate_link_name(name, "name", "create bridge"); !ok) return ok;
    Request rq(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    start_link(rq, name);
    nlattr* linkinfo = mnl_attr_nest_start(rq.nlh(), IFLA_LINKINFO);
    mnl_attr_put_strz(rq.nlh(), IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(rq.nlh(), linkinfo);
    return talk(rq.nlh(), "create bridge", name);
}

Status Rtnl::create_veth(const std::string& name, const std::string& peer_name,
                         std::optional<int> peer_netns_fd) {
    if (auto ok = validate_link_name(name, "name", "create veth"); !ok) return ok;
    if (auto ok = validate_link_name(peer_name, "peer_name", "create veth"); !ok) return ok;
    Request rq(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    nlmsghdr* nlh = rq.nlh();
    start_link(rq, name);
    nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    // VETH_INFO_PEER carries a whole link description: its own ifinfomsg, then attributes.
    nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg));
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name.c_str());
    if (peer_netns_fd) mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(*peer_netns_fd));
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    return talk(nlh, "create veth", name);
}

Status Rtnl::delete_link(const std::string& name) {
    if (auto ok = validate_link_name(name, "name", "delete link"); !ok) return ok;
    Request rq(RTM_DELLINK, NLM_F_ACK);
    start_link(rq, name);
    Status st = talk(rq.nlh(), "delete link", name);
    if (!st && st.error().err == ENODEV) return {};  // already gone: that is what we wanted
    return st;
}

Result<LinkInfo> Rtnl::link_info(const std::string& name) {
    if (auto ok = validate_link_name(name, "name", "get link"); !ok) return fail(ok.error());
    Request rq(RTM_GETLINK, NLM_F_ACK);
    start_link(rq, name);
    std::optional<LinkInfo> found;
    auto st = talk(rq.nlh(), "get link", name, [&found](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type == RTM_NEWLINK) found = parse_link(nlh);
    });
    if (!st) return fail(st.error());
    if (!found) return fail(plain_error("get link", name, "kernel acknowledged without a link message"));
    return *found;
}

Result<int> Rtnl::link_index(const std::string& name) {
    auto info = link_info(name);
    if (!info) return fail(info.error());
    return info->index;
}

Result<std::vector<std::string>> Rtnl::list_links() {
    // A dump is answered by NLMSG_DONE rather than an ACK; on_done checks its error code.
    Request rq(RTM_GETLINK, NLM_F_DUMP);
    rq.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    std::vector<std::string> names;
    auto st = talk(rq.nlh(), "list links", "", [&names](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type == RTM_NEWLINK) names.push_back(parse_link(nlh).name);
    });
    if (!st) return fail(st.error());
    return names;
}

Status Rtnl::set_link_up(const std::string& name, bool up) {
    const char* step = up ? "set link up" : "set link down";
    if (auto ok = validate_link_name(name, "name", step); !ok) return ok;
    Request rq(RTM_SETLINK, NLM_F_ACK);
    ifinfomsg* ifi = start_link(rq, name);
    ifi->ifi_change = IFF_UP;  // only this flag changes; the others keep their value
    ifi->ifi_flags = up ? IFF_UP : 0;
    return talk(rq.nlh(), step, name);
}

Status Rtnl::set_mtu(const std::string& name, unsigned mtu) {
    if (auto ok = validate_link_name(name, "name", "set mtu"); !ok) return ok;
    Request rq(RTM_SETLINK, NLM_F_ACK);
    start_link(rq, name);
    mnl_attr_put_u32(rq.nlh(), IFLA_MTU, mtu);
    return talk(rq.nlh(), "set mtu", name);
}

Status Rtnl::set_master(const std::string& name, const std::string& bridge) {
    if (auto ok = validate_link_name(name, "name", "set master"); !ok) return ok;
    if (auto ok = validate_link_name(bridge, "bridge", "set master"); !ok) return ok;
    const std::string step = "set master " + bridge + " of";
    auto bridge_index = link_index(bridge);
    if (!bridge_index) return fail(as_step(bridge_index.error(), step, name));
    Request rq(RTM_SETLINK, NLM_F_ACK);
    start_link(rq, name);
    mnl_attr_put_u32(rq.nlh(), IFLA_MASTER, static_cast<uint32_t>(*bridge_index));
    return talk(rq.nlh(), step, name);
}

Status Rtnl::set_hairpin(const std::string& name, bool on) {
    const std::string step = "set hairpin mode of";
    if (auto ok = validate_link_name(name, "name", step); !ok) return ok;
    auto index = link_index(name);
    if (!index) return fail(as_step(index.error(), step, name));
    // Bridge port attributes go to the AF_BRIDGE handler, nested in IFLA_PROTINFO.
    Request rq(RTM_SETLINK, NLM_F_ACK);
    auto* ifi = rq.header<ifinfomsg>();
    ifi->ifi_family = AF_BRIDGE;
    ifi->ifi_index = *index;
    nlattr* info = mnl_attr_nest_start(rq.nlh(), IFLA_PROTINFO);
    mnl_attr_put_u8(rq.nlh(), IFLA_BRPORT_MODE, on ? 1 : 0);
    mnl_attr_nest_end(rq.nlh(), info);
    return talk(rq.nlh(), step, name);
}

Status Rtnl::move_to_netns(const std::string& name, int netns_fd) {
    if (auto ok = validate_link_name(name, "name", "move link to netns"); !ok) return ok;
    Request rq(RTM_SETLINK, NLM_F_ACK);
    start_link(rq, name);
    mnl_attr_put_u32(rq.nlh(), IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
    return talk(rq.nlh(), "move link to netns", name);
}

Status Rtnl::add_address(const std::string& name, const std::string& cidr) {
    const std::string step = "add address " + cidr + " to";
    if (auto ok = validate_link_name(name, "name", step); !ok) return ok;
    auto prefix = parse_cidr(cidr);
    if (!prefix) return fail(plain_error(step, name, prefix.error().message()));
    auto index = link_index(name);
    if (!index) return fail(as_step(index.error(), step, name));
    Request rq(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    auto* ifa = rq.header<ifaddrmsg>();
    ifa->ifa_family = static_cast<uint8_t>(prefix->family);
    ifa->ifa_prefixlen = static_cast<uint8_t>(prefix->prefix_len);
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<uint32_t>(*index);
    auto len = static_cast<uint16_t>(prefix->size());
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer (same on non-p2p links).
    mnl_attr_put(rq.nlh(), IFA_LOCAL, len, prefix->bytes.data());
    mnl_attr_put(rq.nlh(), IFA_ADDRESS, len, prefix->bytes.data());
    if (prefix->family == AF_INET6) mnl_attr_put_u32(rq.nlh(), IFA_FLAGS, IFA_F_NODAD);
    return talk(rq.nlh(), step, name);
}

Status Rtnl::add_route(const std::string& destination, const std::string& gateway, const std::string& dev) {
    const std::string step = "add route " + destination + " via " + gateway + (dev.empty() ? "" : " dev");
    auto via = parse_ip(gateway);
    if (!via) return fail(plain_error(step, "gateway", via.error().message()));
    IpPrefix dst;
    if (destination == "default") {
        dst.family = via->family;  // bytes stay zero, prefix 0
    } else {
        auto parsed = parse_cidr(destination);
        if (!parsed) return fail(plain_error(step, "destination", parsed.error().message()));
        dst = *parsed;
    }
    if (dst.family != via->family)
        return fail(plain_error(step, "gateway", "address family differs from the destination's"));
    std::optional<int> oif;
    if (!dev.empty()) {
        if (auto ok = validate_link_name(dev, "dev", step); !ok) return ok;
        auto index = link_index(dev);
        if (!index) return fail(as_step(index.error(), step, dev));
        oif = *index;
    }
    Request rq(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    auto* rtm = rq.header<rtmsg>();
    rtm->rtm_family = static_cast<uint8_t>(dst.family);
    rtm->rtm_dst_len = static_cast<uint8_t>(dst.prefix_len);
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;  // set by an administrator, not learnt
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    auto len = static_cast<uint16_t>(dst.size());
    if (dst.prefix_len > 0) mnl_attr_put(rq.nlh(), RTA_DST, len, dst.bytes.data());
    mnl_attr_put(rq.nlh(), RTA_GATEWAY, len, via->bytes.data());
    if (oif) mnl_attr_put_u32(rq.nlh(), RTA_OIF, static_cast<uint32_t>(*oif));
    return talk(rq.nlh(), step, dev);
}

}  // namespace ctb::net
