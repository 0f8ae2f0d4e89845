#include "benches/overlayio/tracing.hpp"

#include <ftw.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>

#include "common/files.hpp"
#include "reports/requirements.hpp"

namespace ctb::bench::overlayio {
namespace {

std::vector<std::string> attachable(const report::HostProbe& host) {
    std::vector<std::string> kinds;
    for (const auto& [kind, f] : host.bpf_program_types)
        if (f.available) kinds.push_back(kind);
    return kinds;
}

// nftw has no user pointer: the walk below is single-threaded and collects into this.
std::set<std::pair<std::uint32_t, std::uint64_t>>* g_collect = nullptr;

int collect(const char*, const struct stat* st, int, struct FTW*) {
    g_collect->insert({bpf::kernel_dev(st->st_dev), st->st_ino});
    return 0;
}

}  // namespace

Result<std::pair<std::string, std::uint32_t>> backing_disk(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return fail(sys_error("stat", path));
    std::string sys = fmt::format("/sys/dev/block/{}:{}", major(st.st_dev), minor(st.st_dev));
    if (!std::filesystem::exists(sys))
        return fail(plain_error("find backing disk", path, fmt::format("{} is not a block device", sys)));
    std::string dev = fmt::format("{}:{}", major(st.st_dev), minor(st.st_dev));
    if (std::filesystem::exists(sys + "/partition")) {
        auto parent = read_file(std::filesystem::canonical(sys).parent_path().string() + "/dev");
        if (!parent) return fail(parent.error());
        dev = parent->substr(0, parent->find('\n'));
    }
    unsigned maj = 0, min = 0;
    if (std::sscanf(dev.c_str(), "%u:%u", &maj, &min) != 2)
        return fail(plain_error("parse", sys, "unexpected dev '" + dev + "'"));
    return std::pair{dev, (maj << 20) | min};
}

IoTracing IoTracing::open(const report::HostProbe& host, const Env& env) {
    IoTracing t;
    if (auto why = unmet_requirement({Requirement::Kind::bpf_tracing, ""}, host); !why.empty()) {
        t.off_reason_ = why;
        return t;
    }
    auto disk = backing_disk(env.dir());
    if (!disk) {
        t.off_reason_ = disk.error().message();
        return t;
    }
    struct stat st{}, tst{};
    ::stat(env.dir().c_str(), &st);
    ::stat(env.tmpfs_dir().c_str(), &tst);
    t.layers_.backing_dev = bpf::kernel_dev(st.st_dev);
    t.layers_.tmpfs_dev = bpf::kernel_dev(tst.st_dev);
    bool ext4 = fs_type(env.dir()) == "ext4";
    auto tracer = bpf::IoTracer::open({attachable(host), disk->second, ext4});
    if (!tracer) {
        t.off_reason_ = tracer.error().message();
        return t;
    }
    t.tracer_ = std::move(*tracer);
    t.info_ = {t.tracer_->program_kind(), disk->first, ext4,
               ext4 ? "" : "copy-ups are detected through ext4_allocate_inode; the backing filesystem is " +
                               fs_type(env.dir())};
    return t;
}

std::string IoTracing::label() const { return tracer_ ? tracer_->program_kind() : "off: " + off_reason_; }

Status IoTracing::watch_rootfs(const Env& env, const std::vector<std::string>& lower_dirs) {
    if (!tracer_) return {};
    layers_.lower.clear();
    g_collect = &layers_.lower;
    for (const auto& d : lower_dirs)
        if (::nftw(d.c_str(), collect, 32, FTW_PHYS | FTW_MOUNT) != 0) {
            g_collect = nullptr;
            return fail(sys_error("walk lower layer", d));
        }
    g_collect = nullptr;
    // overlayfs works in <workdir>/work.
    std::string work = env.work() + "/work";
    struct stat st{};
    if (::stat(work.c_str(), &st) != 0) return fail(sys_error("stat", work));
    return tracer_->watch_workdir(bpf::kernel_dev(st.st_dev), st.st_ino);
}

Result<TracedDoc> IoTracing::around(const std::string& where, const std::function<Result<nlohmann::json>()>& run,
                                    bool time_calls) {
    if (!tracer_) {
        auto doc = run();
        if (!doc) return fail(doc.error());
        return TracedDoc{std::move(*doc), nullptr};
    }
    tracer_->reset();
    if (auto s = tracer_->follow(static_cast<pid_t>(::syscall(SYS_gettid))); !s) return fail(s.error());
    if (auto s = tracer_->attach(time_calls); !s) return fail(s.error());
    auto doc = run();
    tracer_->detach();
    auto snap = tracer_->snapshot();
    tracer_->reset();
    if (!doc) return fail(doc.error());
    auto info = info_;
    info.timed_calls = time_calls;
    auto summary = bpf::io_summary(snap, layers_, info);
    summary["window"] = "the engine's whole run for this series (" + where + "), every sample traced";
    return TracedDoc{std::move(*doc), std::move(summary)};
}

}  // namespace ctb::bench::overlayio
