#include "bpf/io_tracer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "bpf/libbpf_log.hpp"
#include "io_trace.skel.h"

namespace ctb::bpf {
namespace {


struct Programs {
    std::vector<bpf_program*> always;
    bpf_program* copy_up;
    bpf_program* time_calls;  // sys_enter: only for windows that ask for timed calls
};

// The programs of one kind; the other kind's are never loaded.
Programs programs(io_trace* s, bool btf) {
    auto& p = s->progs;
    if (btf)
        return {{p.ctb_io_fork_b, p.ctb_io_pexit_b, p.ctb_io_sysx_b, p.ctb_io_rqi_b, p.ctb_io_rqc_b, p.ctb_io_pget_b,
                 p.ctb_io_padd_b, p.ctb_io_pdirty_b},
                p.ctb_io_cpup_b, p.ctb_io_syse_b};
    return {{p.ctb_io_fork_r, p.ctb_io_pexit_r, p.ctb_io_sysx_r, p.ctb_io_rqi_r, p.ctb_io_rqc_r, p.ctb_io_pget_r,
             p.ctb_io_padd_r, p.ctb_io_pdirty_r},
            p.ctb_io_cpup_r, p.ctb_io_syse_r};
}

std::vector<bpf_program*> all_of(const Programs& p) {
    auto v = p.always;
    v.push_back(p.copy_up);
    v.push_back(p.time_calls);
    return v;
}

// rodata is const volatile in the skeleton; it is writable until load.
void mark(volatile const __u8* table, std::initializer_list<long> nrs, __u8 kind) {
    auto* writable = const_cast<volatile __u8*>(table);
    for (long nr : nrs)
        if (nr >= 0 && nr < CTB_IO_MAX_SYSCALL) writable[nr] = kind;
}

void clear_map(bpf_map* map, std::size_t key_size) {
    int fd = bpf_map__fd(map);
    std::vector<unsigned char> key(key_size);
    while (bpf_map_get_next_key(fd, nullptr, key.data()) == 0)
        if (bpf_map_delete_elem(fd, key.data()) != 0) break;
}

}  // namespace

std::uint32_t kernel_dev(dev_t dev) { return (static_cast<std::uint32_t>(major(dev)) << 20) | minor(dev); }

Result<std::unique_ptr<IoTracer>> IoTracer::open(const IoTracerOptions& o) {
    auto kind = choose_program_kind(o.attachable, "io tracer");
    if (!kind) return fail(kind.error());
    bool btf = *kind == "tp_btf";
    std::unique_ptr<IoTracer> t(new IoTracer());
    t->kind_ = *kind;
    t->copy_up_ = o.ext4_copy_up;
    LibbpfCapture log;
    t->skel_ = io_trace__open();
    if (!t->skel_) return fail(sys_error("open skeleton", "io_trace", errno));
    for (bpf_program* p : all_of(programs(t->skel_, !btf))) bpf_program__set_autoload(p, false);
    if (!o.ext4_copy_up) bpf_program__set_autoload(programs(t->skel_, btf).copy_up, false);
    t->skel_->rodata->target_disk = o.target_disk;
    mark(t->skel_->rodata->io_syscall, {SYS_read, SYS_pread64, SYS_readv, SYS_preadv, SYS_preadv2}, CTB_IO_SYS_READ);
    mark(t->skel_->rodata->io_syscall, {SYS_write, SYS_pwrite64, SYS_writev, SYS_pwritev, SYS_pwritev2},
         CTB_IO_SYS_WRITE);
    mark(t->skel_->rodata->io_syscall, {SYS_pread64}, CTB_IO_SYS_READ | CTB_IO_SYS_TIMED);
    mark(t->skel_->rodata->io_syscall, {SYS_pwrite64}, CTB_IO_SYS_WRITE | CTB_IO_SYS_TIMED);
    if (int err = io_trace__load(t->skel_); err != 0) {
        return fail(Error{"load io tracer", t->kind_ + " programs", -err, log.tail()});
    }
    return t;
}

IoTracer::~IoTracer() {
    detach();
    if (skel_) io_trace__destroy(skel_);  // programs and maps
}

Status IoTracer::attach(bool time_calls) {
    if (!links_.empty()) return {};
    LibbpfCapture log;
    auto p = programs(skel_, kind_ == "tp_btf");
    auto list = p.always;
    if (copy_up_) list.push_back(p.copy_up);
    if (time_calls) list.push_back(p.time_calls);
    for (bpf_program* prog : list) {
        bpf_link* link = bpf_program__attach(prog);
        if (!link) {
            int err = errno;
            detach();
            return fail(Error{"attach", fmt::format("{} program {}", kind_, bpf_program__name(prog)), err, log.text()});
        }
        links_.push_back(link);
    }
    return {};
}

void IoTracer::detach() {
    for (bpf_link* l : links_) bpf_link__destroy(l);
    links_.clear();
}

Status IoTracer::follow(pid_t tid) {
    __u32 key = static_cast<__u32>(tid);
    __u8 one = 1;
    if (bpf_map__update_elem(skel_->maps.traced, &key, sizeof key, &one, sizeof one, BPF_ANY) != 0)
        return fail(sys_error("follow task", std::to_string(tid), errno));
    return {};
}

Status IoTracer::watch_workdir(std::uint32_t kdev, std::uint64_t ino) {
    ctb_io_dir_key key{kdev, 0, ino};
    __u8 one = 1;
    if (bpf_map__update_elem(skel_->maps.workdirs, &key, sizeof key, &one, sizeof one, BPF_ANY) != 0)
        return fail(sys_error("watch work directory", fmt::format("{}:{}", kdev, ino), errno));
    return {};
}

void IoTracer::reset() {
    clear_map(skel_->maps.traced, sizeof(__u32));
    clear_map(skel_->maps.inflight, sizeof(__u64));
    clear_map(skel_->maps.files, sizeof(ctb_io_file_key));
    clear_map(skel_->maps.copyups, sizeof(__u32));
    clear_map(skel_->maps.timed_calls, sizeof(__u32));
    // .bss is memory-mapped: the kernel side sees the zeroes at once (no program runs when
    // detached, and reset is only called then).
    std::memset(&skel_->bss->totals, 0, sizeof skel_->bss->totals);
}

IoSnapshot IoTracer::snapshot() const {
    IoSnapshot s;
    std::memcpy(&s.totals, &skel_->bss->totals, sizeof s.totals);
    int fd = bpf_map__fd(skel_->maps.files);
    ctb_io_file_key key{}, next{};
    const ctb_io_file_key* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        ctb_io_file_value v{};
        if (bpf_map_lookup_elem(fd, &next, &v) == 0) s.files.emplace_back(next, v);
        key = next;
        prev = &key;
    }
    return s;
}

}  // namespace ctb::bpf
