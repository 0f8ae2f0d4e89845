#include <gtest/gtest.h>

#include "runtime/cgroups/detect.hpp"
#include "runtime/namespaces.hpp"

using namespace ctb::cgroup;

namespace {
// Recorded from a hybrid host (systemd's layout: v1 controllers plus cgroup2 at /unified).
const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
    // A bind mount of a sub-cgroup (as inside a container) is not a hierarchy's home.
    "90 31 0:32 /docker/abc /mnt/memory rw - cgroup cgroup rw,memory\n";

const char* kV2Mountinfo =
    "30 23 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

const char* kProcCgroups =
    "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
    "cpuset\t3\t1\t1\n"
    "memory\t4\t45\t1\n"
    "hugetlb\t0\t1\t1\n"
    "rdma\t0\t1\t0\n";
}  // namespace

TEST(CgroupDetect, HybridHierarchiesAndControllers) {
    auto h = parse_mountinfo(kHybridMountinfo);
    ASSERT_EQ(h.size(), 5u);
    EXPECT_EQ(h[0].mount, "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(h[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
    EXPECT_EQ(h[3].name, "systemd");
    EXPECT_TRUE(h[3].controllers.empty());
    EXPECT_EQ(h[4].version, 2);
    EXPECT_EQ(classify(h), Mode::hybrid);
}

TEST(CgroupDetect, PureV2) {
    auto h = parse_mountinfo(kV2Mountinfo);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(classify(h), Mode::v2);
}

TEST(CgroupDetect, V1OnlyIgnoresNamedHierarchiesForTheMode) {
    auto h = parse_mountinfo(
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n");
    EXPECT_EQ(classify(h), Mode::v1);
    EXPECT_EQ(classify(parse_mountinfo("40 31 0:37 / /x rw - cgroup cgroup rw,name=systemd\n")), Mode::none);
}

// Lines the kernel never writes (cut short, no "-" separator, blank) are skipped, not misread;
// optional fields of any number sit before the "-".
TEST(CgroupDetect, MalformedMountinfoLinesAreSkipped) {
    auto h = parse_mountinfo(
        "\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup\n"
        "36 31 0:33 / /sys/fs/cgroup/pids rw cgroup cgroup rw,pids\n"
        "37 31 0:34 /\n"
        "38 31 0:35 / /sys/fs/cgroup/cpuset rw shared:2 master:1 - cgroup cgroup rw,cpuset\n");
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].mount, "/sys/fs/cgroup/cpuset");
    EXPECT_EQ(h[0].controllers, (std::vector<std::string>{"cpuset"}));
    EXPECT_EQ(parse_proc_cgroups("#subsys_name\thierarchy\tnum_cgroups\tenabled\npids\t3\n\nio\t0\t1\t1\n"),
              (std::vector<std::string>{"io"}));
}

TEST(CgroupDetect, ProcCgroupsListsOnlyEnabled) {
    EXPECT_EQ(parse_proc_cgroups(kProcCgroups), (std::vector<std::string>{"cpuset", "memory", "hugetlb"}));
}

TEST(CgroupDetect, LayoutFindsTheHierarchyOfAController) {
    Layout layout;
    layout.hierarchies = parse_mountinfo(kHybridMountinfo);
    layout.hierarchies[4].controllers = {"hugetlb"};
    ASSERT_NE(layout.find("memory"), nullptr);
    EXPECT_EQ(layout.find("memory")->version, 1);
    EXPECT_EQ(layout.find("hugetlb")->version, 2);
    EXPECT_EQ(layout.find("rdma"), nullptr);
}

TEST(Namespaces, EightTypesWithKernelNames) {
    const auto& all = ctb::ns::all_types();
    ASSERT_EQ(all.size(), 8u);
    EXPECT_EQ(ctb::ns::find_type("net")->name, "network");
    EXPECT_EQ(ctb::ns::find_type("time")->proc_name_for_children, "time_for_children");
    EXPECT_FALSE(ctb::ns::find_type("bogus").has_value());
}

namespace {
ctb::spec::Spec with_sysctl(const std::string& key, std::vector<std::string> namespaces) {
    ctb::spec::Spec s;
    for (auto& n : namespaces) s.linux.namespaces.push_back({n, ""});
    s.linux.sysctl[key] = "1";
    return s;
}
}  // namespace

// linux.sysctl is refused unless the container owns the sysctl's namespace (runc's rule): a
// vm.* or kernel.* knob of no namespace would be written into the host's kernel.
TEST(Namespaces, SysctlsNeedANamespaceOfTheContainersOwn) {
    EXPECT_TRUE(ctb::ns::plan(with_sysctl("net.ipv4.ip_forward", {"network"})).has_value());
    EXPECT_TRUE(ctb::ns::plan(with_sysctl("kernel.shmmni", {"ipc"})).has_value());
    EXPECT_TRUE(ctb::ns::plan(with_sysctl("fs.mqueue.msg_max", {"ipc"})).has_value());
    EXPECT_TRUE(ctb::ns::plan(with_sysctl("kernel.domainname", {"uts"})).has_value());
    auto host = ctb::ns::plan(with_sysctl("vm.swappiness", {"network", "ipc", "uts"}));
    ASSERT_FALSE(host.has_value());
    EXPECT_NE(host.error().message().find("linux.sysctl.vm.swappiness"), std::string::npos) << host.error().message();
    auto no_netns = ctb::ns::plan(with_sysctl("net.ipv4.ip_forward", {"ipc"}));
    ASSERT_FALSE(no_netns.has_value());
    EXPECT_NE(no_netns.error().message().find("no network namespace"), std::string::npos) << no_netns.error().message();
    // Joining the runtime's own (the host's) namespace by path is no namespace of the container's.
    ctb::spec::Spec joined = with_sysctl("net.ipv4.ip_forward", {});
    joined.linux.namespaces.push_back({"network", "/proc/self/ns/net"});
    EXPECT_FALSE(ctb::ns::plan(joined).has_value());
}
