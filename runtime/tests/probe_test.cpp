// Host probes against the real kernel (root): each answer is checked against independent evidence.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/files.hpp"
#include "runtime/cgroups/detect.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/rootfs/overlay_probe.hpp"

namespace fs = std::filesystem;

TEST(NamespaceProbe, AvailableExactlyWhenProcNsEntryExists) {
    for (const auto& type : ctb::ns::all_types()) {
        auto f = ctb::ns::probe(type);
        bool has_entry = fs::exists(fs::path("/proc/self/ns") / std::string(type.proc_name));
        EXPECT_FALSE(f.detail.empty()) << type.name;
        if (!has_entry) {
            EXPECT_FALSE(f.available) << type.name;
        }
        if (f.available) {
            EXPECT_NE(f.detail.find("inode"), std::string::npos) << f.detail;
        }
    }
}

TEST(NamespaceProbe, LeavesTheCallerInItsOwnNamespaces) {
    auto before = ctb::ns::ns_inode("self", "uts");
    (void)ctb::ns::probe(*ctb::ns::find_type("uts"));
    EXPECT_EQ(before, ctb::ns::ns_inode("self", "uts"));
}

TEST(CgroupProbe, ModeMatchesTheFilesystemAtTheRoot) {
    auto layout = ctb::cgroup::detect();
    ASSERT_TRUE(layout.has_value()) << layout.error().message();
    auto root = ctb::cgroup::parse_mountinfo(*ctb::read_file("/proc/self/mountinfo"));
    bool v2_at_root = false;
    for (const auto& h : root) v2_at_root |= (h.version == 2 && h.mount == "/sys/fs/cgroup");
    if (v2_at_root) {
        EXPECT_EQ(layout->mode, ctb::cgroup::Mode::v2);
    }
    for (const auto& c : layout->known_controllers) {
        if (const auto* h = layout->find(c)) {
            EXPECT_TRUE(fs::exists(h->mount)) << c;
        }
    }
}

TEST(CgroupProbe, SubtreeProbeLeavesNoChildBehind) {
    auto layout = ctb::cgroup::detect();
    ASSERT_TRUE(layout.has_value());
    for (const auto& h : layout->hierarchies) {
        if (h.controllers.empty()) continue;
        auto f = ctb::cgroup::probe_subtree(h, h.controllers.front());
        EXPECT_FALSE(f.detail.empty());
        std::string probe_dir = h.mount + "/ctbench/probe-" + std::to_string(::getpid());
        EXPECT_FALSE(fs::exists(probe_dir)) << probe_dir;
    }
}

TEST(OverlayProbe, PlainOverlayMountsAndNothingLeaks) {
    bool kernel_has_overlay = ctb::read_file("/proc/filesystems")->find("\toverlay\n") != std::string::npos;
    auto p = ctb::overlay::probe();
    EXPECT_EQ(p.filesystem.available, kernel_has_overlay) << p.filesystem.detail;
    ASSERT_EQ(p.features.size(), 6u);
    for (const auto& [name, f] : p.features) EXPECT_FALSE(f.detail.empty()) << name;
    EXPECT_FALSE(fs::exists("/run/ctbench/probe-overlay-" + std::to_string(::getpid())));
    auto mountinfo = *ctb::read_file("/proc/self/mountinfo");
    EXPECT_EQ(mountinfo.find("probe-overlay"), std::string::npos);
}
