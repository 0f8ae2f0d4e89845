// SPDX-License-Identifier: GPL-2.0
/* The I/O tracer of the overlayio benches: block request latency on the backing disk, page-cache
 * lookups, insertions and dirtied pages of the followed process tree, bytes moved by its read and
 * write system calls per file (with the real file behind an overlayfs one: upper or lower layer),
 * copy-ups, and the durations of the followed tasks' positional reads and writes (pread64/pwrite64,
 * sys_enter to sys_exit: the kernel's own clock on the transfers an engine times). Everything is
 * summed in the kernel (bpf/io_trace.h says why and what).
 *
 * Copy-up has no tracepoint; what attaches here is ext4_allocate_inode. A copy-up creates its
 * new upper inode in the overlay's work directory (then renames it into place), so "an ext4 inode
 * allocated in a registered work directory by a followed task" starts one, and the end of that
 * task's system call ends it: count, latency and the pages dirtied meanwhile (the data copied).
 * Creates over whiteouts also go through the work directory and count too.
 *
 * As the start tracer, every hook exists as tp_btf and raw_tp; the user side loads one kind. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "io_trace.h"

#define CTB_OVERLAYFS_MAGIC 0x794c7630
#define CTB_PG_HEAD 6
#define CTB_REQ_OP_MASK 0xff
#define CTB_REQ_OP_WRITE 1

char LICENSE[] SEC("license") = "GPL";

/* Set by the user side before load. */
const volatile __u32 target_disk = 0;  /* kernel dev_t of the backing disk (whole device) */
const volatile __u8 io_syscall[CTB_IO_MAX_SYSCALL] = {}; /* enum ctb_io_syscall per number */

struct ctb_io_totals totals = {};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32); /* tid */
    __type(value, __u8);
} traced SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, __u64); /* struct request * */
    __type(value, __u64); /* issue time */
} inflight SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, struct ctb_io_file_key);
    __type(value, struct ctb_io_file_value);
} files SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, struct ctb_io_dir_key);
    __type(value, __u8);
} workdirs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);   /* tid with a copy-up in progress */
    __type(value, __u64); /* its start */
} copyups SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);   /* tid inside a timed (positional) read or write */
    __type(value, __u64); /* its sys_enter */
} timed_calls SEC(".maps");

static __always_inline __u32 current_tid(void) { return (__u32)bpf_get_current_pid_tgid(); }
static __always_inline bool is_traced(__u32 tid) { return bpf_map_lookup_elem(&traced, &tid) != NULL; }

static __always_inline __u32 log2_slot(__u64 us) {
    __u32 slot = 0;
    for (int i = 0; i < CTB_IO_SLOTS - 1; i++) {
        if (us < 2) break;
        us >>= 1;
        slot++;
    }
    return slot;
}

static __always_inline __u64 folio_pages(struct folio *folio) {
    unsigned long flags = 0;
    bpf_probe_read_kernel(&flags, sizeof(flags), &folio->flags);
    if (!(flags & (1UL << CTB_PG_HEAD))) return 1;
    if (bpf_core_field_exists(folio->_nr_pages)) return BPF_CORE_READ(folio, _nr_pages);
    return 1UL << (BPF_CORE_READ(folio, _flags_1) & 0xff);
}

/* ---- process tree ------------------------------------------------------------------------ */

static __always_inline int on_newtask(struct task_struct *task) {
    if (!is_traced(current_tid())) return 0;
    __u32 child = BPF_CORE_READ(task, pid);
    __u8 one = 1;
    if (bpf_map_update_elem(&traced, &child, &one, BPF_ANY) != 0) __sync_fetch_and_add(&totals.lost, 1);
    return 0;
}

static __always_inline int on_exit(struct task_struct *task) {
    __u32 tid = BPF_CORE_READ(task, pid);
    bpf_map_delete_elem(&traced, &tid);
    bpf_map_delete_elem(&copyups, &tid);
    bpf_map_delete_elem(&timed_calls, &tid);
    return 0;
}

/* ---- system calls: bytes per file, and the end of a copy-up -------------------------------- */

static __always_inline struct file *fd_file(long fd) {
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds)) return NULL;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *f = NULL;
    bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
    return f;
}

static __always_inline void count_file(struct file *f, __u8 kind, long bytes) {
    struct ctb_io_file_key key = {};
    struct super_block *sb = BPF_CORE_READ(f, f_inode, i_sb);
    key.view_dev = BPF_CORE_READ(sb, s_dev);
    key.view_magic = BPF_CORE_READ(sb, s_magic);
    key.real_dev = key.view_dev;
    key.real_ino = BPF_CORE_READ(f, f_inode, i_ino);
    if (key.view_magic == CTB_OVERLAYFS_MAGIC && bpf_core_type_exists(struct ovl_file)) {
        /* overlayfs keeps the real (upper or lower) file in the ovl_file of private_data. */
        struct ovl_file *of = (struct ovl_file *)BPF_CORE_READ(f, private_data);
        struct file *real = of ? BPF_CORE_READ(of, realfile) : NULL;
        if (real) {
            key.real_dev = BPF_CORE_READ(real, f_inode, i_sb, s_dev);
            key.real_ino = BPF_CORE_READ(real, f_inode, i_ino);
        }
    }
    struct ctb_io_file_value *v = bpf_map_lookup_elem(&files, &key);
    if (!v) {
        struct ctb_io_file_value zero = {};
        if (bpf_map_update_elem(&files, &key, &zero, BPF_NOEXIST) != 0 && bpf_map_lookup_elem(&files, &key) == NULL) {
            __sync_fetch_and_add(&totals.lost, 1);
            return;
        }
        v = bpf_map_lookup_elem(&files, &key);
        if (!v) return;
    }
    if (kind == CTB_IO_SYS_READ) {
        __sync_fetch_and_add(&v->read_bytes, bytes);
        __sync_fetch_and_add(&v->read_calls, 1);
    } else {
        __sync_fetch_and_add(&v->write_bytes, bytes);
        __sync_fetch_and_add(&v->write_calls, 1);
    }
}

/* The start of a timed call; the table lookup comes first, as every system call of the host passes here. */
static __always_inline int on_sys_enter(long nr) {
    if (nr < 0 || nr >= CTB_IO_MAX_SYSCALL || !(io_syscall[nr] & CTB_IO_SYS_TIMED)) return 0;
    __u32 tid = current_tid();
    if (!is_traced(tid)) return 0;
    __u64 now = bpf_ktime_get_ns();
    if (bpf_map_update_elem(&timed_calls, &tid, &now, BPF_ANY) != 0) __sync_fetch_and_add(&totals.lost, 1);
    return 0;
}

static __always_inline void end_timed_call(__u32 tid, __u8 kind, long ret) {
    __u64 *start = bpf_map_lookup_elem(&timed_calls, &tid);
    if (!start) return;  /* entered before the tracer attached */
    __u64 ns = bpf_ktime_get_ns() - *start;
    bpf_map_delete_elem(&timed_calls, &tid);
    if (ret <= 0) return;  /* failed or empty: no transfer to time */
    __u32 dir = (kind & CTB_IO_SYS_DIR_MASK) == CTB_IO_SYS_READ ? CTB_IO_READ : CTB_IO_WRITE;
    __u32 bucket = ctb_io_lat_bucket(ns);
    __sync_fetch_and_add(&totals.sys_count[dir & 1], 1);
    __sync_fetch_and_add(&totals.sys_ns_sum[dir & 1], ns);
    barrier_var(bucket);  /* keep the mask: it is the verifier's bound on the index */
    __sync_fetch_and_add(&totals.sys_hist[dir & 1][bucket & (CTB_IO_LAT_BUCKETS - 1)], 1);
}

static __always_inline int on_sys_exit(struct pt_regs *regs, long ret) {
    __u32 tid = current_tid();
    if (!is_traced(tid)) return 0;
    __u64 *start = bpf_map_lookup_elem(&copyups, &tid);
    if (start) {
        __u64 ns = bpf_ktime_get_ns() - *start;
        __sync_fetch_and_add(&totals.copyup_count, 1);
        __sync_fetch_and_add(&totals.copyup_ns_sum, ns);
        __u32 slot = log2_slot(ns / 1000);
        if (slot < CTB_IO_SLOTS) __sync_fetch_and_add(&totals.copyup_hist[slot], 1);
        bpf_map_delete_elem(&copyups, &tid);
    }
    long nr = BPF_CORE_READ(regs, orig_ax);
    if (nr < 0 || nr >= CTB_IO_MAX_SYSCALL) return 0;
    __u8 kind = io_syscall[nr];
    if (!kind) return 0;
    if (kind & CTB_IO_SYS_TIMED) end_timed_call(tid, kind, ret);
    if (ret <= 0) return 0;
    struct file *f = fd_file((long)BPF_CORE_READ(regs, di));
    if (f) count_file(f, kind & CTB_IO_SYS_DIR_MASK, ret);
    return 0;
}

/* ---- block layer ---------------------------------------------------------------------------- */

static __always_inline bool on_target_disk(struct request *rq) {
    struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
    if (!disk) return false;
    __u32 dev = ((__u32)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor);
    return dev == target_disk;
}

static __always_inline int on_rq_issue(struct request *rq) {
    if (!on_target_disk(rq)) return 0;
    __u64 key = (__u64)rq, ts = bpf_ktime_get_ns();
    if (bpf_map_update_elem(&inflight, &key, &ts, BPF_ANY) != 0) __sync_fetch_and_add(&totals.lost, 1);
    return 0;
}

static __always_inline int on_rq_complete(struct request *rq, unsigned int nr_bytes) {
    if (!on_target_disk(rq)) return 0;
    __u64 key = (__u64)rq;
    __u64 *issued = bpf_map_lookup_elem(&inflight, &key);
    if (!issued) {
        __sync_fetch_and_add(&totals.blk_unmatched, 1);
        return 0;
    }
    __u64 ns = bpf_ktime_get_ns() - *issued;
    bpf_map_delete_elem(&inflight, &key);
    __u32 dir = (BPF_CORE_READ(rq, cmd_flags) & CTB_REQ_OP_MASK) == CTB_REQ_OP_WRITE ? CTB_IO_WRITE : CTB_IO_READ;
    __u32 slot = log2_slot(ns / 1000);
    __sync_fetch_and_add(&totals.blk_count[dir & 1], 1);
    __sync_fetch_and_add(&totals.blk_bytes[dir & 1], nr_bytes);
    __sync_fetch_and_add(&totals.blk_ns_sum[dir & 1], ns);
    if (slot < CTB_IO_SLOTS) __sync_fetch_and_add(&totals.blk_hist[dir & 1][slot], 1);
    return 0;
}

/* ---- page cache and copy-up ----------------------------------------------------------------- */

static __always_inline int on_get_pages(unsigned long index, unsigned long last) {
    if (!is_traced(current_tid())) return 0;
    if (last >= index) __sync_fetch_and_add(&totals.pc_lookups, last - index + 1);
    return 0;
}

static __always_inline int on_add_folio(struct folio *folio) {
    if (!is_traced(current_tid())) return 0;
    __sync_fetch_and_add(&totals.pc_added, folio_pages(folio));
    return 0;
}

static __always_inline int on_dirty_folio(struct folio *folio) {
    __u32 tid = current_tid();
    if (!is_traced(tid)) return 0;
    __u64 pages = folio_pages(folio);
    __sync_fetch_and_add(&totals.pc_dirtied, pages);
    if (bpf_map_lookup_elem(&copyups, &tid)) __sync_fetch_and_add(&totals.copyup_bytes, pages * 4096);
    return 0;
}

static __always_inline int on_alloc_inode(struct inode *dir) {
    __u32 tid = current_tid();
    if (!is_traced(tid) || !dir) return 0;
    struct ctb_io_dir_key key = {};
    key.dev = BPF_CORE_READ(dir, i_sb, s_dev);
    key.ino = BPF_CORE_READ(dir, i_ino);
    if (!bpf_map_lookup_elem(&workdirs, &key)) return 0;
    __u64 now = bpf_ktime_get_ns();
    /* A copy-up of a file may first copy up its parent directories: keep the earliest start. */
    if (bpf_map_update_elem(&copyups, &tid, &now, BPF_NOEXIST) != 0 && !bpf_map_lookup_elem(&copyups, &tid))
        __sync_fetch_and_add(&totals.lost, 1);
    return 0;
}

/* ---- tp_btf ----------------------------------------------------------------------------------- */

SEC("tp_btf/task_newtask")
int BPF_PROG(ctb_io_fork_b, struct task_struct *task, __u64 flags) { return on_newtask(task); }
SEC("tp_btf/sched_process_exit")
int BPF_PROG(ctb_io_pexit_b, struct task_struct *p) { return on_exit(p); }
SEC("tp_btf/sys_enter")
int BPF_PROG(ctb_io_syse_b, struct pt_regs *regs, long id) { return on_sys_enter(id); }
SEC("tp_btf/sys_exit")
int BPF_PROG(ctb_io_sysx_b, struct pt_regs *regs, long ret) { return on_sys_exit(regs, ret); }
SEC("tp_btf/block_rq_issue")
int BPF_PROG(ctb_io_rqi_b, struct request *rq) { return on_rq_issue(rq); }
SEC("tp_btf/block_rq_complete")
int BPF_PROG(ctb_io_rqc_b, struct request *rq, int error, unsigned int nr_bytes) { return on_rq_complete(rq, nr_bytes); }
SEC("tp_btf/mm_filemap_get_pages")
int BPF_PROG(ctb_io_pget_b, struct address_space *m, unsigned long index, unsigned long last) {
    return on_get_pages(index, last);
}
SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(ctb_io_padd_b, struct folio *folio) { return on_add_folio(folio); }
SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(ctb_io_pdirty_b, struct folio *folio) { return on_dirty_folio(folio); }
SEC("tp_btf/ext4_allocate_inode")
int BPF_PROG(ctb_io_cpup_b, struct inode *inode, struct inode *dir) { return on_alloc_inode(dir); }

/* ---- raw_tp ----------------------------------------------------------------------------------- */

SEC("raw_tp/task_newtask")
int BPF_PROG(ctb_io_fork_r, struct task_struct *task, __u64 flags) { return on_newtask(task); }
SEC("raw_tp/sched_process_exit")
int BPF_PROG(ctb_io_pexit_r, struct task_struct *p) { return on_exit(p); }
SEC("raw_tp/sys_enter")
int BPF_PROG(ctb_io_syse_r, struct pt_regs *regs, long id) { return on_sys_enter(id); }
SEC("raw_tp/sys_exit")
int BPF_PROG(ctb_io_sysx_r, struct pt_regs *regs, long ret) { return on_sys_exit(regs, ret); }
SEC("raw_tp/block_rq_issue")
int BPF_PROG(ctb_io_rqi_r, struct request *rq) { return on_rq_issue(rq); }
SEC("raw_tp/block_rq_complete")
int BPF_PROG(ctb_io_rqc_r, struct request *rq, int error, unsigned int nr_bytes) { return on_rq_complete(rq, nr_bytes); }
SEC("raw_tp/mm_filemap_get_pages")
int BPF_PROG(ctb_io_pget_r, struct address_space *m, unsigned long index, unsigned long last) {
    return on_get_pages(index, last);
}
SEC("raw_tp/mm_filemap_add_to_page_cache")
int BPF_PROG(ctb_io_padd_r, struct folio *folio) { return on_add_folio(folio); }
SEC("raw_tp/writeback_dirty_folio")
int BPF_PROG(ctb_io_pdirty_r, struct folio *folio) { return on_dirty_folio(folio); }
SEC("raw_tp/ext4_allocate_inode")
int BPF_PROG(ctb_io_cpup_r, struct inode *inode, struct inode *dir) { return on_alloc_inode(dir); }
