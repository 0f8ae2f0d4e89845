/* The I/O tracer's shared structs (bpf/io_trace.bpf.c and bpf/io_tracer.cpp). Everything is
 * aggregated in the kernel (histograms and counters in .bss, per-file byte counts in a hash map):
 * a storage workload makes millions of events, which no ring buffer should carry.
 *
 * Filtering in the kernel: page-cache, syscall and copy-up events count only for the followed
 * process tree (the `traced` map, seeded by the user side, extended on fork); block requests
 * count only for the backing disk (`target_disk`), whoever issues them (writeback is a kworker,
 * completions come from interrupts). */
#ifndef CTB_IO_TRACE_H
#define CTB_IO_TRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CTB_IO_MAX_SYSCALL 512
#define CTB_IO_SLOTS 32 /* log2 histogram slots, in microseconds: slot k counts [2^k, 2^(k+1)) us */

/* Per system call number: which direction it moves bytes in, and whether the tracer times it.
 * Timed are the positional calls (pread64/pwrite64): the transfers fio's psync engine and
 * ctbench's engine time, while both lay out their files with plain write(). */
enum ctb_io_syscall { CTB_IO_SYS_READ = 1, CTB_IO_SYS_WRITE = 2, CTB_IO_SYS_DIR_MASK = 3, CTB_IO_SYS_TIMED = 4 };

/* The timed calls' durations, sys_enter to sys_exit by the kernel's clock, in a log-linear
 * histogram of nanoseconds: below 2^SUB_BITS one bucket per nanosecond, above it 2^SUB_BITS
 * buckets per power of two (each at most 1/64 = 1.6 % wide), so that two medians a few percent
 * apart land in different buckets; durations of 2^(MAX_LOG2+1) ns (137 s) and more share the last.
 * The bucket count is a power of two, so the BPF side bounds an index with a mask. */
#define CTB_IO_LAT_SUB_BITS 6
#define CTB_IO_LAT_SUB (1 << CTB_IO_LAT_SUB_BITS)
#define CTB_IO_LAT_MAX_LOG2 36
#define CTB_IO_LAT_BUCKETS ((CTB_IO_LAT_MAX_LOG2 - CTB_IO_LAT_SUB_BITS + 2) * CTB_IO_LAT_SUB)

#ifdef __cplusplus
#define CTB_IO_INLINE inline
#else
#define CTB_IO_INLINE static __always_inline
#endif

/* The bucket of a duration of ns nanoseconds (bpf/io_summary.cpp has the inverse). */
CTB_IO_INLINE __u32 ctb_io_lat_bucket(__u64 ns) {
    if (ns < CTB_IO_LAT_SUB) return (__u32)ns;
    __u32 log2 = 0;
    __u64 v = ns;
    if (v >> 32) { v >>= 32; log2 += 32; }
    if (v >> 16) { v >>= 16; log2 += 16; }
    if (v >> 8) { v >>= 8; log2 += 8; }
    if (v >> 4) { v >>= 4; log2 += 4; }
    if (v >> 2) { v >>= 2; log2 += 2; }
    if (v >> 1) { log2 += 1; }
    if (log2 > CTB_IO_LAT_MAX_LOG2) return CTB_IO_LAT_BUCKETS - 1;
    __u32 shift = log2 - CTB_IO_LAT_SUB_BITS;
    return (shift + 1) * CTB_IO_LAT_SUB + (__u32)((ns >> shift) - CTB_IO_LAT_SUB);
}
enum ctb_io_dir { CTB_IO_READ = 0, CTB_IO_WRITE = 1 };

struct ctb_io_totals {
    /* block layer, per direction */
    __u64 blk_count[2];
    __u64 blk_bytes[2];
    __u64 blk_ns_sum[2];
    __u64 blk_hist[2][CTB_IO_SLOTS];
    __u64 blk_unmatched; /* completions whose issue was not seen (issued before attach) */
    /* page cache (cachestat's estimate: misses = added - dirtied) */
    __u64 pc_lookups;  /* pages the read path asked the page cache for (mm_filemap_get_pages) */
    __u64 pc_added;    /* pages inserted (mm_filemap_add_to_page_cache) */
    __u64 pc_dirtied;  /* pages dirtied by writes (writeback_dirty_folio) */
    /* copy-up: an ext4 inode allocated in an overlay work directory, until the syscall returns */
    __u64 copyup_count;
    __u64 copyup_ns_sum;
    __u64 copyup_bytes; /* pages dirtied while a copy-up was pending, in bytes */
    __u64 copyup_hist[CTB_IO_SLOTS];
    __u64 lost; /* events not recorded: a map was full */
    /* timed (positional) calls per direction: count, sum and histogram of their durations */
    __u64 sys_count[2];
    __u64 sys_ns_sum[2];
    __u64 sys_hist[2][CTB_IO_LAT_BUCKETS];
};

/* Bytes moved by read/write system calls, per file: the superblock the caller named (overlay,
 * ext4, tmpfs) and, for overlayfs, the real file behind it (upper or lower layer). */
struct ctb_io_file_key {
    __u32 view_dev;   /* kernel dev_t of the file's superblock */
    __u32 view_magic; /* its s_magic */
    __u32 real_dev;   /* overlayfs: the real file's superblock; otherwise = view_dev */
    __u32 pad;
    __u64 real_ino;   /* overlayfs: the real inode; otherwise the file's inode */
};

struct ctb_io_file_value {
    __u64 read_bytes, write_bytes;
    __u64 read_calls, write_calls;
};

struct ctb_io_dir_key {
    __u32 dev; /* kernel dev_t */
    __u32 pad;
    __u64 ino;
};

#endif
