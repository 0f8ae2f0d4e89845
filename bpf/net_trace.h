/* The network tracer's maps, shared by bpf/net_trace.bpf.c (kernel) and bpf/net_tracer.cpp.
 * Counters, not events: the hot path of a 40 Gbit/s stream must cost a hash lookup and a few
 * per-CPU adds, nothing per byte and no ring buffer. The user side names the interfaces to count
 * (network namespace inode + ifindex -> a slot) and the namespaces whose TCP retransmits count;
 * everything else is filtered out in the kernel before any counter is touched. */
#ifndef CTB_NET_TRACE_H
#define CTB_NET_TRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CTB_NET_MAX_SLOTS 64 /* interfaces (and namespaces) one series may watch */

struct ctb_net_key {
    __u32 netns;   /* inode of the interface's network namespace (ns.inum) */
    __u32 ifindex; /* the interface's index in that namespace */
};

/* Per slot and per CPU; the user side sums the CPUs. */
struct ctb_net_counts {
    __u64 tx_packets; /* net_dev_xmit with rc == NETDEV_TX_OK */
    __u64 tx_bytes;
    __u64 tx_errors;  /* net_dev_xmit with any other rc */
    __u64 rx_packets; /* netif_receive_skb */
    __u64 rx_bytes;
    __u64 drops;      /* kfree_skb (a drop, not a consume) of an skb whose device is this one */
    __u64 retransmits; /* namespace slots only: tcp_retransmit_skb of a socket in the namespace */
};

#endif
