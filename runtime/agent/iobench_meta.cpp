// `iobench` namespace workloads: metadata operations per second, copy-up of lower-layer files,
// and path lookups. Each measures one kind of operation over many files and reports one rate (or
// one mean time) per repetition, so the parent gets a series of samples from one container start.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>

#include "common/fd.hpp"
#include "iobench.hpp"

namespace agent::io {
namespace {

std::string dir_arg(const Args& args, const char* workload) {
    if (args.pos.size() < 2) throw UsageError(std::string("iobench ") + workload + ": DIR is missing");
    return args.pos[1];
}

// Runs op(i) for i in [0, n) and returns operations per second.
double rate(std::size_t n, const std::function<void(std::size_t)>& op) {
    double t0 = now();
    for (std::size_t i = 0; i < n; ++i) op(i);
    double s = now() - t0;
    return s > 0 ? static_cast<double>(n) / s : 0.0;
}

std::string name(const std::string& dir, const char* prefix, std::size_t i) {
    return dir + "/" + prefix + std::to_string(i);
}

// Reads every entry of `dir` once; returns how many there were.
std::size_t read_dir(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) throw SysError("opendir " + dir, errno);
    std::size_t n = 0;
    while (::readdir(d)) ++n;
    ::closedir(d);
    return n;
}

// One repetition in a fresh directory; everything it creates is removed before it returns.
json meta_pass(const std::string& dir, std::size_t files) {
    if (::mkdir(dir.c_str(), 0755) != 0) throw SysError("mkdir " + dir, errno);
    json r;
    r["create"] = rate(files, [&](std::size_t i) {
        int fd = ::open(name(dir, "f", i).c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) throw SysError("create " + name(dir, "f", i), errno);
        ::close(fd);
    });
    r["stat"] = rate(files, [&](std::size_t i) {
        struct stat st{};
        if (::stat(name(dir, "f", i).c_str(), &st) != 0) throw SysError("stat " + name(dir, "f", i), errno);
    });
    r["open_close"] = rate(files, [&](std::size_t i) {
        int fd = ::open(name(dir, "f", i).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw SysError("open " + name(dir, "f", i), errno);
        ::close(fd);
    });
    // Entries per second over 10 full listings (one listing of a few thousand entries is too
    // short for the clock).
    std::size_t seen = 0;
    double t0 = now();
    for (int pass = 0; pass < 10; ++pass) seen += read_dir(dir);
    double s = now() - t0;
    if (seen != 10 * (files + 2)) throw SysError("readdir " + dir + " (wrong entry count)", EIO);
    r["readdir"] = s > 0 ? static_cast<double>(seen) / s : 0.0;
    r["rename"] = rate(files, [&](std::size_t i) {
        if (::rename(name(dir, "f", i).c_str(), name(dir, "g", i).c_str()) != 0)
            throw SysError("rename " + name(dir, "f", i), errno);
    });
    r["unlink"] = rate(files, [&](std::size_t i) {
        if (::unlink(name(dir, "g", i).c_str()) != 0) throw SysError("unlink " + name(dir, "g", i), errno);
    });
    if (::rmdir(dir.c_str()) != 0) throw SysError("rmdir " + dir, errno);
    return r;
}

// Best-effort removal of one repetition's directory after a failure.
void remove_pass_dir(const std::string& dir, std::size_t files) {
    for (std::size_t i = 0; i < files; ++i) {
        ::unlink(name(dir, "f", i).c_str());
        ::unlink(name(dir, "g", i).c_str());
    }
    ::rmdir(dir.c_str());
}

// Reads the whole file in 1 MiB blocks through the page cache; MiB/s.
double read_whole(const std::string& path, AlignedBuffer& buf) {
    ctb::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw SysError("open " + path, errno);
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) throw SysError("fstat " + path, errno);
    auto size = static_cast<std::uint64_t>(st.st_size);
    double t0 = now();
    for (std::uint64_t off = 0; off < size; off += buf.size())
        pread_all(fd.get(), buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - off)), off,
                  path);
    return mib_per_s(size, now() - t0);
}

// The first modification of a lower-layer file: what makes overlayfs copy it up.
double copy_up_ms(const std::string& path, const std::string& op) {
    double t0 = now();
    if (op == "chmod") {
        if (::chmod(path.c_str(), 0600) != 0) throw SysError("chmod " + path, errno);
    } else {
        ctb::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) throw SysError("open for write " + path, errno);
        pwrite_all(fd.get(), "w", 1, 0, path);
    }
    return (now() - t0) * 1e3;
}

}  // namespace

int cmd_meta(const Args& args) {
    std::string dir = dir_arg(args, "meta");
    auto files = static_cast<std::size_t>(int_option(args, "files", 2000, 1, 1 << 22));
    int reps = static_cast<int>(int_option(args, "reps", 5, 1, 1000));
    json ops = json::object();
    for (int r = 0; r < reps; ++r) {
        std::string d = dir + "/meta-" + std::to_string(::getpid()) + "-" + std::to_string(r);
        json pass;
        try {
            pass = meta_pass(d, files);
        } catch (...) {
            remove_pass_dir(d, files);
            throw;
        }
        for (auto& [op, v] : pass.items()) ops[op].push_back(v);
    }
    emit({{"ok", true}, {"workload", "meta"}, {"dir", dir}, {"files", files}, {"unit", "ops/s"}, {"ops", ops},
          {"readdir_unit", "entries/s"}});
    return 0;
}

// Files DIR/f0 .. f<count-1> exist in a lower layer. For each: a warm-up read (not timed), the
// read before copy-up (from the lower layer), the copy-up itself, and the read after it (from
// the upper layer; with metacopy and --op chmod, still from the lower one).
int cmd_copyup(const Args& args) {
    std::string dir = dir_arg(args, "copyup");
    auto count = static_cast<std::size_t>(int_option(args, "count", 5, 1, 100000));
    std::string op = args.value("op").value_or("write");
    if (op != "write" && op != "chmod") throw UsageError("--op: expected write or chmod, got '" + op + "'");
    AlignedBuffer buf(std::size_t{1} << 20);
    json up = json::array(), before = json::array(), after = json::array();
    for (std::size_t i = 0; i < count; ++i) {
        std::string path = name(dir, "f", i);
        read_whole(path, buf);
        before.push_back(read_whole(path, buf));
        up.push_back(copy_up_ms(path, op));
        after.push_back(read_whole(path, buf));
    }
    emit({{"ok", true}, {"workload", "copyup"}, {"op", op}, {"dir", dir}, {"unit", "ms"}, {"samples", up},
          {"read_before_mib_per_s", before}, {"read_after_mib_per_s", after}, {"cache", "warm (read once before)"}});
    return 0;
}

// Files DIR/s<r>-<i> exist (for r < reps, i < files). Repetition r stats its own set twice: the
// first pass builds the dentries (cold for overlayfs on a fresh mount), the second finds them.
int cmd_lookup(const Args& args) {
    std::string dir = dir_arg(args, "lookup");
    auto files = static_cast<std::size_t>(int_option(args, "files", 1000, 1, 1 << 22));
    int reps = static_cast<int>(int_option(args, "reps", 5, 1, 1000));
    json cold = json::array(), warm = json::array();
    for (int r = 0; r < reps; ++r) {
        std::string prefix = "s" + std::to_string(r) + "-";
        for (json* out : {&cold, &warm}) {
            double ops = rate(files, [&](std::size_t i) {
                struct stat st{};
                std::string p = name(dir, prefix.c_str(), i);
                if (::stat(p.c_str(), &st) != 0) throw SysError("stat " + p, errno);
            });
            out->push_back(ops > 0 ? 1e6 / ops : 0.0);
        }
    }
    emit({{"ok", true}, {"workload", "lookup"}, {"dir", dir}, {"files", files}, {"unit", "us"}, {"samples", cold},
          {"warm_us", warm}});
    return 0;
}

}  // namespace agent::io
