// overlay.rename.redirect_dir: renaming a directory that comes from the lower layer
// (overlayfs.rst, "renaming directories"). With redirect_dir=on the directory is copied up (not
// its contents), marked with trusted.overlay.redirect and moved, so its lower contents follow it;
// with redirect_dir=off rename(2) fails with EXDEV, as across filesystems.
#include <stdio.h>

#include "conformance/overlay/helpers.hpp"

namespace ctb::conformance::overlay {
namespace {

constexpr const char* kF = "lower f\n";
constexpr const char* kG = "lower sub/g\n";

void build_lower(const std::string& lower) {
    make_dir(lower + "/d/sub");
    make_file(lower + "/d/f", kF);
    make_file(lower + "/d/sub/g", kG);
}

// The renamed directory shows the lower contents and the old name is gone.
void check_moved(Checks& c, const Layers& l, const std::string& when) {
    c.expect(try_read(l.merged + "/e/f") == kF, when + ": e/f does not show the lower d/f");
    c.expect(try_read(l.merged + "/e/sub/g") == kG, when + ": e/sub/g does not show the lower d/sub/g");
    c.expect(lstat_errno(l.merged + "/d") == ENOENT, when + ": the old name d is still found");
}

json redirect_on(Scratch& s, Checks& c, const std::string& lower) {
    Layers l = make_layers(s, "on", lower);
    s.mount(l.merged, l.options("redirect_dir=on"));
    int e = errno_of(::rename((l.merged + "/d").c_str(), (l.merged + "/e").c_str()));
    c.expect(e == 0, "redirect_dir=on: rename of a lower directory failed: " + err_name(e));
    if (e != 0) return {{"rename_errno", err_name(e)}};
    check_moved(c, l, "redirect_dir=on");
    auto redirect = get_xattr(l.upper + "/e", "trusted.overlay.redirect");
    // The kernel stores the old name relative to the parent ("d") or from the overlay root ("/d").
    c.expect(redirect == "d" || redirect == "/d", "the upper e has no trusted.overlay.redirect to d");
    // The redirect is what makes the rename persistent: a fresh mount must still follow it.
    s.umount(l.merged);
    s.mount(l.merged, l.options("redirect_dir=on"));
    check_moved(c, l, "after umount and mount");
    return {{"rename_errno", "ok"},
            {"merged_e", list_dir(l.merged + "/e")},
            {"upper_entries", list_dir(l.upper)},
            {"upper_e_redirect", redirect.value_or("<absent>")},
            {"upper_e_entries", list_dir(l.upper + "/e")},
            {"upper_d_is_whiteout", is_whiteout(l.upper + "/d")}};
}

json redirect_off(Scratch& s, Checks& c, const std::string& lower) {
    Layers l = make_layers(s, "off", lower);
    // metacopy needs redirects: keep it off explicitly so the options cannot conflict.
    s.mount(l.merged, l.options("redirect_dir=off,metacopy=off"));
    int e = errno_of(::rename((l.merged + "/d").c_str(), (l.merged + "/e").c_str()));
    c.expect(e == EXDEV, "redirect_dir=off: rename of a lower directory gave " + err_name(e) + ", want EXDEV");
    c.expect(list_dir(l.merged + "/d") == std::vector<std::string>{"f", "sub"},
             "redirect_dir=off: d changed after the refused rename");
    return {{"rename_errno", err_name(e)}, {"merged_d", list_dir(l.merged + "/d")}};
}

Verdict rename_case(Scratch& s) {
    std::string lower = s.mkdir("lower");
    build_lower(lower);
    json lower_before = tree_state(lower);
    Checks c;
    json evidence = {{"redirect_dir_on", redirect_on(s, c, lower)}, {"redirect_dir_off", redirect_off(s, c, lower)}};
    if (auto changed = changed_since(lower, lower_before, "the lower layer")) return *changed;
    evidence["lower_unchanged"] = true;
    return c.verdict(evidence);
}

}  // namespace

CTB_CONFORMANCE_CASE({
    .id = "overlay.rename.redirect_dir",
    .reference = kDocRename,
    .needs = needs({"redirect_dir"}),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run_isolated(ctx, rename_case); },
});

}  // namespace ctb::conformance::overlay
