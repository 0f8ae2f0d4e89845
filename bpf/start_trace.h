/* Events of the start tracer, shared by bpf/start_trace.bpf.c (kernel) and the C++ side.
 * One ring-buffer record per event; every record starts with the same header. Only tasks of the
 * traced process tree produce records: the kernel side filters on the `traced` map, which the
 * user side seeds with one root task and the fork tracepoint extends to every descendant. */
#ifndef CTB_START_TRACE_H
#define CTB_START_TRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CTB_MAX_SYSCALL 512 /* size of the per-syscall "arg0 is a file descriptor" table */

enum ctb_event_kind {
    CTB_EV_SYS_ENTER = 1, /* tid entered syscall `nr` */
    CTB_EV_SYS_EXIT = 2,  /* tid left syscall `nr` with `ret` */
    CTB_EV_SWITCH_OUT = 3, /* tid left the CPU in state `arg0` (0 = preempted), kernel stack `stack_id` */
    CTB_EV_SWITCH_IN = 4,  /* tid got the CPU */
    CTB_EV_FORK = 5,       /* tid created task `arg0` with clone flags `arg1` (task_newtask) */
    CTB_EV_EXEC = 6,       /* tid exec'd; `pidns_level` tells which pid namespace it is in */
    CTB_EV_EXIT = 7,       /* tid exits (sched_process_exit); it still runs until its last switch */
    CTB_EV_CGROUP = 8,     /* a cgroup tracepoint fired in tid's context; `arg0` = enum ctb_cgroup_op */
};

enum ctb_cgroup_op { CTB_CG_MKDIR = 1, CTB_CG_RMDIR = 2, CTB_CG_ATTACH = 3, CTB_CG_RELEASE = 4 };

/* What the file behind a descriptor is (looked up in the kernel: the fd table of the task). */
struct ctb_file_info {
    __u64 fs_magic;   /* superblock magic of the file's filesystem, 0 if no such fd */
    __u32 sock_family; /* address family when the file is a socket, else 0 */
    __u32 pad;
};

struct ctb_event {
    __u64 ts;     /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
    __u32 tid;    /* kernel pid of the task (thread id) */
    __u32 tgid;
    __u32 kind;   /* enum ctb_event_kind */
    __s32 nr;     /* syscall number (SYS_ENTER / SYS_EXIT), else -1 */
    __s64 ret;    /* syscall return value (SYS_EXIT) */
    __u64 arg0;   /* SYS_ENTER: first syscall argument; others: see ctb_event_kind */
    __u64 arg1;   /* SYS_ENTER: second syscall argument */
    struct ctb_file_info file; /* SYS_ENTER: file behind arg0 (fd syscalls); SYS_EXIT: behind ret (fd-returning) */
    __s32 stack_id;    /* SWITCH_OUT: kernel stack id in `stacks`, < 0 if none */
    __u32 pidns_level; /* level of the task's pid namespace (0 = initial) */
};

#define CTB_STACK_DEPTH 32

#endif
