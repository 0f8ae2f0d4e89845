// `ctbench run --rootless` decisions, without a user or a runtime: the runtime name's encoding,
// the rootful requirement, and which cases skip up front (conformance/harness/rootless.hpp).
#include <gtest/gtest.h>

#include "conformance/harness/registry.hpp"
#include "conformance/harness/rootless.hpp"

using namespace ctb;
using namespace ctb::conformance;
using K = Requirement::Kind;

namespace {

Case make_case(std::string id, std::vector<Requirement> needs = {}) {
    Case c;
    c.id = std::move(id);
    c.needs = std::move(needs);
    return c;
}

const std::string kRootless = rootless::encode({1001, 1002, 300000, "/usr/local/bin/ctbench-runtime"});

}  // namespace

TEST(Rootless, NameRoundTrips) {
    EXPECT_EQ(kRootless, "rootless:1001:1002:300000:/usr/local/bin/ctbench-runtime");
    auto id = rootless::decode(kRootless);
    ASSERT_TRUE(id);
    EXPECT_EQ(id->uid, 1001u);
    EXPECT_EQ(id->gid, 1002u);
    EXPECT_EQ(id->subid, 300000u);
    EXPECT_EQ(id->runtime, "/usr/local/bin/ctbench-runtime");
    EXPECT_EQ(runtime_path_of(kRootless), "/usr/local/bin/ctbench-runtime");
    EXPECT_EQ(runtime_path_of("runc"), "runc");  // any other name is itself
}

TEST(Rootless, MalformedNamesAreNotRootless) {
    EXPECT_FALSE(rootless::decode("runc"));
    EXPECT_FALSE(rootless::decode("rootless:x:1:2:/bin/rt"));
    EXPECT_FALSE(rootless::decode("rootless:1:2"));
}

TEST(Rootless, RootfulIsUnmetOnlyForARootlessRuntime) {
    report::HostProbe h;
    Requirement r{K::rootful, "needs the host's network"};
    EXPECT_EQ(unmet_requirement(r, h, "ctbench"), "");
    EXPECT_EQ(unmet_requirement(r, h, "runc"), "");
    EXPECT_EQ(unmet_requirement(r, h, kRootless), "needs rootful: needs the host's network");
    EXPECT_EQ(requirement_text(r), "rootful");
}

TEST(Rootless, SkipsDecidedUpFront) {
    report::HostProbe h;
    h.root = true;
    auto cgroup = make_case("cgroup.memory.limit_oom", {{K::root, ""}});
    auto net = make_case("network.bridge.reach");
    auto veth = make_case("ns.net.moved", {{K::network_feature, "veth"}});
    auto pid = make_case("ns.pid.init_is_1", {{K::root, ""}});
    EXPECT_TRUE(skip_reason(cgroup, h, kRootless).starts_with("needs rootful: cgroup limits"));
    EXPECT_TRUE(skip_reason(net, h, kRootless).starts_with("needs rootful: bridges"));
    EXPECT_TRUE(skip_reason(veth, h, kRootless).starts_with("needs rootful: moves a link"));
    EXPECT_EQ(skip_reason(pid, h, kRootless), "");
    // The same cases with a rootful runtime: only the host decides.
    EXPECT_EQ(skip_reason(cgroup, h, "runc"), "");
    EXPECT_EQ(skip_reason(net, h, "ctbench"), "");
}

TEST(Rootless, SpecGetsAUserNamespaceAndKeepsACasesOwnMappings) {
    rootless::Identity id{1001, 1002, 300000, "rt"};
    spec::Spec s;
    s.linux.namespaces = {{"pid", ""}, {"mount", ""}};
    rootless::adapt_spec(s, id);
    ASSERT_EQ(s.linux.namespaces.size(), 3u);
    EXPECT_EQ(s.linux.namespaces.back().type, "user");
    ASSERT_EQ(s.linux.uid_mappings.size(), 2u);
    EXPECT_EQ(s.linux.uid_mappings[0], (spec::IdMapping{0, 1001, 1}));
    EXPECT_EQ(s.linux.uid_mappings[1], (spec::IdMapping{1, 300000, 65536}));
    EXPECT_EQ(s.linux.gid_mappings[0], (spec::IdMapping{0, 1002, 1}));
    spec::Spec own;
    own.linux.namespaces = {{"user", ""}};
    own.linux.uid_mappings = {{0, 5000, 10}};
    rootless::adapt_spec(own, id);
    EXPECT_EQ(own.linux.namespaces.size(), 1u);
    EXPECT_EQ(own.linux.uid_mappings, (std::vector<spec::IdMapping>{{0, 5000, 10}}));
}
