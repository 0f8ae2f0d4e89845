// Integration tests for rtnetlink, nftables and the network probe. Every test body that changes
// anything runs in a forked child inside its own network namespace (run_in_throwaway_netns), so
// the host's links and rulesets are never touched, even if a test crashes halfway.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sched.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "runtime/network/nft.hpp"
#include "runtime/network/probe.hpp"
#include "runtime/network/rtnl.hpp"

using namespace ctb;
using namespace ctb::net;
using nlohmann::json;

namespace {

// Inside a child body, a failed step throws; run_in_throwaway_netns turns that into an Error.
template <class T>
T must(Result<T> r) {
    if (!r) throw std::runtime_error(r.error().message());
    return std::move(*r);
}
void must(Status st) {
    if (!st) throw std::runtime_error(st.error().message());
}

// Runs `body` in a throwaway netns and returns the observations it made there.
json observe(const std::function<json()>& body) {
    auto out = run_in_throwaway_netns([&]() -> Result<std::string> { return body().dump(); });
    if (!out) throw std::runtime_error(out.error().message());
    return json::parse(*out);
}

// `ip` is used only as an independent witness, never by the library.
std::string ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"ip", "-o"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = must(run_process(argv));
    if (!r.exited_ok()) throw std::runtime_error("ip failed: " + r.output);
    return r.output;
}

std::string nft_cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"nft"};
    argv.insert(argv.end(), args.begin(), args.end());
    return must(run_process(argv)).output;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// sysfs shows the links of the netns that mounted it, so a fresh sysfs in a private mount
// namespace (this child's only) is a view of our netns that does not go through netlink.
std::string sysfs_read(const std::string& path) {
    if (::unshare(CLONE_NEWNS) != 0) throw std::runtime_error("unshare(CLONE_NEWNS) failed");
    // Private first, or the new /sys mount would propagate back to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        throw std::runtime_error("make / private failed");
    if (::mount("sysfs", "/sys", "sysfs", 0, nullptr) != 0) throw std::runtime_error("mount sysfs failed");
    return trim(must(read_file(path)));
}

std::vector<std::string> host_ctb_links() {
    std::vector<std::string> out;
    auto r = must(run_process({"ip", "-o", "link"}));
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
        auto colon = line.find(": ");
        if (colon == std::string::npos) continue;
        std::string name = line.substr(colon + 2, line.find_first_of(":@", colon + 2) - colon - 2);
        if (name.starts_with("ctb")) out.push_back(name);
    }
    return out;
}

bool host_has_ctbench_table() {
    return nft_cli({"list", "tables"}).find("ctbench") != std::string::npos;
}

}  // namespace

TEST(ThrowawayNetns, ReturnsValueErrorAndTimesOut) {
    auto ok = run_in_throwaway_netns([]() -> Result<std::string> { return "hello"; });
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(*ok, "hello");

    auto err = run_in_throwaway_netns([]() -> Result<std::string> {
        return fail(sys_error("create veth", "ctbx0", EEXIST));
    });
    ASSERT_FALSE(err);
    EXPECT_EQ(err.error().step, "create veth");
    EXPECT_EQ(err.error().object, "ctbx0");
    EXPECT_EQ(err.error().err, EEXIST);

    auto slow = run_in_throwaway_netns([]() -> Result<std::string> { ::pause(); return ""; },
                                       std::chrono::milliseconds(200));
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().err, ETIMEDOUT);
}

TEST(Rtnl, ParsesAddresses) {
    EXPECT_TRUE(parse_cidr("198.18.0.2/24"));
    EXPECT_EQ(parse_cidr("2001:2::2/64")->prefix_len, 64);
    EXPECT_FALSE(parse_cidr("198.18.0.2"));
    EXPECT_FALSE(parse_cidr("198.18.0.2/33"));
    EXPECT_FALSE(parse_cidr("198.18.0.2/2x"));
    EXPECT_FALSE(parse_ip("not-an-ip"));
}

TEST(Rtnl, RejectsBadLinkNamesNamingTheArgument) {
    auto seen = observe([] {
        auto rtnl = must(Rtnl::open());
        json j;
        for (auto [name, peer] : {std::pair{"ctbok0", "ctb-name-too-long"}, {"ctbok0", ""},
                                  {"ctbok0", "ctb/x"}, {"ctbok0", "ctb x"}}) {
            auto st = rtnl.create_veth(name, peer);
            j.push_back(st ? json{{"ok", true}} : json{{"object", st.error().object}, {"message", st.error().message()}});
        }
        auto st = rtnl.create_bridge("ctb-bridge-far-too-long");
        j.push_back({{"object", st.error().object}, {"message", st.error().message()}});
        j.push_back({{"links", must(rtnl.list_links())}});
        return j;
    });
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(seen[i].value("object", ""), "peer_name") << seen[i].dump();
        EXPECT_NE(seen[i].value("message", "").find("peer_name"), std::string::npos);
    }
    EXPECT_NE(seen[0]["message"].get<std::string>().find("more than 15"), std::string::npos);
    EXPECT_EQ(seen[4]["object"], "name");
    EXPECT_EQ(seen[5]["links"], json::array({"lo"}));  // nothing was created
}

TEST(Rtnl, CreateVethSeenBySysfsAndIp) {
    auto seen = observe([] {
        auto rtnl = must(Rtnl::open());
        must(rtnl.create_veth("ctbt0", "ctbt1"));
        json j{{"index", must(rtnl.link_index("ctbt0"))},
               {"kind", must(rtnl.link_info("ctbt1")).kind},
               {"links", must(rtnl.list_links())},
               {"ip", ip({"link", "show", "ctbt0"})}};
        j["sysfs_index"] = std::stoi(sysfs_read("/sys/class/net/ctbt0/ifindex"));
        return j;
    });
    EXPECT_EQ(seen["sysfs_index"], seen["index"]);
    EXPECT_EQ(seen["kind"], "veth");
    EXPECT_NE(seen["ip"].get<std::string>().find("ctbt0@ctbt1"), std::string::npos) << seen["ip"];
    EXPECT_TRUE(contains(seen["links"], "ctbt0"));
    EXPECT_TRUE(contains(seen["links"], "ctbt1"));
}

TEST(Rtnl, MoveToNetnsAndPeerBornThere) {
    auto seen = observe([] {
        auto other = must(new_netns());
        auto here = must(Rtnl::open());
        must(here.create_veth("ctbm0", "ctbm1"));
        must(here.move_to_netns("ctbm1", other.get()));
        must(here.create_veth("ctbp0", "ctbp1", other.get()));
        auto there = must(Rtnl::open(other.get()));
        return json{{"here", must(here.list_links())},
                    {"here_ip", ip({"link"})},
                    {"there", must(there.list_links())},
                    {"moved_index", here.link_index("ctbm1") ? 0 : here.link_index("ctbm1").error().err}};
    });
    EXPECT_TRUE(contains(seen["here"], "ctbm0"));
    EXPECT_FALSE(contains(seen["here"], "ctbm1"));
    EXPECT_EQ(seen["here_ip"].get<std::string>().find("ctbm1"), std::string::npos);
    EXPECT_TRUE(contains(seen["there"], "ctbm1"));
    EXPECT_TRUE(contains(seen["here"], "ctbp0"));
    EXPECT_FALSE(contains(seen["here"], "ctbp1"));
    EXPECT_TRUE(contains(seen["there"], "ctbp1"));
    EXPECT_EQ(seen["moved_index"], ENODEV);
}

TEST(Rtnl, AddressesRoutesMtuAndMaster) {
    auto seen = observe([] {
        auto rtnl = must(Rtnl::open());
        must(rtnl.create_bridge("ctbbr0"));
        must(rtnl.create_veth("ctba0", "ctba1"));
        must(rtnl.set_master("ctba1", "ctbbr0"));
        must(rtnl.set_mtu("ctba0", 1400));
        must(rtnl.add_address("ctba0", "198.18.5.2/24"));
        must(rtnl.add_address("ctba0", "2001:2::5:2/64"));
        for (auto name : {"ctbbr0", "ctba0", "ctba1"}) must(rtnl.set_link_up(name, true));
        must(rtnl.add_default_route("198.18.5.1", "ctba0"));
        must(rtnl.add_default_route("2001:2::5:1", "ctba0"));
        must(rtnl.add_route("198.19.0.0/16", "198.18.5.1"));
        auto info = must(rtnl.link_info("ctba1"));
        return json{{"addr", ip({"addr", "show", "dev", "ctba0"})},
                    {"link", ip({"link", "show", "ctba0"})},
                    {"route4", ip({"-4", "route"})},
                    {"route6", ip({"-6", "route"})},
                    {"master", info.master},
                    {"bridge", must(rtnl.link_index("ctbbr0"))},
                    {"up", info.up},
                    {"duplicate", rtnl.add_address("ctba0", "198.18.5.2/24").error().message()}};
    });
    auto has = [&](const char* key, const char* text) {
        return seen[key].get<std::string>().find(text) != std::string::npos;
    };
    EXPECT_TRUE(has("addr", "inet 198.18.5.2/24")) << seen["addr"];
    EXPECT_TRUE(has("addr", "inet6 2001:2::5:2/64")) << seen["addr"];
    EXPECT_TRUE(has("link", "mtu 1400")) << seen["link"];
    EXPECT_TRUE(has("route4", "default via 198.18.5.1 dev ctba0")) << seen["route4"];
    EXPECT_TRUE(has("route4", "198.19.0.0/16 via 198.18.5.1 dev ctba0")) << seen["route4"];
    EXPECT_TRUE(has("route6", "default via 2001:2::5:1 dev ctba0")) << seen["route6"];
    EXPECT_EQ(seen["master"], seen["bridge"]);
    EXPECT_TRUE(seen["up"]);
    EXPECT_TRUE(has("duplicate", "EEXIST")) << seen["duplicate"];
}

TEST(Rtnl, DeleteLinkIsIdempotentAndCreateIsExclusive) {
    auto seen = observe([] {
        auto rtnl = must(Rtnl::open());
        must(rtnl.create_bridge("ctbd0"));
        auto again = rtnl.create_bridge("ctbd0");
        must(rtnl.delete_link("ctbd0"));
        must(rtnl.delete_link("ctbd0"));
        must(rtnl.delete_link("ctbnever0"));
        auto bad = rtnl.delete_link("ctb/bad");
        return json{{"again_step", again.error().step},
                    {"again_object", again.error().object},
                    {"again_err", again.error().err},
                    {"bad_ok", bool(bad)},
                    {"links", must(rtnl.list_links())}};
    });
    EXPECT_EQ(seen["again_step"], "create bridge");
    EXPECT_EQ(seen["again_object"], "ctbd0");
    EXPECT_EQ(seen["again_err"], EEXIST);
    EXPECT_FALSE(seen["bad_ok"]);  // an invalid name is an error, not "already deleted"
    EXPECT_FALSE(contains(seen["links"], "ctbd0"));
}

TEST(Nft, BadCommandCarriesNftMessage) {
    auto seen = observe([] {
        auto nft = must(Nft::open());
        auto bad = nft.run("add tabel inet ctbench");
        auto missing = nft.run("list table inet ctbench");
        return json{{"bad_detail", bad.error().detail},
                    {"bad_message", bad.error().message()},
                    {"missing_detail", missing.error().detail}};
    });
    auto bad = seen["bad_detail"].get<std::string>();
    EXPECT_NE(bad.find("Error: syntax error"), std::string::npos) << bad;
    EXPECT_NE(bad.find("add tabel inet ctbench"), std::string::npos) << bad;
    EXPECT_NE(seen["missing_detail"].get<std::string>().find("No such file or directory"), std::string::npos)
        << seen["missing_detail"];
}

TEST(Nft, JsonOutputAndIdempotentTableDelete) {
    auto seen = observe([] {
        auto nft = must(Nft::open({.json = true}));
        must(nft.run("add table inet ctbench\nadd chain inet ctbench post { type nat hook postrouting "
                     "priority srcnat; }\nadd rule inet ctbench post masquerade"));
        auto listing = json::parse(must(nft.run("list table inet ctbench")));
        nft.set_json(false);
        std::string text = must(nft.run("list table inet ctbench"));
        must(nft.delete_table("inet", "ctbench"));
        must(nft.delete_table("inet", "ctbench"));
        return json{{"listing", listing}, {"text", text}, {"after", nft_cli({"list", "tables"})}};
    });
    EXPECT_TRUE(seen["listing"].contains("nftables")) << seen["listing"].dump();
    EXPECT_NE(seen["text"].get<std::string>().find("masquerade"), std::string::npos);
    EXPECT_EQ(seen["after"].get<std::string>().find("ctbench"), std::string::npos);
}

TEST(Probe, AllFeaturesAvailableAndHostUntouched) {
    bool links_before = !host_ctb_links().empty();
    bool table_before = host_has_ctbench_table();

    NetworkProbe p = probe_network();
    std::cout << json(p).dump(2) << "\n";
    for (const auto& [name, f] : {std::pair{"netns", p.netns}, {"veth", p.veth}, {"bridge", p.bridge},
                                  {"nftables", p.nftables}, {"nft_nat", p.nft_nat}}) {
        EXPECT_TRUE(f.available) << name << ": " << f.detail;
        EXPECT_FALSE(f.detail.empty()) << name;
    }
    EXPECT_NE(p.bridge.detail.find("ifindex"), std::string::npos);

    // Nothing leaked onto the host. (Compared with before, since other ctbench runs may share it.)
    auto links_after = host_ctb_links();
    for (const auto& name : links_after) EXPECT_FALSE(name.starts_with("ctbprobe")) << name;
    if (!links_before) {
        EXPECT_TRUE(links_after.empty()) << links_after.front();
    }
    if (!table_before) {
        EXPECT_FALSE(host_has_ctbench_table());
    }
}
