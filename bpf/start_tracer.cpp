#include "bpf/start_tracer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "bpf/libbpf_log.hpp"
#include "bpf/syscalls.hpp"
#include "start_trace.skel.h"

namespace ctb::bpf {
namespace {


// The programs of one kind, in the skeleton's order; the other kind's are never loaded.
std::vector<bpf_program*> programs(start_trace* s, bool btf) {
    auto& p = s->progs;
    if (btf)
        return {p.ctb_st_enter_b, p.ctb_st_exit_b, p.ctb_st_switch_b, p.ctb_st_fork_b, p.ctb_st_exec_b,
                p.ctb_st_pexit_b, p.ctb_st_cgmk_b, p.ctb_st_cgrm_b, p.ctb_st_cgat_b, p.ctb_st_cgrl_b};
    return {p.ctb_st_enter_r, p.ctb_st_exit_r, p.ctb_st_switch_r, p.ctb_st_fork_r, p.ctb_st_exec_r,
            p.ctb_st_pexit_r, p.ctb_st_cgmk_r, p.ctb_st_cgrm_r, p.ctb_st_cgat_r, p.ctb_st_cgrl_r};
}

// rodata is const volatile in the skeleton; it is writable until load.
void mark_syscalls(volatile const __u8* table, const std::vector<long>& nrs) {
    auto* writable = const_cast<volatile __u8*>(table);
    for (long nr : nrs)
        if (nr >= 0 && nr < CTB_MAX_SYSCALL) writable[nr] = 1;
}

}  // namespace

Result<std::unique_ptr<StartTracer>> StartTracer::open(const std::vector<std::string>& attachable) {
    auto kind = choose_program_kind(attachable, "start tracer");
    if (!kind) return fail(kind.error());
    bool btf = *kind == "tp_btf";
    std::unique_ptr<StartTracer> t(new StartTracer());
    t->kind_ = *kind;
    LibbpfCapture log;
    t->skel_ = start_trace__open();
    if (!t->skel_) return fail(sys_error("open skeleton", "start_trace", errno));
    for (bpf_program* p : programs(t->skel_, !btf)) bpf_program__set_autoload(p, false);
    mark_syscalls(t->skel_->rodata->fd_arg0, fd_first_argument_syscalls());
    mark_syscalls(t->skel_->rodata->fd_ret, fd_returning_syscalls());
    if (int err = start_trace__load(t->skel_); err != 0) {
        return fail(Error{"load start tracer", t->kind_ + " programs", -err, log.tail()});
    }
    t->ring_ = ring_buffer__new(bpf_map__fd(t->skel_->maps.events), &StartTracer::on_event, t.get(), nullptr);
    if (!t->ring_) return fail(sys_error("open ring buffer", "start tracer events", errno));
    return t;
}

StartTracer::~StartTracer() {
    if (ring_) ring_buffer__free(ring_);
    if (skel_) start_trace__destroy(skel_);  // links, programs and maps
}

Status StartTracer::attach() {
    if (attached_) return {};
    LibbpfCapture log;
    bool btf = kind_ == "tp_btf";
    for (bpf_program* p : programs(skel_, btf)) {
        bpf_link* link = bpf_program__attach(p);
        if (!link) {
            int err = errno;
            detach();
            return fail(Error{"attach", fmt::format("{} program {}", kind_, bpf_program__name(p)), err, log.text()});
        }
        links_.push_back(link);
    }
    attached_ = true;
    return {};
}

void StartTracer::detach() {
    for (bpf_link* l : links_) bpf_link__destroy(l);
    links_.clear();
    attached_ = false;
}

Status StartTracer::follow(pid_t tid) {
    __u32 key = static_cast<__u32>(tid);
    __u8 one = 1;
    if (bpf_map__update_elem(skel_->maps.traced, &key, sizeof key, &one, sizeof one, BPF_ANY) != 0)
        return fail(sys_error("follow task", std::to_string(tid), errno));
    return {};
}

void StartTracer::forget_all() {
    __u32 key = 0, next = 0;
    int fd = bpf_map__fd(skel_->maps.traced);
    while (bpf_map_get_next_key(fd, nullptr, &next) == 0) {
        key = next;
        if (bpf_map_delete_elem(fd, &key) != 0) break;
    }
}

int StartTracer::on_event(void* self, void* data, std::size_t size) {
    if (size < sizeof(ctb_event)) return 0;
    ctb_event e;
    std::memcpy(&e, data, sizeof e);
    static_cast<StartTracer*>(self)->pending_.push_back(e);
    return 0;
}

std::vector<ctb_event> StartTracer::drain() {
    ring_buffer__consume(ring_);
    return std::exchange(pending_, {});
}

std::vector<std::uint64_t> StartTracer::stack(int id) const {
    std::vector<std::uint64_t> frames(CTB_STACK_DEPTH, 0);
    if (id < 0) return {};
    __u32 key = static_cast<__u32>(id);
    if (bpf_map__lookup_elem(skel_->maps.stacks, &key, sizeof key, frames.data(), frames.size() * sizeof(std::uint64_t), 0) != 0)
        return {};
    return frames;
}

std::string StackLabels::operator()(int id) {
    auto [it, fresh] = names_.try_emplace(id);
    if (fresh) it->second = blocking_point(tracer_.stack(id), symbols_);
    return it->second;
}

std::uint64_t StartTracer::events_seen() const { return skel_->bss->events_seen; }
std::uint64_t StartTracer::events_lost() const { return skel_->bss->events_lost; }

}  // namespace ctb::bpf
