#include "runtime/network/nft.hpp"

#include <nftables/libnftables.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/network/netns.hpp"

namespace ctb::net {
namespace {

// libnftables calls exit() when it cannot open its netlink socket (netlink_init_error), which
// would take the whole process down. Open one ourselves first so that case becomes an Error.
Status check_netfilter_socket() {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
    if (!fd) return fail(sys_error("open netfilter netlink socket"));
    return {};
}

// The first line of a command batch, short enough to name it in an error message.
std::string summary(const std::string& commands) {
    std::string text = trim(commands);
    std::string first = text.substr(0, text.find('\n'));
    if (first.size() > 60) first = first.substr(0, 57) + "...";
    auto lines = std::count(text.begin(), text.end(), '\n') + 1;
    return lines > 1 ? fmt::format("{} (+{} more lines)", first, lines - 1) : first;
}

}  // namespace

void Nft::CtxFree::operator()(nft_ctx* ctx) const {
    if (ctx) nft_ctx_free(ctx);
}

Nft::Nft(std::unique_ptr<nft_ctx, CtxFree> ctx) : ctx_(std::move(ctx)) {}
Nft::Nft(Nft&&) noexcept = default;
Nft& Nft::operator=(Nft&&) noexcept = default;
Nft::~Nft() = default;

Result<Nft> Nft::open(NftOptions options, std::optional<int> netns_fd) {
    std::unique_ptr<nft_ctx, CtxFree> ctx;
    auto make = [&ctx]() -> Status {
        if (auto ok = check_netfilter_socket(); !ok) return ok;
        // NFT_CTX_DEFAULT opens the netfilter socket now, in the current thread's netns.
        ctx.reset(nft_ctx_new(NFT_CTX_DEFAULT));
        if (!ctx) return fail(plain_error("create nftables context", "", "nft_ctx_new returned NULL"));
        return {};
    };
    if (Status st = netns_fd ? in_netns(*netns_fd, make) : make(); !st) return fail(st.error());
    // Buffer both streams: output is our return value, errors become Error::detail; nothing
    // reaches the process's stdout/stderr.
    if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0)
        return fail(plain_error("create nftables context", "", "cannot buffer nft output"));
    Nft nft(std::move(ctx));
    nft.set_json(options.json);
    if (options.handles)
        nft_ctx_output_set_flags(nft.ctx_.get(), nft_ctx_output_get_flags(nft.ctx_.get()) | NFT_CTX_OUTPUT_HANDLE);
    return nft;
}

void Nft::set_json(bool json) {
    unsigned flags = nft_ctx_output_get_flags(ctx_.get());
    flags = json ? (flags | NFT_CTX_OUTPUT_JSON) : (flags & ~static_cast<unsigned>(NFT_CTX_OUTPUT_JSON));
    nft_ctx_output_set_flags(ctx_.get(), flags);
}

Result<std::string> Nft::run(const std::string& commands) {
    int rc = nft_run_cmd_from_buffer(ctx_.get(), commands.c_str());
    // Both buffers must be read after every run: reading is what rewinds them for the next one.
    std::string output = nft_ctx_get_output_buffer(ctx_.get());
    std::string errors = trim(nft_ctx_get_error_buffer(ctx_.get()));
    if (rc != 0) {
        if (errors.empty()) errors = fmt::format("nft_run_cmd_from_buffer returned {}", rc);
        return fail(plain_error("nft", summary(commands), errors));
    }
    return output;
}

Status Nft::delete_table(std::string_view family, std::string_view name) {
    auto out = run(fmt::format("add table {0} {1}\ndelete table {0} {1}\n", family, name));
    if (!out) return fail(out.error());
    return {};
}

}  // namespace ctb::net
