// SHA-256 (FIPS 180-4), streaming. OCI blobs are named by their sha256 digest; this small
// implementation keeps the runtime free of a crypto library for this one checksum.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ctb::image {

class Sha256 {
public:
    Sha256();
    void update(std::span<const std::byte> data);
    void update(std::string_view text) { update(std::as_bytes(std::span(text.data(), text.size()))); }
    // Lower-case hex of the digest; the object must not be updated afterwards.
    std::string hex_digest();

private:
    void compress(const std::uint8_t* block);

    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::span<const std::byte> data);

}  // namespace ctb::image
