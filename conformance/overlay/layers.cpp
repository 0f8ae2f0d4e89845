// overlay.layers.precedence (overlayfs.rst, "Multiple lower layers"): in lowerdir=/l1:/l2:/l3
// the layers stack from the right, l1 on top. The top-most version of a name wins, a whiteout in
// a middle layer hides the layers below it, directories merge across all layers, a non-directory
// hides a lower directory of the same name, and without upperdir the overlay is read-only.
#include <fcntl.h>

#include "common/fd.hpp"
#include "conformance/overlay/helpers.hpp"

namespace ctb::conformance::overlay {
namespace {

struct Stack {
    std::string top, middle, bottom, merged;
};

Stack build(Scratch& s) {
    Stack k{s.mkdir("l1"), s.mkdir("l2"), s.mkdir("l3"), s.mkdir("merged")};
    make_file(k.top + "/f", "top\n");
    make_file(k.middle + "/f", "middle\n");
    make_file(k.bottom + "/f", "bottom\n");
    make_file(k.middle + "/m", "middle\n");
    make_file(k.bottom + "/m", "bottom\n");
    make_whiteout(k.middle + "/g");
    make_file(k.bottom + "/g", "bottom\n");
    make_file(k.bottom + "/h", "bottom only\n");
    for (const auto& d : {k.top, k.middle, k.bottom}) make_dir(d + "/d");
    make_file(k.top + "/d/a", "top\n");
    make_whiteout(k.middle + "/d/w");
    make_file(k.bottom + "/d/b", "bottom\n");
    make_file(k.bottom + "/d/w", "bottom\n");
    make_file(k.top + "/o", "a file on top of a directory\n");
    make_dir(k.bottom + "/o");
    make_file(k.bottom + "/o/inside", "bottom\n");
    return k;
}

json read_view(const std::string& path) {
    int err = 0;
    auto content = try_read(path, &err);
    return content ? json(*content) : json("<" + err_name(err) + ">");
}

Verdict precedence_case(Scratch& s) {
    Stack k = build(s);
    json before = {{"l1", tree_state(k.top)}, {"l2", tree_state(k.middle)}, {"l3", tree_state(k.bottom)}};
    s.mount(k.merged, "lowerdir=" + k.top + ":" + k.middle + ":" + k.bottom);
    const std::string m = k.merged;

    Checks c;
    c.expect(try_read(m + "/f") == "top\n", "f: the top-most layer's version does not win");
    c.expect(try_read(m + "/m") == "middle\n", "m: the middle layer's version does not win over the bottom");
    c.expect(lstat_errno(m + "/g") == ENOENT, "g: a whiteout in the middle layer does not hide the bottom file");
    c.expect(try_read(m + "/h") == "bottom only\n", "h: a file only in the bottom layer is not visible");
    c.expect(list_dir(m + "/d") == std::vector<std::string>{"a", "b"},
             "d: the directory does not merge a (top) and b (bottom) without the whited-out w");
    c.expect(stat_json(m + "/o").value("type", "") == "file", "o: a top file does not hide the bottom directory");
    c.expect(list_dir(m) == std::vector<std::string>{"d", "f", "h", "m", "o"}, "the root lists the wrong names");
    UniqueFd w(::open((m + "/h").c_str(), O_WRONLY | O_CLOEXEC));
    int write_err = w ? 0 : errno;
    c.expect(write_err == EROFS, "open for write without upperdir gave " + err_name(write_err) + ", want EROFS");

    const std::vector<std::pair<std::string, std::string>> layers{{"l1", k.top}, {"l2", k.middle}, {"l3", k.bottom}};
    for (const auto& [name, dir] : layers)
        if (auto changed = changed_since(dir, before[name], "lower layer " + name)) return *changed;
    return c.verdict({{"lowerdir", "l1:l2:l3"},
                      {"f", read_view(m + "/f")},
                      {"m", read_view(m + "/m")},
                      {"g_lstat_errno", err_name(lstat_errno(m + "/g"))},
                      {"h", read_view(m + "/h")},
                      {"d_entries", list_dir(m + "/d")},
                      {"o_type", stat_json(m + "/o").value("type", "")},
                      {"root_entries", list_dir(m)},
                      {"open_for_write_errno", err_name(write_err)},
                      {"lower_unchanged", true}});
}

}  // namespace

CTB_CONFORMANCE_CASE({
    .id = "overlay.layers.precedence",
    .reference = kDocMultiLower,
    .needs = needs(),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run_isolated(ctx, precedence_case); },
});

}  // namespace ctb::conformance::overlay
