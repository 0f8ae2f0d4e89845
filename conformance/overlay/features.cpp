// Optional overlayfs features and xattr handling:
//  overlay.index.hardlinks            overlayfs.rst "index": copy-up keeps hard links together
//  overlay.metacopy.chmod_no_data_copy overlayfs.rst "Metadata only copy up"
//  overlay.xattr.copy_up              user.* xattrs copied up; trusted.overlay.* never visible
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/fd.hpp"
#include "conformance/overlay/helpers.hpp"

namespace ctb::conformance::overlay {
namespace {

// Appends text to path through an ordinary open for write: 0 or errno.
int append(const std::string& path, const std::string& text) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!fd) return errno;
    ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n < 0) return errno;
    return static_cast<std::size_t>(n) == text.size() ? 0 : EIO;
}

// ---- overlay.index.hardlinks ----

constexpr const char* kLinked = "hard-linked lower file\n";
constexpr const char* kViaA = "written through link a\n";

// Two lower names of one inode; write through a, then look through b.
json hardlink_view(Scratch& s, const std::string& lower, const std::string& name, const std::string& index) {
    Layers l = make_layers(s, name, lower);
    s.mount(l.merged, l.options("index=" + index));
    int e = append(l.merged + "/a", kViaA);
    json st_a = stat_json(l.merged + "/a"), st_b = stat_json(l.merged + "/b");
    json view = {{"write_errno", err_name(e)},
                 {"b_sees_write", try_read(l.merged + "/b") == std::string(kLinked) + kViaA},
                 {"same_inode", st_a["ino"] == st_b["ino"]},
                 {"nlink_a", st_a["nlink"]},
                 {"nlink_b", st_b["nlink"]}};
    if (index == "on") view["index_entries"] = list_dir(l.work + "/index");  // how the kernel tied them
    s.umount(l.merged);
    return view;
}

Verdict index_case(Scratch& s) {
    std::string lower = s.mkdir("lower");
    make_file(lower + "/a", kLinked);
    check_sys(::link((lower + "/a").c_str(), (lower + "/b").c_str()), "link", lower + "/b");
    json lower_before = tree_state(lower);

    json on = hardlink_view(s, lower, "index_on", "on");
    // Without index the link breaks at copy-up: shown for contrast, not judged.
    json off = hardlink_view(s, lower, "index_off", "off");
    Checks c;
    c.expect(on["write_errno"] == "ok", "index=on: write through link a failed");
    c.expect(on["b_sees_write"] == true, "index=on: link b does not see the write through link a");
    c.expect(on["same_inode"] == true, "index=on: a and b no longer share an inode number after copy-up");
    c.expect(on["nlink_a"] == 2 && on["nlink_b"] == 2, "index=on: the link count is not 2 after copy-up");
    if (auto changed = changed_since(lower, lower_before, "the lower layer")) return *changed;
    return c.verdict({{"index_on", on}, {"index_off_contrast", off}, {"lower_unchanged", true}});
}

// ---- overlay.metacopy.chmod_no_data_copy ----

// 1 MiB of varied bytes, so reading zeros or a short file would change the hash.
std::string big_content() {
    std::string s;
    for (int i = 0; s.size() < (1u << 20); ++i) s += fmt::format("{:08x} metacopy data block line\n", i * 2654435761u);
    s.resize(1u << 20);
    return s;
}

// Whether the upper file stores no data: SEEK_DATA finds none (ENXIO), or no blocks at all.
json data_of(const std::string& path) {
    json st = stat_json(path);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    off_t first = fd ? ::lseek(fd.get(), 0, SEEK_DATA) : -1;
    bool none = (first < 0 && errno == ENXIO) || st.value("blocks", -1) == 0;
    return {{"size", st.value("size", -1)}, {"blocks", st.value("blocks", -1)}, {"first_data", first}, {"no_data", none}};
}

Verdict metacopy_case(Scratch& s) {
    Layers l = make_layers(s);
    const std::string data = big_content(), want = sha256_of(data);
    make_file(l.lower + "/big", data);
    json lower_before = tree_state(l.lower);
    s.mount(l.merged, l.options("metacopy=on"));
    std::string merged = l.merged + "/big", upper = l.upper + "/big";

    Checks c;
    int e = errno_of(::chmod(merged.c_str(), 0600));
    if (e != 0) return Verdict::fail("chmod of a lower file through the overlay failed: " + err_name(e));
    json after_chmod = data_of(upper);
    auto marker = get_xattr(upper, "trusted.overlay.metacopy");
    c.expect(marker.has_value(), "after chmod the upper file has no trusted.overlay.metacopy xattr");
    c.expect(after_chmod["no_data"] == true, "after chmod the upper file holds data (a full copy-up)");
    c.expect(after_chmod["size"] == data.size(), "after chmod the upper file does not have the lower size");
    c.expect(stat_json(merged)["mode"] == "0600", "the merged file does not show the new mode");
    c.expect(sha256_of(read_all(merged)) == want, "reads through the overlay do not return the lower data");

    // "The data will be copied up later when file is opened for WRITE operation" and the
    // metacopy xattr then goes away.
    UniqueFd w(::open(merged.c_str(), O_WRONLY | O_CLOEXEC));
    if (!w) return Verdict::fail("open for write of the metacopy file failed: " + err_name(errno));
    w.reset();
    json after_open = data_of(upper);
    bool marker_gone = !get_xattr(upper, "trusted.overlay.metacopy").has_value();
    c.expect(marker_gone, "after open for write the metacopy xattr is still set");
    c.expect(sha256_of(read_all(upper)) == want, "after open for write the upper file does not hold the lower data");
    if (auto changed = changed_since(l.lower, lower_before, "the lower layer")) return *changed;
    return c.verdict({{"lower_size", data.size()},
                      {"after_chmod", {{"upper", after_chmod}, {"metacopy_xattr", marker.has_value()}}},
                      {"after_open_for_write", {{"upper", after_open}, {"metacopy_xattr", !marker_gone}}},
                      {"lower_unchanged", true}});
}

// ---- overlay.xattr.copy_up ----

bool any_private(const std::vector<std::string>& names) {
    for (const auto& n : names)
        if (n.starts_with("trusted.overlay.")) return true;
    return false;
}

// user.* xattrs: visible from the lower file, copied up, settable on the merged file.
void user_xattrs(Checks& c, const Layers& l, json& evidence) {
    std::string merged = l.merged + "/f";
    c.expect(get_xattr(merged, "user.ctbench") == "lower-value", "the lower file's user.ctbench is not visible");
    int e = errno_of(::lsetxattr(merged.c_str(), "user.added", "merged-value", 12, 0));
    c.expect(e == 0, "setxattr user.added on the merged file failed: " + err_name(e));
    auto upper = list_xattrs(l.upper + "/f");
    c.expect(get_xattr(l.upper + "/f", "user.ctbench") == "lower-value", "user.ctbench was not copied up");
    c.expect(get_xattr(l.upper + "/f", "user.added") == "merged-value", "user.added did not reach the upper file");
    c.expect(get_xattr(merged, "user.added") == "merged-value", "user.added is not readable on the merged file");
    evidence["user"] = {{"setxattr_errno", err_name(e)}, {"merged", list_xattrs(merged)}, {"upper", upper}};
}

// trusted.overlay.* on upper objects (the copy-up origin, an opaque dir) stay invisible through
// the merged view.
void private_xattrs(Checks& c, const Layers& l, json& evidence) {
    auto upper_f = list_xattrs(l.upper + "/f"), upper_o = list_xattrs(l.upper + "/o");
    auto merged_f = list_xattrs(l.merged + "/f"), merged_o = list_xattrs(l.merged + "/o");
    int get_err = 0;
    (void)get_xattr(l.merged + "/o", "trusted.overlay.opaque", &get_err);
    c.expect(any_private(upper_o), "setup: the upper directory lost its trusted.overlay.opaque");
    c.expect(!any_private(merged_f) && !any_private(merged_o), "listxattr on the merged view shows trusted.overlay.*");
    c.expect(get_err != 0, "getxattr trusted.overlay.opaque through the merged view reads the upper's private xattr");
    evidence["private"] = {{"upper_f", upper_f}, {"upper_o", upper_o}, {"merged_f", merged_f},
                           {"merged_o", merged_o}, {"getxattr_errno", err_name(get_err)}};
}

// Nor can they be forged through it: setting trusted.overlay.opaque=y on a merged directory is
// refused or stored escaped (trusted.overlay.overlay.*, "Nesting overlayfs mounts"), and after a
// remount the directory still merges its lower entries.
void forged_opaque(Scratch& s, Checks& c, const Layers& l, json& evidence) {
    std::string m = l.merged + "/m";
    int set_err = errno_of(::lsetxattr(m.c_str(), "trusted.overlay.opaque", "y", 1, 0));
    bool raw = get_xattr(l.upper + "/m", "trusted.overlay.opaque").has_value();
    c.expect(!raw, "setxattr through the merged view set the upper's private trusted.overlay.opaque");
    s.umount(l.merged);
    s.mount(l.merged, l.options("metacopy=off"));
    c.expect(contains(list_dir(m), "from_lower"), "the forged opaque xattr hid the lower entries after a remount");
    evidence["forge"] = {{"setxattr_errno", err_name(set_err)},
                         {"upper_m", set_err == 0 ? json(list_xattrs(l.upper + "/m")) : json()},
                         {"merged_m_after_remount", list_dir(m)}};
}

Verdict xattr_case(Scratch& s) {
    Layers l = make_layers(s);
    FileSpec f;
    f.content = "xattr\n";
    f.xattrs = {{"user.ctbench", "lower-value"}};
    make_file(l.lower + "/f", f);
    make_dir(l.lower + "/o");
    make_dir(l.upper + "/o");
    make_dir(l.lower + "/m");
    make_file(l.lower + "/m/from_lower", "lower\n");
    set_xattr(l.upper + "/o", "trusted.overlay.opaque", "y");
    json lower_before = tree_state(l.lower);
    s.mount(l.merged, l.options("metacopy=off"));

    Checks c;
    json evidence = json::object();
    user_xattrs(c, l, evidence);
    private_xattrs(c, l, evidence);
    forged_opaque(s, c, l, evidence);
    if (auto changed = changed_since(l.lower, lower_before, "the lower layer")) return *changed;
    evidence["lower_unchanged"] = true;
    return c.verdict(evidence);
}

}  // namespace

CTB_CONFORMANCE_CASE({
    .id = "overlay.index.hardlinks",
    .reference = kDocIndex,
    .needs = needs({"index"}),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run_isolated(ctx, index_case); },
});
CTB_CONFORMANCE_CASE({
    .id = "overlay.metacopy.chmod_no_data_copy",
    .reference = kDocMetacopy,
    .needs = needs({"metacopy"}),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run_isolated(ctx, metacopy_case); },
});
CTB_CONFORMANCE_CASE({
    .id = "overlay.xattr.copy_up",
    .reference = kDocXattr,
    .needs = needs(),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run_isolated(ctx, xattr_case); },
});

}  // namespace ctb::conformance::overlay
