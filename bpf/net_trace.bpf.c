// SPDX-License-Identifier: GPL-2.0
/* The network tracer: packets, bytes and drops per interface, and TCP retransmits per network
 * namespace, for the interfaces and namespaces the user side names (bpf/net_trace.h). Counters
 * live in per-CPU arrays indexed by a slot the user side assigns, so nothing is shared between
 * CPUs on the data path and nothing can be lost to a full buffer; `lost` counts the only way an
 * event of ours could go uncounted (a slot outside the array), so a zero proves completeness.
 *
 * As in start_trace.bpf.c every hook exists twice, tp_btf and raw_tp, with the same bodies
 * (BPF_CORE_READ only); the user side loads the kind the host can attach. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "net_trace.h"

char LICENSE[] SEC("license") = "GPL";

__u64 events_seen = 0; /* events on watched interfaces / namespaces */
__u64 events_lost = 0; /* of those, not counted */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, CTB_NET_MAX_SLOTS);
    __type(key, struct ctb_net_key);
    __type(value, __u32); /* slot */
} ifaces SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, CTB_NET_MAX_SLOTS);
    __type(key, __u32);   /* netns inode */
    __type(value, __u32); /* slot */
} namespaces SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, CTB_NET_MAX_SLOTS);
    __type(key, __u32);
    __type(value, struct ctb_net_counts);
} counts SEC(".maps");

static __always_inline struct ctb_net_counts *slot_of_dev(struct net_device *dev) {
    if (!dev) return NULL;
    struct ctb_net_key key = {
        .netns = BPF_CORE_READ(dev, nd_net.net, ns.inum),
        .ifindex = BPF_CORE_READ(dev, ifindex),
    };
    __u32 *slot = bpf_map_lookup_elem(&ifaces, &key);
    if (!slot) return NULL;
    __sync_fetch_and_add(&events_seen, 1);
    struct ctb_net_counts *c = bpf_map_lookup_elem(&counts, slot);
    if (!c) __sync_fetch_and_add(&events_lost, 1);
    return c;
}

static __always_inline int on_xmit(struct sk_buff *skb, int rc, struct net_device *dev, unsigned int len) {
    struct ctb_net_counts *c = slot_of_dev(dev);
    if (!c) return 0;
    if (rc == 0) { /* NETDEV_TX_OK */
        c->tx_packets++;
        c->tx_bytes += len;
    } else {
        c->tx_errors++;
    }
    return 0;
}

static __always_inline int on_receive(struct sk_buff *skb) {
    struct ctb_net_counts *c = slot_of_dev(BPF_CORE_READ(skb, dev));
    if (!c) return 0;
    c->rx_packets++;
    c->rx_bytes += BPF_CORE_READ(skb, len);
    return 0;
}

static __always_inline int on_drop(struct sk_buff *skb, int reason) {
    if (reason == SKB_CONSUMED) return 0; /* freed after use, not dropped */
    struct ctb_net_counts *c = slot_of_dev(BPF_CORE_READ(skb, dev));
    if (c) c->drops++;
    return 0;
}

static __always_inline int on_retransmit(const struct sock *sk) {
    __u32 netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
    __u32 *slot = bpf_map_lookup_elem(&namespaces, &netns);
    if (!slot) return 0;
    __sync_fetch_and_add(&events_seen, 1);
    struct ctb_net_counts *c = bpf_map_lookup_elem(&counts, slot);
    if (!c) {
        __sync_fetch_and_add(&events_lost, 1);
        return 0;
    }
    c->retransmits++;
    return 0;
}

/* ---- tp_btf ---------------------------------------------------------------------------------- */

SEC("tp_btf/net_dev_xmit")
int BPF_PROG(ctb_nt_xmit_b, struct sk_buff *skb, int rc, struct net_device *dev, unsigned int len) {
    return on_xmit(skb, rc, dev, len);
}
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(ctb_nt_recv_b, struct sk_buff *skb) { return on_receive(skb); }
SEC("tp_btf/kfree_skb")
int BPF_PROG(ctb_nt_drop_b, struct sk_buff *skb, void *location, int reason) { return on_drop(skb, reason); }
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(ctb_nt_retr_b, const struct sock *sk) { return on_retransmit(sk); }

/* ---- raw_tp ---------------------------------------------------------------------------------- */

SEC("raw_tp/net_dev_xmit")
int BPF_PROG(ctb_nt_xmit_r, struct sk_buff *skb, int rc, struct net_device *dev, unsigned int len) {
    return on_xmit(skb, rc, dev, len);
}
SEC("raw_tp/netif_receive_skb")
int BPF_PROG(ctb_nt_recv_r, struct sk_buff *skb) { return on_receive(skb); }
SEC("raw_tp/kfree_skb")
int BPF_PROG(ctb_nt_drop_r, struct sk_buff *skb, void *location, int reason) { return on_drop(skb, reason); }
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(ctb_nt_retr_r, const struct sock *sk) { return on_retransmit(sk); }
