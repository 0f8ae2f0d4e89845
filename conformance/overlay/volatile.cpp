// overlay.volatile.mounts (overlayfs.rst, "Volatile mount"): with "volatile" all forms of sync to
// the upper filesystem are omitted, "$workdir/work/incompat/volatile" is created, and a later
// mount of the same upper/work refuses while that directory exists; removing it allows the mount.
//
// "Sync omitted" is observed, not assumed: after fsync(2) through the overlay, cachestat(2) on
// the upper file (the page cache the overlay wrote into) still counts dirty pages. A non-volatile
// mount of the same shape is the control: there fsync leaves no dirty page.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <fmt/format.h>

#include "common/fd.hpp"
#include "runtime/image/image.hpp"
#include "conformance/overlay/helpers.hpp"

#ifndef __NR_cachestat
#define __NR_cachestat 451  // the same number on every architecture (Linux 6.5)
#endif

namespace ctb::conformance::overlay {
namespace {

struct CachestatRange {
    std::uint64_t off, len;  // len 0: to the end of the file
};
struct Cachestat {
    std::uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

constexpr int kAttempts = 3;

// The upper file's dirty page count, or -errno when cachestat is unavailable.
long dirty_pages(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) setup_failed(sys_error("open", path));
    CachestatRange range{0, 0};
    Cachestat cs{};
    if (::syscall(__NR_cachestat, fd.get(), &range, &cs, 0) != 0) return -errno;
    return static_cast<long>(cs.nr_dirty);
}

// Writes 64 KiB through the overlay, fsyncs it there, then counts the upper file's dirty pages.
json fsync_then_dirty(const Layers& l, const std::string& name) {
    std::string merged = l.merged + "/" + name;
    UniqueFd fd(::open(merged.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) setup_failed(sys_error("create", merged));
    std::string block(64 * 1024, 'v');
    if (::write(fd.get(), block.data(), block.size()) != static_cast<ssize_t>(block.size()))
        setup_failed(sys_error("write", merged));
    int fsync_err = errno_of(::fsync(fd.get()));
    long dirty = dirty_pages(l.upper + "/" + name);
    return {{"file", name}, {"fsync_errno", err_name(fsync_err)}, {"dirty_pages_after_fsync", dirty}};
}

// A volatile fsync that happens to find its pages already written back (writeback under memory
// pressure) proves nothing either way, so a few files are tried; one dirty file is the proof.
json volatile_sync(const Layers& l) {
    json tries = json::array();
    for (int i = 0; i < kAttempts; ++i) {
        tries.push_back(fsync_then_dirty(l, fmt::format("data{}", i)));
        if (tries.back()["dirty_pages_after_fsync"].get<long>() != 0) break;
    }
    return tries;
}

Verdict volatile_case(Scratch& s) {
    Layers vol = make_layers(s, "volatile"), control = make_layers(s, "control");
    make_file(vol.lower + "/base", "base\n");
    make_file(control.lower + "/base", "base\n");
    json lower_before = tree_state(vol.lower);
    s.mount(control.merged, control.options());
    s.mount(vol.merged, vol.options("volatile"));

    json control_try = fsync_then_dirty(control, "data");
    long control_dirty = control_try["dirty_pages_after_fsync"];
    if (control_dirty < 0) return Verdict::skip("cachestat(2) unavailable: " + err_name(static_cast<int>(-control_dirty)));
    require(control_dirty == 0, "control", "fsync on a non-volatile overlay", "left dirty pages: cannot observe sync");
    json tries = volatile_sync(vol);
    const json& last = tries.back();

    Checks c;
    std::string marker = vol.work + "/work/incompat/volatile";
    json marker_state = stat_json(marker);
    c.expect(marker_state.value("type", "") == "dir", "no $workdir/work/incompat/volatile directory");
    c.expect(last["fsync_errno"] == "ok", "fsync on the volatile overlay failed");
    c.expect(last["dirty_pages_after_fsync"].get<long>() > 0, "fsync on the volatile overlay wrote the upper file back");

    s.umount(vol.merged);
    int refused = s.try_mount(vol.merged, vol.options());
    c.expect(refused != 0, "a second mount of the same upper/work succeeded while incompat/volatile exists");
    if (refused == 0) s.umount(vol.merged);
    // The documented way out once the user knows the upper layer is intact.
    must(image::remove_tree(marker));
    int after_removal = s.try_mount(vol.merged, vol.options());
    c.expect(after_removal == 0, "mount still refused after removing incompat/volatile: " + err_name(after_removal));
    if (after_removal == 0)
        c.expect(lstat_errno(vol.merged + "/" + last["file"].get<std::string>()) == 0,
                 "the file written before umount is missing after the remount");
    if (auto changed = changed_since(vol.lower, lower_before, "the lower layer")) return *changed;
    return c.verdict({{"control_non_volatile", control_try},
                      {"volatile", tries},
                      {"incompat_volatile", marker_state.value("type", "absent")},
                      {"remount_with_marker_errno", err_name(refused)},
                      {"remount_after_removing_marker_errno", err_name(after_removal)},
                      {"lower_unchanged", true}});
}

}  // namespace

// cachestat(2) came with Linux 6.5; a kernel built without it still answers ENOSYS (in-body skip).
CTB_CONFORMANCE_CASE({
    .id = "overlay.volatile.mounts",
    .reference = kDocVolatile,
    .needs = with(needs({"volatile"}), {{K::kernel_version, "6.5"}}),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run_isolated(ctx, volatile_case); },
});

}  // namespace ctb::conformance::overlay
