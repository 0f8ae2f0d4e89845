// SPDX-License-Identifier: GPL-2.0
/* The start tracer: follows one process tree (the runtime under test and everything it forks)
 * and streams what each task does (syscalls with the file behind their descriptor, scheduling,
 * forks with clone flags, execs, exits, cgroup operations) through a ring buffer. The user side
 * (bpf/attribution.cpp) turns the stream into phases of the container start.
 *
 * Every hook exists twice, as tp_btf and as raw_tp: the user side chooses the kind the host can
 * attach (`ctbench doctor`) and disables autoload of the other. Both bodies read kernel memory
 * only through BPF_CORE_READ, so the same code is valid for either kind. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "start_trace.h"

#define CTB_S_IFMT 0170000
#define CTB_S_IFSOCK 0140000
#define CTB_TASK_DEAD 0x0080

char LICENSE[] SEC("license") = "GPL";

/* Filled by the user side before load: which syscalls take a descriptor as their first argument,
 * and which return one, so the file behind it is looked up (cgroupfs? a netlink socket?). */
const volatile __u8 fd_arg0[CTB_MAX_SYSCALL] = {};
const volatile __u8 fd_ret[CTB_MAX_SYSCALL] = {};

__u64 events_seen = 0;
__u64 events_lost = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);  /* tid */
    __type(value, __u8);
} traced SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 32 * 1024 * 1024);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(max_entries, 4096);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, CTB_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

static __always_inline bool is_traced(__u32 tid) { return bpf_map_lookup_elem(&traced, &tid) != NULL; }

static __always_inline __u32 pidns_level(struct task_struct *task) { return BPF_CORE_READ(task, thread_pid, level); }

static __always_inline struct ctb_event *reserve(__u32 kind, struct task_struct *task) {
    struct ctb_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&events_lost, 1);
        return NULL;
    }
    __sync_fetch_and_add(&events_seen, 1);
    __builtin_memset(e, 0, sizeof(*e));
    e->ts = bpf_ktime_get_ns();
    e->tid = BPF_CORE_READ(task, pid);
    e->tgid = BPF_CORE_READ(task, tgid);
    e->kind = kind;
    e->nr = -1;
    e->stack_id = -1;
    e->pidns_level = pidns_level(task);
    return e;
}

/* The file behind descriptor `fd` of `task`: its filesystem's magic and, for sockets, the family. */
static __always_inline void file_info(struct task_struct *task, long fd, struct ctb_file_info *out) {
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds)) return;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *f = NULL;
    bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
    if (!f) return;
    out->fs_magic = BPF_CORE_READ(f, f_inode, i_sb, s_magic);
    umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
    if ((mode & CTB_S_IFMT) == CTB_S_IFSOCK) {
        struct socket *sock = (struct socket *)BPF_CORE_READ(f, private_data);
        out->sock_family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
    }
}

static __always_inline int on_sys_enter(struct pt_regs *regs, long nr) {
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    if (!is_traced(BPF_CORE_READ(task, pid))) return 0;
    struct ctb_event *e = reserve(CTB_EV_SYS_ENTER, task);
    if (!e) return 0;
    e->nr = nr;
    e->arg0 = BPF_CORE_READ(regs, di);
    e->arg1 = BPF_CORE_READ(regs, si);
    if (nr >= 0 && nr < CTB_MAX_SYSCALL && fd_arg0[nr]) file_info(task, (long)e->arg0, &e->file);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

static __always_inline int on_sys_exit(struct pt_regs *regs, long ret) {
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    if (!is_traced(BPF_CORE_READ(task, pid))) return 0;
    struct ctb_event *e = reserve(CTB_EV_SYS_EXIT, task);
    if (!e) return 0;
    long nr = BPF_CORE_READ(regs, orig_ax);
    e->nr = nr;
    e->ret = ret;
    if (nr >= 0 && nr < CTB_MAX_SYSCALL && fd_ret[nr] && ret >= 0) file_info(task, ret, &e->file);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

static __always_inline int on_switch(void *ctx, struct task_struct *prev, struct task_struct *next,
                                     unsigned int prev_state) {
    __u32 prev_tid = BPF_CORE_READ(prev, pid), next_tid = BPF_CORE_READ(next, pid);
    if (is_traced(prev_tid)) {
        struct ctb_event *e = reserve(CTB_EV_SWITCH_OUT, prev);
        if (e) {
            e->arg0 = prev_state;
            /* Where it blocked: the kernel stack of prev, which is still current here. */
            if (prev_state != 0) e->stack_id = bpf_get_stackid(ctx, &stacks, 0);
            bpf_ringbuf_submit(e, 0);
        }
        if (prev_state & CTB_TASK_DEAD) bpf_map_delete_elem(&traced, &prev_tid);
    }
    if (is_traced(next_tid)) {
        struct ctb_event *e = reserve(CTB_EV_SWITCH_IN, next);
        if (e) bpf_ringbuf_submit(e, 0);
    }
    return 0;
}

static __always_inline int on_newtask(struct task_struct *task, __u64 clone_flags) {
    struct task_struct *parent = (struct task_struct *)bpf_get_current_task();
    if (!is_traced(BPF_CORE_READ(parent, pid))) return 0;
    __u32 child = BPF_CORE_READ(task, pid);
    __u8 one = 1;
    bpf_map_update_elem(&traced, &child, &one, BPF_ANY);
    struct ctb_event *e = reserve(CTB_EV_FORK, parent);
    if (!e) return 0;
    e->arg0 = child;
    e->arg1 = clone_flags;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

static __always_inline int on_task_event(struct task_struct *task, __u32 kind) {
    if (!is_traced(BPF_CORE_READ(task, pid))) return 0;
    struct ctb_event *e = reserve(kind, task);
    if (e) bpf_ringbuf_submit(e, 0);
    return 0;
}

static __always_inline int on_cgroup(__u32 op) {
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    if (!is_traced(BPF_CORE_READ(task, pid))) return 0;
    struct ctb_event *e = reserve(CTB_EV_CGROUP, task);
    if (!e) return 0;
    e->arg0 = op;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* ---- tp_btf: typed arguments straight from the tracepoint's BTF ---------------------------- */

SEC("tp_btf/sys_enter")
int BPF_PROG(ctb_st_enter_b, struct pt_regs *regs, long nr) { return on_sys_enter(regs, nr); }
SEC("tp_btf/sys_exit")
int BPF_PROG(ctb_st_exit_b, struct pt_regs *regs, long ret) { return on_sys_exit(regs, ret); }
SEC("tp_btf/sched_switch")
int BPF_PROG(ctb_st_switch_b, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int state) {
    return on_switch(ctx, prev, next, state);
}
SEC("tp_btf/task_newtask")
int BPF_PROG(ctb_st_fork_b, struct task_struct *task, __u64 flags) { return on_newtask(task, flags); }
SEC("tp_btf/sched_process_exec")
int BPF_PROG(ctb_st_exec_b, struct task_struct *p) { return on_task_event(p, CTB_EV_EXEC); }
SEC("tp_btf/sched_process_exit")
int BPF_PROG(ctb_st_pexit_b, struct task_struct *p) { return on_task_event(p, CTB_EV_EXIT); }
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(ctb_st_cgmk_b) { return on_cgroup(CTB_CG_MKDIR); }
SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(ctb_st_cgrm_b) { return on_cgroup(CTB_CG_RMDIR); }
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(ctb_st_cgat_b) { return on_cgroup(CTB_CG_ATTACH); }
SEC("tp_btf/cgroup_release")
int BPF_PROG(ctb_st_cgrl_b) { return on_cgroup(CTB_CG_RELEASE); }

/* ---- raw_tp: the same arguments as raw u64s (BPF_PROG unpacks them the same way) ------------ */

SEC("raw_tp/sys_enter")
int BPF_PROG(ctb_st_enter_r, struct pt_regs *regs, long nr) { return on_sys_enter(regs, nr); }
SEC("raw_tp/sys_exit")
int BPF_PROG(ctb_st_exit_r, struct pt_regs *regs, long ret) { return on_sys_exit(regs, ret); }
SEC("raw_tp/sched_switch")
int BPF_PROG(ctb_st_switch_r, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int state) {
    return on_switch(ctx, prev, next, state);
}
SEC("raw_tp/task_newtask")
int BPF_PROG(ctb_st_fork_r, struct task_struct *task, __u64 flags) { return on_newtask(task, flags); }
SEC("raw_tp/sched_process_exec")
int BPF_PROG(ctb_st_exec_r, struct task_struct *p) { return on_task_event(p, CTB_EV_EXEC); }
SEC("raw_tp/sched_process_exit")
int BPF_PROG(ctb_st_pexit_r, struct task_struct *p) { return on_task_event(p, CTB_EV_EXIT); }
SEC("raw_tp/cgroup_mkdir")
int BPF_PROG(ctb_st_cgmk_r) { return on_cgroup(CTB_CG_MKDIR); }
SEC("raw_tp/cgroup_rmdir")
int BPF_PROG(ctb_st_cgrm_r) { return on_cgroup(CTB_CG_RMDIR); }
SEC("raw_tp/cgroup_attach_task")
int BPF_PROG(ctb_st_cgat_r) { return on_cgroup(CTB_CG_ATTACH); }
SEC("raw_tp/cgroup_release")
int BPF_PROG(ctb_st_cgrl_r) { return on_cgroup(CTB_CG_RELEASE); }
