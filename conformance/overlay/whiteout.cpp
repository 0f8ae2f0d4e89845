// overlay.whiteout.* and overlay.opaque.*: removing lower objects without changing the lower
// layer (overlayfs.rst, "whiteouts and opaque directories"). A whiteout is a 0/0 character device
// in the upper layer; an opaque directory (trusted.overlay.opaque=y) hides the lower directory.
#include <sys/stat.h>
#include <unistd.h>

#include "conformance/overlay/helpers.hpp"

namespace ctb::conformance::overlay {
namespace {

constexpr const char* kVictimContent = "lower file that gets removed\n";

// What the merged view shows for `name` after its removal, and what the upper layer holds.
json removal_state(const Layers& l, const std::string& name) {
    return {{"lstat_errno", err_name(lstat_errno(l.merged + "/" + name))},
            {"listed", contains(list_dir(l.merged), name)},
            {"upper", stat_json(l.upper + "/" + name)}};
}

void check_hidden(Checks& c, const Layers& l, const std::string& name, const std::string& when) {
    c.expect(lstat_errno(l.merged + "/" + name) == ENOENT, when + ": the removed lower file is still found");
    c.expect(!contains(list_dir(l.merged), name), when + ": readdir still lists the removed lower file");
    c.expect(contains(list_dir(l.merged), "keep"), when + ": a sibling lower file disappeared");
    c.expect(is_whiteout(l.upper + "/" + name), when + ": the upper layer holds no 0/0 character device");
}

Verdict whiteout_case(Scratch& s, bool remount) {
    Layers l = make_layers(s);
    make_file(l.lower + "/victim", kVictimContent);
    make_file(l.lower + "/keep", "stays\n");
    json lower_before = tree_state(l.lower);
    s.mount(l.merged, l.options());
    require(try_read(l.merged + "/victim") == kVictimContent, "control", l.merged + "/victim",
            "the lower file is not visible before unlink");

    if (int e = errno_of(::unlink((l.merged + "/victim").c_str())); e != 0)
        return Verdict::fail("unlink of a lower file through the overlay failed: " + err_name(e));
    Checks c;
    check_hidden(c, l, "victim", "after unlink");
    json evidence = {{"after_unlink", removal_state(l, "victim")}};
    if (remount) {
        s.umount(l.merged);
        s.mount(l.merged, l.options());
        check_hidden(c, l, "victim", "after umount and mount");
        evidence["after_remount"] = removal_state(l, "victim");
    }
    if (auto changed = changed_since(l.lower, lower_before, "the lower layer")) return *changed;
    evidence["lower_unchanged"] = true;
    return c.verdict(evidence);
}

// rmdir of a lower directory (after emptying it) then mkdir of the same name: the new directory
// must start empty, i.e. be opaque to the lower one.
void recreated_dir(Checks& c, const Layers& l, json& evidence) {
    std::string d = l.merged + "/recreated";
    for (const char* f : {"/a", "/b", "/sub/c"}) check_sys(::unlink((d + f).c_str()), "unlink", d + f);
    check_sys(::rmdir((d + "/sub").c_str()), "rmdir", d + "/sub");
    if (int e = errno_of(::rmdir(d.c_str())); e != 0) {
        c.expect(false, "rmdir of an emptied lower directory failed: " + err_name(e));
        return;
    }
    check_sys(::mkdir(d.c_str(), 0755), "mkdir", d);
    c.expect(list_dir(d).empty(), "the recreated directory shows entries of the removed lower directory");
    c.expect(lstat_errno(d + "/a") == ENOENT, "a lower entry is still found in the recreated directory");
    make_file(d + "/new", "new\n");
    c.expect(list_dir(d) == std::vector<std::string>{"new"}, "the recreated directory lists more than its new entry");
    auto opaque = get_xattr(l.upper + "/recreated", "trusted.overlay.opaque");
    c.expect(opaque == "y", "the recreated upper directory is not marked trusted.overlay.opaque=y");
    evidence["recreated"] = {{"merged_entries", list_dir(d)}, {"upper_opaque_xattr", opaque.value_or("<absent>")}};
}

// An upper directory made opaque by hand (as image tools do) hides its lower namesake, while a
// plain upper directory merges with its lower namesake.
void marked_dir(Checks& c, const Layers& l, json& evidence) {
    auto opaque = list_dir(l.merged + "/marked"), merged = list_dir(l.merged + "/plain");
    c.expect(opaque == std::vector<std::string>{"fresh"}, "an opaque upper directory shows lower entries");
    c.expect(lstat_errno(l.merged + "/marked/old") == ENOENT, "a lower entry under an opaque directory is found");
    c.expect(merged == std::vector<std::string>{"from_lower", "from_upper"},
             "a non-opaque directory does not merge upper and lower entries");
    evidence["marked"] = {{"opaque_dir_entries", opaque}, {"plain_dir_entries", merged}};
}

Verdict opaque_case(Scratch& s) {
    Layers l = make_layers(s);
    for (const char* d : {"/recreated/sub", "/marked", "/plain"}) make_dir(l.lower + d);
    for (const char* f : {"/recreated/a", "/recreated/b", "/recreated/sub/c", "/marked/old", "/plain/from_lower"})
        make_file(l.lower + f, "lower\n");
    make_dir(l.upper + "/marked");
    set_xattr(l.upper + "/marked", "trusted.overlay.opaque", "y");
    make_file(l.upper + "/marked/fresh", "upper\n");
    make_dir(l.upper + "/plain");
    make_file(l.upper + "/plain/from_upper", "upper\n");
    json lower_before = tree_state(l.lower);
    s.mount(l.merged, l.options());

    Checks c;
    json evidence = json::object();
    marked_dir(c, l, evidence);
    recreated_dir(c, l, evidence);
    if (auto changed = changed_since(l.lower, lower_before, "the lower layer")) return *changed;
    evidence["lower_unchanged"] = true;
    return c.verdict(evidence);
}

}  // namespace

CTB_CONFORMANCE_CASE({
    .id = "overlay.whiteout.hides_lower",
    .reference = kDocWhiteouts,
    .needs = needs(),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) {
        return run_isolated(ctx, [](Scratch& s) { return whiteout_case(s, false); });
},
});
CTB_CONFORMANCE_CASE({
    .id = "overlay.whiteout.survives_remount",
    .reference = kDocWhiteouts,
    .needs = needs(),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) {
        return run_isolated(ctx, [](Scratch& s) { return whiteout_case(s, true); });
},
});
CTB_CONFORMANCE_CASE({
    .id = "overlay.opaque.dir",
    .reference = kDocWhiteouts,
    .needs = needs(),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run_isolated(ctx, opaque_case); },
});

}  // namespace ctb::conformance::overlay
