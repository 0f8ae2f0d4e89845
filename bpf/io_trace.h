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

enum ctb_io_syscall { CTB_IO_SYS_READ = 1, CTB_IO_SYS_WRITE = 2 };
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
