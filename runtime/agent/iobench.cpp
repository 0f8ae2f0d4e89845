// `iobench`: the data half of the I/O engine. Sequential reads and writes in 1 MiB blocks and
// random reads and writes in 4 KiB blocks at queue depth 1, on one file laid out beforehand (so
// writes overwrite, as fio does, instead of measuring block allocation). O_DIRECT is asked for by
// default; a filesystem that refuses it (EINVAL at open or at the first transfer) gets buffered
// I/O and the JSON says so and why. Buffered reads run with the page cache dropped
// (fdatasync + POSIX_FADV_DONTNEED, the only drop an unprivileged container can do) or warmed (a
// full read first), and the resident share is measured before each timed pass (mincore).
#include "iobench.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/fd.hpp"

namespace agent::io {

AlignedBuffer::AlignedBuffer(std::size_t size) : size_(size) {
    data_ = static_cast<char*>(std::aligned_alloc(4096, size));
    if (!data_) throw SysError("allocate " + std::to_string(size) + " bytes", ENOMEM);
    // Not zeros: a filesystem or device that special-cases zero pages must not look faster.
    for (std::size_t i = 0; i < size; ++i) data_[i] = static_cast<char>('a' + i % 23);
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

namespace {

// The loop every whole transfer shares: `step(done)` moves what is left from offset `done` of the
// buffer (read/write at the file position, pread/pwrite at an offset), retried on EINTR and short
// counts; a read that hits the end of the file first is an error.
template <class Step>
void transfer_all(std::size_t len, const std::string& verb, const std::string& what, Step step) {
    const bool reading = verb == "read";
    for (std::size_t done = 0; done < len;) {
        ssize_t n = step(done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw SysError(verb + " " + what, errno);
        if (n == 0 && reading) throw SysError("read " + what + " (unexpected end of file)", EIO);
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace

void pread_all(int fd, char* buf, std::size_t len, std::uint64_t off, const std::string& what) {
    transfer_all(len, "read", what, [&](std::size_t done) {
        return ::pread(fd, buf + done, len - done, static_cast<off_t>(off + done));
    });
}

void pwrite_all(int fd, const char* buf, std::size_t len, std::uint64_t off, const std::string& what) {
    transfer_all(len, "write", what, [&](std::size_t done) {
        return ::pwrite(fd, buf + done, len - done, static_cast<off_t>(off + done));
    });
}

double cached_fraction(int fd, std::uint64_t size) {
    if (size == 0) return -1;
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return -1;
    long page = ::sysconf(_SC_PAGESIZE);
    std::size_t pages = (size + static_cast<std::uint64_t>(page) - 1) / static_cast<std::uint64_t>(page);
    std::vector<unsigned char> vec(pages);
    double share = -1;
    if (::mincore(map, size, vec.data()) == 0)
        share = static_cast<double>(std::count_if(vec.begin(), vec.end(), [](unsigned char c) { return c & 1; })) /
                static_cast<double>(pages);
    ::munmap(map, size);
    return share;
}

long long int_option(const Args& args, const std::string& name, long long fallback, long long min, long long max) {
    auto v = args.value(name);
    return v ? parse_int("--" + name, *v, min, max) : fallback;
}

namespace {

enum class Pattern { seq, rand };

struct Plan {
    std::string workload;  // seqread, seqwrite, randread, randwrite
    std::string path;
    bool write = false;
    Pattern pattern = Pattern::seq;
    std::size_t block = 0;
    std::uint64_t size = 0;  // file size in bytes
    std::uint64_t ops = 0;   // transfers per sample
    int reps = 0;
    bool want_direct = true;
    std::string cache;  // buffered reads: "drop" or "warm"
};

// xorshift64*: cheap and reproducible offsets (seeded per sample), so the engine never waits on
// its own random number generator.
struct Rng {
    std::uint64_t s;
    std::uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 2685821657736338717ULL;
    }
};

// Whole-file passes outside the timed window (the layout, a warm read) use plain write()/read()
// from the start of the file: the I/O tracer times only positional calls (bpf/io_trace.h), so its
// figure covers the timed transfers alone, as for fio, which lays out its file with write().
void write_sequential(int fd, const char* buf, std::size_t len, const std::string& what) {
    transfer_all(len, "write", what, [&](std::size_t done) { return ::write(fd, buf + done, len - done); });
}

void read_sequential(int fd, char* buf, std::size_t len, const std::string& what) {
    transfer_all(len, "read", what, [&](std::size_t done) { return ::read(fd, buf + done, len - done); });
}

// Creates (or re-creates) the file at full size with buffered writes, flushed: not timed. The
// writes have the workload's block size, as fio's layout: 1 MiB writes would leave large folios
// in the page cache, and a 4 KiB buffered write into one dirties (and later writes back) it all.
void lay_out(const Plan& p, const AlignedBuffer& buf) {
    ctb::UniqueFd fd(::open(p.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw SysError("create " + p.path, errno);
    // Allocated in one call first, as fio's layout does (fallocate=native): the extents come out
    // as contiguous as fio's, so an O_DIRECT pass walks the same kind of file. A filesystem
    // without fallocate (tmpfs has it, some FUSE ones do not) is simply written.
    if (::fallocate(fd.get(), 0, 0, static_cast<off_t>(p.size)) != 0 && errno != EOPNOTSUPP && errno != ENOSYS)
        throw SysError("fallocate " + p.path, errno);
    const std::size_t chunk = std::min<std::size_t>(buf.size(), p.block);
    for (std::uint64_t off = 0; off < p.size; off += chunk)
        write_sequential(fd.get(), buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(chunk, p.size - off)),
                         p.path);
    if (::fsync(fd.get()) != 0) throw SysError("fsync " + p.path, errno);
}

struct Opened {
    ctb::UniqueFd fd;
    bool direct = false;
    std::string refused;  // why O_DIRECT is not used ("" when it is, or was not asked for)
};

Opened open_for(const Plan& p, bool direct) {
    const int base = (p.write ? O_WRONLY : O_RDONLY) | O_CLOEXEC;
    std::string refused;
    if (direct) {
        int fd = ::open(p.path.c_str(), base | O_DIRECT);
        if (fd >= 0) return {ctb::UniqueFd(fd), true, ""};
        if (errno != EINVAL) throw SysError("open O_DIRECT " + p.path, errno);
        refused = "open O_DIRECT: EINVAL (the filesystem does not support direct I/O)";
    }
    ctb::UniqueFd fd(::open(p.path.c_str(), base));
    if (!fd) throw SysError("open " + p.path, errno);
    return {std::move(fd), false, refused};
}

// Before a timed pass: the page-cache state the plan asks for. Returns the resident share.
double prepare_cache(const Plan& p, AlignedBuffer& buf) {
    ctb::UniqueFd plain(::open(p.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!plain) throw SysError("open " + p.path, errno);
    // Everything but a warm read starts with the file's pages dropped, as fio's invalidate=1 does:
    // O_DIRECT writes would otherwise pay for invalidating cached pages, buffered writes would
    // dirty clean cached pages instead of new ones.
    if (!p.write && p.cache == "warm") {
        for (std::uint64_t off = 0; off < p.size; off += buf.size())
            read_sequential(plain.get(), buf.data(),
                            static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), p.size - off)), p.path);
    } else {
        ::fdatasync(plain.get());
        ::posix_fadvise(plain.get(), 0, 0, POSIX_FADV_DONTNEED);
    }
    return cached_fraction(plain.get(), p.size);
}

struct Pass {
    double seconds = 0;
    std::vector<double> lat_us;  // per transfer (random patterns only)
    std::uint64_t distinct_blocks = 0;  // random patterns: blocks visited (== ops while ops <= blocks)
};

// The blocks a random pass visits, drawn without replacement (a partial Fisher-Yates shuffle;
// a fresh permutation when the pass has more transfers than the file has blocks). fio does the
// same by default (its random map, norandommap=0): drawing with replacement revisits about
// ops^2 / (2 blocks) blocks, 32 of 1024 on 64 MiB, and a buffered cold read of a revisited block
// is a page-cache hit of a microsecond among 50-us misses, which pulls the mean and the median
// below fio's. Computed before the clock starts.
std::vector<std::uint64_t> random_blocks(const Plan& p, std::uint64_t seed) {
    const std::uint64_t blocks = p.size / p.block;
    Rng rng{seed * 0x9E3779B97F4A7C15ULL + 1};
    std::vector<std::uint64_t> perm(blocks), out;
    out.reserve(p.ops);
    std::uint64_t left = 0;
    for (std::uint64_t i = 0; i < p.ops; ++i) {
        if (left == 0) {
            for (std::uint64_t b = 0; b < blocks; ++b) perm[b] = b;
            left = blocks;
        }
        std::uint64_t j = rng.next() % left;  // pick among the blocks not yet visited
        out.push_back(perm[j]);
        perm[j] = perm[--left];
    }
    return out;
}

Pass timed_pass(const Plan& p, int fd, AlignedBuffer& buf, std::uint64_t seed) {
    Pass out;
    const auto order = p.pattern == Pattern::rand ? random_blocks(p, seed) : std::vector<std::uint64_t>{};
    if (p.pattern == Pattern::rand) out.lat_us.reserve(p.ops);
    double t0 = now();
    for (std::uint64_t i = 0; i < p.ops; ++i) {
        std::uint64_t off = (p.pattern == Pattern::seq ? i : order[i]) * p.block;
        double s = p.pattern == Pattern::rand ? now() : 0;
        if (p.write)
            pwrite_all(fd, buf.data(), p.block, off, p.path);
        else
            pread_all(fd, buf.data(), p.block, off, p.path);
        if (p.pattern == Pattern::rand) out.lat_us.push_back((now() - s) * 1e6);
    }
    // Writes are durable before the clock stops, in both modes (fio's end_fsync=1).
    if (p.write && ::fsync(fd) != 0) throw SysError("fsync " + p.path, errno);
    out.seconds = now() - t0;
    if (p.pattern == Pattern::rand) {  // after the clock: what the JSON says about the draw
        auto sorted = order;
        std::sort(sorted.begin(), sorted.end());
        out.distinct_blocks = static_cast<std::uint64_t>(std::unique(sorted.begin(), sorted.end()) - sorted.begin());
    }
    return out;
}

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto idx = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(idx, v.size() - 1)];
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
}

json run_plan(const Plan& p) {
    AlignedBuffer buf(p.block);
    AlignedBuffer layout(std::size_t{1} << 20);
    lay_out(p, layout);
    Opened o = open_for(p, p.want_direct);
    // The access-pattern hint fio gives by default (fadvise_hint=1): no read-ahead for random
    // reads, more of it for sequential ones.
    ::posix_fadvise(o.fd.get(), 0, 0, p.pattern == Pattern::rand ? POSIX_FADV_RANDOM : POSIX_FADV_SEQUENTIAL);
    json samples = json::array(), lat_mean = json::array(), lat_p50 = json::array(), lat_p99 = json::array();
    json cached = json::array(), seconds = json::array(), distinct = json::array();
    for (int r = 0; r < p.reps; ++r) {
        cached.push_back(prepare_cache(p, layout));
        Pass pass;
        try {
            pass = timed_pass(p, o.fd.get(), buf, static_cast<std::uint64_t>(r));
        } catch (const SysError& e) {
            // Some filesystems accept O_DIRECT at open and refuse the first transfer.
            if (!o.direct || e.err != EINVAL || r != 0) throw;
            o = Opened{ctb::UniqueFd(::open(p.path.c_str(), (p.write ? O_WRONLY : O_RDONLY) | O_CLOEXEC)), false,
                       "first O_DIRECT transfer: EINVAL (alignment or support refused by the filesystem)"};
            if (!o.fd) throw SysError("open " + p.path, errno);
            pass = timed_pass(p, o.fd.get(), buf, static_cast<std::uint64_t>(r));
        }
        samples.push_back(mib_per_s(p.ops * p.block, pass.seconds));
        seconds.push_back(pass.seconds);
        if (p.pattern == Pattern::rand) distinct.push_back(pass.distinct_blocks);
        if (!pass.lat_us.empty()) {
            lat_mean.push_back(mean(pass.lat_us));
            lat_p50.push_back(percentile(pass.lat_us, 0.5));
            lat_p99.push_back(percentile(std::move(pass.lat_us), 0.99));
        }
    }
    json doc{{"ok", true}, {"workload", p.workload}, {"path", p.path}, {"unit", "MiB/s"}, {"samples", samples},
             {"block_bytes", p.block}, {"file_bytes", p.size}, {"ops_per_sample", p.ops},
             {"mode", o.direct ? "direct" : "buffered"}, {"direct_refused", o.refused},
             {"cached_fraction_before", cached}, {"seconds", seconds}, {"bytes_per_sample", p.ops * p.block}};
    doc["cache"] = !p.write && p.cache == "warm" ? "warm" : "drop";
    if (p.pattern == Pattern::rand) doc["distinct_blocks"] = distinct;
    if (!lat_mean.empty()) {
        doc["lat_mean_us"] = lat_mean;
        doc["lat_p50_us"] = lat_p50;
        doc["lat_p99_us"] = lat_p99;
    }
    return doc;
}

Plan make_plan(const std::string& workload, const Args& args) {
    Plan p;
    p.workload = workload;
    p.path = args.pos.size() > 1 ? args.pos[1] : throw UsageError("iobench " + workload + ": PATH is missing");
    p.write = workload.ends_with("write");
    p.pattern = workload.starts_with("rand") ? Pattern::rand : Pattern::seq;
    p.block = p.pattern == Pattern::seq ? std::size_t{1} << 20 : std::size_t{4} << 10;
    p.size = static_cast<std::uint64_t>(int_option(args, "size", 64, 1, 1 << 20)) << 20;
    p.reps = static_cast<int>(int_option(args, "reps", 5, 1, 1000));
    p.ops = p.pattern == Pattern::seq ? p.size / p.block
                                      : static_cast<std::uint64_t>(int_option(args, "ops", 2048, 1, 1LL << 30));
    std::string mode = args.value("mode").value_or("direct");
    if (mode != "direct" && mode != "buffered") throw UsageError("--mode: expected direct or buffered, got '" + mode + "'");
    p.want_direct = mode == "direct";
    p.cache = args.value("cache").value_or("drop");
    if (p.cache != "drop" && p.cache != "warm") throw UsageError("--cache: expected drop or warm, got '" + p.cache + "'");
    return p;
}

int run_data(const std::string& workload, const Args& args) {
    Plan p = make_plan(workload, args);
    json doc;
    // The file is ours from lay_out on: removed on every path (a failed open leaves nothing).
    try {
        doc = run_plan(p);
    } catch (...) {
        ::unlink(p.path.c_str());
        throw;
    }
    ::unlink(p.path.c_str());
    emit(doc);
    return 0;
}

}  // namespace
}  // namespace agent::io

namespace agent {

int cmd_iobench(const Args& args) {
    const std::string& w = args.pos.at(0);
    if (w == "seqread" || w == "seqwrite" || w == "randread" || w == "randwrite") return io::run_data(w, args);
    if (w == "meta") return io::cmd_meta(args);
    if (w == "copyup") return io::cmd_copyup(args);
    if (w == "lookup") return io::cmd_lookup(args);
    throw UsageError("iobench: unknown workload '" + w + "' (seqread, seqwrite, randread, randwrite, meta, copyup, lookup)");
}

}  // namespace agent
