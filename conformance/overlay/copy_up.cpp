// overlay.copy_up.*: an operation that needs write access to a lower file first copies it up
// "with the same metadata (owner, mode, mtime ...) ... Finally any extended attributes are copied
// up" (overlayfs.rst, Non-directories). Each case does one such operation through the merged view
// and checks the merged file, the copy in the upper layer, and that the lower layer is untouched.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/fd.hpp"
#include "conformance/overlay/helpers.hpp"

namespace ctb::conformance::overlay {
namespace {

enum class Op { write, chmod, chown, truncate };

constexpr const char* kXattr = "user.ctbench";
constexpr const char* kXattrValue = "copy-up";
constexpr const char* kAppended = "appended by ctbench\n";
constexpr off_t kTruncatedSize = 10;
constexpr mode_t kLowerMode = 0640, kNewMode = 0604;
constexpr uid_t kLowerUid = 1001, kNewUid = 2001;
constexpr gid_t kLowerGid = 1002, kNewGid = 2002;

// 64 KiB of numbered lines: large enough that a partial data copy would show in the hash.
std::string lower_content() {
    std::string s;
    for (int i = 0; s.size() < 64 * 1024; ++i) s += fmt::format("ctbench overlay copy-up line {:05}\n", i);
    return s;
}

FileSpec lower_file() {
    return {.content = lower_content(), .mode = kLowerMode, .uid = kLowerUid, .gid = kLowerGid,
            .mtime = kLowerMtime, .xattrs = {{kXattr, kXattrValue}}};
}

const char* name_of(Op op) {
    switch (op) {
        case Op::write: return "write";
        case Op::chmod: return "chmod";
        case Op::chown: return "chown";
        case Op::truncate: return "truncate";
    }
    return "?";
}

// The operation through the merged view; 0 or its errno.
int perform(Op op, const std::string& path) {
    switch (op) {
        case Op::chmod: return errno_of(::chmod(path.c_str(), kNewMode));
        case Op::chown: return errno_of(::chown(path.c_str(), kNewUid, kNewGid));
        case Op::truncate: return errno_of(::truncate(path.c_str(), kTruncatedSize));
        case Op::write: {
            UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
            if (!fd) return errno;
            std::string_view text = kAppended;
            ssize_t n = ::write(fd.get(), text.data(), text.size());
            if (n < 0) return errno;
            return static_cast<std::size_t>(n) == text.size() ? 0 : EIO;
        }
    }
    return EINVAL;
}

// What the file must look like afterwards, in the merged view and in the upper copy.
struct Expected {
    std::string content;
    mode_t mode = kLowerMode;
    uid_t uid = kLowerUid;
    gid_t gid = kLowerGid;
    bool mtime_kept = true;  // chmod/chown keep the lower mtime; write/truncate set it to now
};

Expected expected_after(Op op) {
    Expected e{.content = lower_content()};
    switch (op) {
        case Op::chmod: e.mode = kNewMode; break;
        case Op::chown: e.uid = kNewUid, e.gid = kNewGid; break;
        case Op::write: e.content += kAppended, e.mtime_kept = false; break;
        case Op::truncate: e.content.resize(kTruncatedSize), e.mtime_kept = false; break;
    }
    return e;
}

std::int64_t now_coarse_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &t);
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

void check_file(Checks& c, const std::string& view, const json& st, const Expected& e, std::int64_t op_start_ns) {
    if (st.value("type", "") != "file") {
        c.expect(false, view + " file is missing or not a regular file");
        return;
    }
    c.expect(st["sha256"] == sha256_of(e.content), view + " content is not the expected content");
    c.expect(st["mode"] == fmt::format("{:04o}", e.mode), fmt::format("{} mode is {}, want {:04o}", view,
                                                                       st["mode"].get<std::string>(), e.mode));
    c.expect(st["uid"] == e.uid && st["gid"] == e.gid, fmt::format("{} owner is {}:{}, want {}:{}", view,
                                                                   st["uid"].dump(), st["gid"].dump(), e.uid, e.gid));
    std::int64_t mtime = st["mtime_ns"];
    if (e.mtime_kept)
        c.expect(mtime == kLowerMtime * 1'000'000'000, view + " mtime was not kept from the lower file");
    else
        c.expect(mtime >= op_start_ns - 1'000'000'000, view + " mtime was not updated by the operation");
    c.expect(st["xattrs"].value(kXattr, "") == kXattrValue, view + " lost the lower file's " + std::string(kXattr));
}

Verdict copy_up_case(Scratch& s, Op op) {
    Layers l = make_layers(s);
    make_file(l.lower + "/file", lower_file());
    json lower_before = tree_state(l.lower);
    // metacopy=off: a host whose kernel enables metacopy by default must still copy the data.
    s.mount(l.merged, l.options("metacopy=off"));

    std::int64_t start = now_coarse_ns();
    if (int err = perform(op, l.merged + "/file"); err != 0)
        return Verdict::fail(fmt::format("{} of a lower file through the overlay failed: {}", name_of(op), err_name(err)),
                             {{"lower", lower_before["file"]}});
    Expected e = expected_after(op);
    json merged = file_state(l.merged + "/file"), upper = file_state(l.upper + "/file");
    Checks c;
    check_file(c, "merged", merged, e, start);
    check_file(c, "upper", upper, e, start);
    if (auto changed = changed_since(l.lower, lower_before, "the lower layer")) return *changed;
    return c.verdict({{"operation", name_of(op)}, {"lower", lower_before["file"]}, {"merged", merged},
                      {"upper", upper}, {"lower_unchanged", true}});
}

Verdict run(const CaseContext& ctx, Op op) {
    return run_isolated(ctx, [op](Scratch& s) { return copy_up_case(s, op); });
}

}  // namespace

CTB_CONFORMANCE_CASE({
    .id = "overlay.copy_up.write",
    .reference = kDocNonDirs,
    .needs = needs(),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run(ctx, Op::write); },
});
CTB_CONFORMANCE_CASE({
    .id = "overlay.copy_up.chmod",
    .reference = kDocNonDirs,
    .needs = needs(),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run(ctx, Op::chmod); },
});
CTB_CONFORMANCE_CASE({
    .id = "overlay.copy_up.chown",
    .reference = kDocNonDirs,
    .needs = needs(),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run(ctx, Op::chown); },
});
CTB_CONFORMANCE_CASE({
    .id = "overlay.copy_up.truncate",
    .reference = kDocNonDirs,
    .needs = needs(),
    .timeout = kTimeout,
    .body = [](const CaseContext& ctx) { return run(ctx, Op::truncate); },
});

}  // namespace ctb::conformance::overlay
