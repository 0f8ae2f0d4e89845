// overlay.xino.uniform_inodes (overlayfs.rst, "Inode properties" and "xino"): with layers on
// different filesystems, xino=on composes st_ino from the real inode number and the layer's fsid,
// so every object reports the overlay's st_dev, st_ino matches readdir's d_ino, and a file keeps
// its st_ino when copy-up moves it to the other filesystem. Without xino a lower file shows its
// own filesystem's st_dev (recorded for contrast, not judged).
#include <dirent.h>
#include <sys/stat.h>

#include "conformance/overlay/helpers.hpp"

namespace ctb::conformance::overlay {
namespace {

struct Ids {
    dev_t dev = 0;
    ino_t ino = 0;
};

Ids ids_of(const std::string& path) {
    struct stat st{};
    check_sys(::lstat(path.c_str(), &st), "lstat", path);
    return {st.st_dev, st.st_ino};
}

// d_ino of `name` as readdir(3) reports it in dir (0 when absent).
ino_t d_ino_of(const std::string& dir, const std::string& name) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) setup_failed(sys_error("opendir", dir));
    ino_t found = 0;
    while (dirent* e = ::readdir(d))
        if (name == e->d_name) found = e->d_ino;
    ::closedir(d);
    return found;
}

// An overlay whose lower layer is a tmpfs and whose upper layer is the scratch filesystem.
Layers cross_fs_layers(Scratch& s, const std::string& name) {
    Layers l = make_layers(s, name);
    s.mount_tmpfs(l.lower);
    make_file(l.lower + "/lo", "on the lower tmpfs\n");
    make_file(l.upper + "/up", "on the upper filesystem\n");
    return l;
}

json ids_json(const Ids& i) { return {{"dev", i.dev}, {"ino", i.ino}}; }

Verdict xino_case(Scratch& s) {
    Layers off = cross_fs_layers(s, "xino_off");
    s.mount(off.merged, off.options("xino=off"));
    bool off_uniform = ids_of(off.merged + "/lo").dev == ids_of(off.merged).dev;

    Layers l = cross_fs_layers(s, "xino_on");
    json lower_before = tree_state(l.lower);
    s.mount(l.merged, l.options("xino=on"));
    Ids root = ids_of(l.merged), lo = ids_of(l.merged + "/lo"), up = ids_of(l.merged + "/up");
    Ids raw_lo = ids_of(l.lower + "/lo");

    Checks c;
    c.expect(lo.dev == root.dev && up.dev == root.dev, "st_dev is not uniform across layers on different filesystems");
    c.expect(lo.ino != up.ino, "objects of different layers share an st_ino");
    c.expect(d_ino_of(l.merged, "lo") == lo.ino, "d_ino of the lower file differs from its st_ino");
    c.expect(d_ino_of(l.merged, "up") == up.ino, "d_ino of the upper file differs from its st_ino");
    int e = errno_of(::chmod((l.merged + "/lo").c_str(), 0600));  // copy-up from tmpfs to the upper fs
    c.expect(e == 0, "chmod (copy-up) of the lower file failed: " + err_name(e));
    Ids copied = ids_of(l.merged + "/lo");
    c.expect(copied.ino == lo.ino && copied.dev == lo.dev, "st_ino/st_dev changed when copy-up moved the file");
    if (auto changed = changed_since(l.lower, lower_before, "the lower layer")) return *changed;
    return c.verdict({{"xino_on", {{"root", ids_json(root)}, {"lower_file", ids_json(lo)}, {"upper_file", ids_json(up)},
                                   {"lower_file_raw_on_tmpfs", ids_json(raw_lo)}, {"after_copy_up", ids_json(copied)}}},
                      {"xino_off_contrast", {{"lower_file_dev_is_overlay_dev", off_uniform}}},
                      {"lower_unchanged", true}});
}

}  // namespace

CTB_CONFORMANCE_CASE({
    .id = "overlay.xino.uniform_inodes",
    .reference = kDocXino,
    .needs = needs({"xino"}),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run_isolated(ctx, xino_case); },
});

}  // namespace ctb::conformance::overlay
