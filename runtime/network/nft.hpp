// nftables through libnftables: the same parser and evaluator as the `nft` tool, in-process, so
// our rules are written in nft's documented syntax (text or JSON) and its errors are nft's own.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

struct nft_ctx;

namespace ctb::net {

struct NftOptions {
    // Print results as JSON (`nft -j`). In this mode libnftables also accepts JSON commands,
    // falling back to the text syntax when the input is not JSON.
    bool json = false;
    // Print object handles (`nft -a`), needed to delete a single rule later.
    bool handles = false;
};

// One libnftables context. Its netfilter socket is opened at creation and acts on that network
// namespace for its whole life: the calling thread's, or `netns_fd`'s when given.
// libnftables keeps some global state, so use Nft from one thread at a time.
class Nft {
public:
    static Result<Nft> open(NftOptions options = {}, std::optional<int> netns_fd = std::nullopt);

    Nft(Nft&&) noexcept;
    Nft& operator=(Nft&&) noexcept;
    ~Nft();

    // Runs one or more commands (a ruleset file's worth) as a single transaction and returns
    // what nft printed. On failure the error's detail is nft's own message, with its caret line.
    Result<std::string> run(const std::string& commands);

    // Switches the output format for later run() calls.
    void set_json(bool json);

    // Removes a table if it exists; absent is success. ("destroy table" needs nftables >= 1.0.8;
    // "add then delete" in one transaction works everywhere and is atomic.)
    Status delete_table(std::string_view family, std::string_view name);

private:
    struct CtxFree {
        void operator()(nft_ctx* ctx) const;
    };
    explicit Nft(std::unique_ptr<nft_ctx, CtxFree> ctx);
    std::unique_ptr<nft_ctx, CtxFree> ctx_;
};

}  // namespace ctb::net
