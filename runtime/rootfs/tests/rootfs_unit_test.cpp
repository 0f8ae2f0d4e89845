// Pure functions of the rootfs area: mount option parsing, destination cleaning, overlay option
// strings, volume names. No mounts, no root.
#include <algorithm>

#include <gtest/gtest.h>
#include <sys/mount.h>

#include "runtime/rootfs/mount_util.hpp"
#include "runtime/rootfs/mounts.hpp"
#include "runtime/rootfs/overlay.hpp"
#include "runtime/rootfs/volumes.hpp"

using namespace ctb::rootfs;

namespace {
MountOptions parse(const std::vector<std::string>& options) {
    auto parsed = parse_mount_options(options);
    EXPECT_TRUE(parsed.has_value()) << parsed.error().message();
    return parsed.value_or(MountOptions{});
}
}  // namespace

TEST(MountOptions, FlagsAndDataAreSeparated) {
    auto o = parse({"nosuid", "noexec", "nodev", "mode=755", "size=65536k", "strictatime"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_STRICTATIME));
    EXPECT_EQ(o.data, "mode=755,size=65536k");
    EXPECT_TRUE(o.propagation.empty());
    EXPECT_FALSE(o.is_bind());
}

TEST(MountOptions, LaterOptionsWin) {
    auto o = parse({"ro", "rw"});
    EXPECT_EQ(o.flags & MS_RDONLY, 0u);
    EXPECT_NE(o.cleared & MS_RDONLY, 0u);
    auto p = parse({"rw", "ro"});
    EXPECT_NE(p.flags & MS_RDONLY, 0u);
    EXPECT_EQ(p.cleared & MS_RDONLY, 0u);
}

TEST(MountOptions, BindAndRbind) {
    auto b = parse({"bind", "ro"});
    EXPECT_TRUE(b.is_bind());
    EXPECT_FALSE(b.is_recursive_bind());
    EXPECT_NE(b.flags & MS_RDONLY, 0u);
    auto r = parse({"rbind"});
    EXPECT_TRUE(r.is_recursive_bind());
}

TEST(MountOptions, EveryListedFlagIsKnown) {
    const std::vector<std::pair<std::string, unsigned long>> cases{
        {"ro", MS_RDONLY},         {"nosuid", MS_NOSUID},       {"nodev", MS_NODEV},
        {"noexec", MS_NOEXEC},     {"sync", MS_SYNCHRONOUS},    {"relatime", MS_RELATIME},
        {"strictatime", MS_STRICTATIME}, {"noatime", MS_NOATIME}, {"remount", MS_REMOUNT},
        {"mand", MS_MANDLOCK},     {"dirsync", MS_DIRSYNC},     {"nosymfollow", MS_NOSYMFOLLOW},
        {"nodiratime", MS_NODIRATIME}, {"bind", MS_BIND},
    };
    for (const auto& [name, flag] : cases) {
        auto o = parse({name});
        EXPECT_EQ(o.flags, flag) << name;
        EXPECT_TRUE(o.data.empty()) << name;
    }
    auto n = parse({"relatime", "norelatime"});
    EXPECT_EQ(n.flags, 0u);
    EXPECT_EQ(n.cleared, static_cast<unsigned long>(MS_RELATIME));
}

TEST(MountOptions, PropagationIsKeptInOrder) {
    auto o = parse({"rbind", "rslave", "private", "runbindable"});
    ASSERT_EQ(o.propagation.size(), 3u);
    EXPECT_EQ(o.propagation[0], static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_EQ(o.propagation[1], static_cast<unsigned long>(MS_PRIVATE));
    EXPECT_EQ(o.propagation[2], static_cast<unsigned long>(MS_UNBINDABLE | MS_REC));
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_BIND | MS_REC));
    for (const char* name : {"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"})
        EXPECT_TRUE(propagation_flags(name).has_value()) << name;
    EXPECT_FALSE(propagation_flags("bogus").has_value());
}

TEST(MountOptions, RecursiveAttributes) {
    auto o = parse({"rro", "rnosuid", "rnoatime"});
    EXPECT_EQ(o.recursive_set, static_cast<unsigned>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME));
    EXPECT_EQ(o.recursive_clear, static_cast<unsigned>(MOUNT_ATTR__ATIME));
    EXPECT_EQ(o.flags, 0u);
    auto r = parse({"rro", "rrw"});
    EXPECT_EQ(r.recursive_set, 0u);
    EXPECT_EQ(r.recursive_clear, static_cast<unsigned>(MOUNT_ATTR_RDONLY));
}

TEST(MountOptions, IgnoredOptionsLeaveANote) {
    auto o = parse({"tmpcopyup", "defaults", "x-systemd.automount"});
    EXPECT_EQ(o.flags, 0u);
    EXPECT_TRUE(o.data.empty());
    ASSERT_EQ(o.notes.size(), 2u);
    EXPECT_NE(o.notes[0].find("tmpcopyup"), std::string::npos);
}

TEST(MountOptions, IdmapAndRidmapAreNotMountFlags) {
    auto o = parse({"rbind", "idmap"});
    EXPECT_EQ(o.idmap, MountOptions::Idmap::top);
    EXPECT_TRUE(o.data.empty());  // never handed to mount(2)
    EXPECT_EQ(parse({"bind", "ridmap"}).idmap, MountOptions::Idmap::recursive);
    EXPECT_EQ(parse({"bind"}).idmap, MountOptions::Idmap::none);
    auto known = known_mount_options();
    EXPECT_NE(std::find(known.begin(), known.end(), "ridmap"), known.end());
}

// crun's "idmap=uids=...;gids=..." carries the mapping in the option: refused, naming the fields
// the spec puts it in, rather than passed to mount(2) as filesystem data.
TEST(MountOptions, IdmapWithAValueIsRefusedNamingTheOption) {
    auto o = parse_mount_options({"bind", "idmap=uids=0-1-10;gids=0-1-10"});
    ASSERT_FALSE(o.has_value());
    EXPECT_EQ(o.error().object, "options[1]");
    EXPECT_NE(o.error().message().find("uidMappings and gidMappings"), std::string::npos);
}

TEST(Destinations, AreCleanedLexically) {
    EXPECT_EQ(clean_destination("/proc"), "/proc");
    EXPECT_EQ(clean_destination("//dev//pts/"), "/dev/pts");
    EXPECT_EQ(clean_destination("./a/./b"), "/a/b");
    EXPECT_EQ(clean_destination("relative/x"), "/relative/x");
    EXPECT_EQ(clean_destination("/a/../b"), "/a/../b");  // ".." is resolution's job, in the root
    EXPECT_EQ(clean_destination(""), "/");
    EXPECT_EQ(shown_path("/r/rootfs", "/proc"), "/r/rootfs/proc");
    EXPECT_EQ(shown_path("/r/rootfs/", "/"), "/r/rootfs/");
    EXPECT_EQ(split_leaf("/a/b/c"), (std::pair<std::string, std::string>{"/a/b", "c"}));
    EXPECT_EQ(split_leaf("/a"), (std::pair<std::string, std::string>{"/", "a"}));
}

TEST(Overlay, OptionsEscapeSeparators) {
    OverlayLayers l{{"/l/top", "/l/a:b,c\\d"}, "/c/upper", "/c/work", {"redirect_dir=on"}};
    EXPECT_EQ(overlay_options(l),
              "lowerdir=/l/top:/l/a\\:b\\,c\\\\d,upperdir=/c/upper,workdir=/c/work,redirect_dir=on");
    OverlayLayers ro{{"/l/1", "/l/2"}, "", "", {}};
    EXPECT_EQ(overlay_options(ro), "lowerdir=/l/1:/l/2");
}

TEST(Overlay, CommonParentAndRelativeOptions) {
    OverlayLayers l{{"/s/layers/1/diff", "/s/layers/2/diff"}, "/s/c/upper", "/s/c/work", {}};
    EXPECT_EQ(common_parent(l), "/s");
    EXPECT_EQ(overlay_options(l, "/s"), "lowerdir=layers/1/diff:layers/2/diff,upperdir=c/upper,workdir=c/work");
    OverlayLayers siblings{{"/s/ab", "/s/abc"}, "", "", {}};
    EXPECT_EQ(common_parent(siblings), "/s");  // not "/s/ab": a prefix of a name is not a parent
    OverlayLayers apart{{"/x/1", "/y/2"}, "", "", {}};
    EXPECT_EQ(common_parent(apart), "/");
    EXPECT_EQ(overlay_options(apart, "/"), "lowerdir=x/1:y/2");
}

TEST(Volumes, NamesFollowTheDockerRule) {
    for (const char* good : {"a", "data", "A0_b.c-d", "9lives"}) EXPECT_TRUE(validate_volume_name(good).has_value()) << good;
    for (const char* bad : {"", "-x", ".hidden", "_x", "a/b", "..", "a b", "x\n"}) {
        auto s = validate_volume_name(bad);
        ASSERT_FALSE(s.has_value()) << bad;
        EXPECT_EQ(s.error().object, "name");
    }
    auto bad = create_volume("../etc", "/nonexistent-root");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().object, "name");
}

TEST(Volumes, MountIsARecursiveBind) {
    auto m = volume_mount("/v/data/_data", "/data", true);
    EXPECT_EQ(m.destination, "/data");
    EXPECT_EQ(m.source, "/v/data/_data");
    auto o = parse(m.options);
    EXPECT_TRUE(o.is_recursive_bind());
    EXPECT_NE(o.flags & MS_RDONLY, 0u);
    EXPECT_EQ(parse(volume_mount("/v", "/d", false).options).flags & MS_RDONLY, 0u);
}
