#include "bpf/net_tracer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>

#include "bpf/libbpf_log.hpp"
#include "net_trace.skel.h"

namespace ctb::bpf {
namespace {


std::vector<bpf_program*> programs(net_trace* s, bool btf) {
    auto& p = s->progs;
    if (btf) return {p.ctb_nt_xmit_b, p.ctb_nt_recv_b, p.ctb_nt_drop_b, p.ctb_nt_retr_b};
    return {p.ctb_nt_xmit_r, p.ctb_nt_recv_r, p.ctb_nt_drop_r, p.ctb_nt_retr_r};
}

// The per-CPU values of one slot, summed.
ctb_net_counts sum_slot(net_trace* skel, std::uint32_t slot) {
    int cpus = libbpf_num_possible_cpus();
    std::vector<ctb_net_counts> per_cpu(static_cast<std::size_t>(std::max(cpus, 1)));
    ctb_net_counts total{};
    if (bpf_map__lookup_elem(skel->maps.counts, &slot, sizeof slot, per_cpu.data(),
                             per_cpu.size() * sizeof(ctb_net_counts), 0) != 0)
        return total;
    for (const auto& c : per_cpu) {
        total.tx_packets += c.tx_packets;
        total.tx_bytes += c.tx_bytes;
        total.tx_errors += c.tx_errors;
        total.rx_packets += c.rx_packets;
        total.rx_bytes += c.rx_bytes;
        total.drops += c.drops;
        total.retransmits += c.retransmits;
    }
    return total;
}

}  // namespace

Result<std::uint32_t> netns_inode(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return fail(sys_error("stat network namespace", path));
    return static_cast<std::uint32_t>(st.st_ino);
}

Result<std::unique_ptr<NetTracer>> NetTracer::open(const std::vector<std::string>& attachable) {
    auto kind = choose_program_kind(attachable, "net tracer");
    if (!kind) return fail(kind.error());
    bool btf = *kind == "tp_btf";
    std::unique_ptr<NetTracer> t(new NetTracer());
    t->kind_ = *kind;
    LibbpfCapture log;
    t->skel_ = net_trace__open();
    if (!t->skel_) return fail(sys_error("open skeleton", "net_trace", errno));
    for (bpf_program* p : programs(t->skel_, !btf)) bpf_program__set_autoload(p, false);
    if (int err = net_trace__load(t->skel_); err != 0) {
        return fail(Error{"load net tracer", t->kind_ + " programs", -err, log.tail()});
    }
    return t;
}

NetTracer::~NetTracer() {
    detach();
    if (skel_) net_trace__destroy(skel_);  // programs and maps
}

Status NetTracer::attach() {
    if (!links_.empty()) return {};
    LibbpfCapture log;
    for (bpf_program* p : programs(skel_, kind_ == "tp_btf")) {
        bpf_link* link = bpf_program__attach(p);
        if (!link) {
            int err = errno;
            detach();
            return fail(Error{"attach", fmt::format("{} program {}", kind_, bpf_program__name(p)), err, log.text()});
        }
        links_.push_back(link);
    }
    return {};
}

void NetTracer::detach() {
    for (bpf_link* l : links_) bpf_link__destroy(l);
    links_.clear();
}

Result<std::uint32_t> NetTracer::next_slot() {
    if (used_ >= CTB_NET_MAX_SLOTS)
        return fail(plain_error("watch", "net tracer", fmt::format("more than {} slots", CTB_NET_MAX_SLOTS)));
    return used_++;
}

Status NetTracer::watch(const std::string& label, std::uint32_t netns, int ifindex) {
    for (const auto& [used, w] : watched_)
        if (w.netns == netns && w.ifindex == ifindex) return {};  // one path may name a link twice
    auto slot = next_slot();
    if (!slot) return fail(slot.error());
    ctb_net_key key{netns, static_cast<__u32>(ifindex)};
    if (bpf_map__update_elem(skel_->maps.ifaces, &key, sizeof key, &*slot, sizeof *slot, BPF_NOEXIST) != 0)
        return fail(sys_error("watch interface", fmt::format("{} (netns {}, ifindex {})", label, netns, ifindex), errno));
    watched_.push_back({*slot, {label, netns, ifindex, {}}});
    return {};
}

Status NetTracer::watch_netns(std::uint32_t netns) {
    for (const auto& [slot, ns] : ns_slots_)
        if (ns == netns) return {};
    auto slot = next_slot();
    if (!slot) return fail(slot.error());
    if (bpf_map__update_elem(skel_->maps.namespaces, &netns, sizeof netns, &*slot, sizeof *slot, BPF_ANY) != 0)
        return fail(sys_error("watch network namespace", std::to_string(netns), errno));
    ns_slots_.push_back({*slot, netns});
    return {};
}

void NetTracer::clear() {
    for (const auto& [slot, w] : watched_) {
        ctb_net_key key{w.netns, static_cast<__u32>(w.ifindex)};
        bpf_map__delete_elem(skel_->maps.ifaces, &key, sizeof key, 0);
    }
    for (auto& [slot, ns] : ns_slots_) bpf_map__delete_elem(skel_->maps.namespaces, &ns, sizeof ns, 0);
    // Zero every slot that was used: the next series starts from nothing.
    int cpus = std::max(libbpf_num_possible_cpus(), 1);
    std::vector<ctb_net_counts> zero(static_cast<std::size_t>(cpus));
    for (std::uint32_t slot = 0; slot < used_; ++slot)
        bpf_map__update_elem(skel_->maps.counts, &slot, sizeof slot, zero.data(), zero.size() * sizeof(ctb_net_counts), BPF_ANY);
    watched_.clear();
    ns_slots_.clear();
    used_ = 0;
    skel_->bss->events_seen = 0;
    skel_->bss->events_lost = 0;
}

NetSnapshot NetTracer::read() const {
    NetSnapshot s;
    for (const auto& [slot, w] : watched_) {
        InterfaceCounts c = w;
        c.counts = sum_slot(skel_, slot);
        s.interfaces.push_back(c);
    }
    for (const auto& [slot, ns] : ns_slots_) s.tcp_retransmits += sum_slot(skel_, slot).retransmits;
    s.events_seen = skel_->bss->events_seen;
    s.events_lost = skel_->bss->events_lost;
    return s;
}

nlohmann::json NetSnapshot::summary(const std::string& program_type) const {
    nlohmann::json ifs = nlohmann::json::array();
    for (const auto& i : interfaces)
        ifs.push_back({{"name", i.label}, {"netns", i.netns}, {"ifindex", i.ifindex},
                       {"tx_packets", i.counts.tx_packets}, {"tx_bytes", i.counts.tx_bytes},
                       {"tx_errors", i.counts.tx_errors}, {"rx_packets", i.counts.rx_packets},
                       {"rx_bytes", i.counts.rx_bytes}, {"drops", i.counts.drops}});
    return {{"tracer", {{"name", "net_trace"}, {"program_type", program_type}, {"events_seen", events_seen},
                        {"events_lost", events_lost}}},
            {"interfaces", ifs},
            {"tcp_retransmits", tcp_retransmits},
            {"lost", events_lost}};
}

}  // namespace ctb::bpf
