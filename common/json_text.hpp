// JSON text written by hand for documents on a hot path (a container's state.json, twice per
// create). nlohmann::json builds a std::map of nodes and walks it again to print: about 18 us
// per state document on the start bench's cold caches, 12 % of the runtime's own user time per
// container. These append to one string instead; reading stays with nlohmann.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ctb::json_text {

// The length of the well-formed UTF-8 sequence starting at s[i] (1-4), or 0 when it is not one
// (stray continuation byte, overlong form, surrogate, beyond U+10FFFF, cut short).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    if (c < 0x80) return 1;
    std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
    unsigned char second = byte(i + 1);
    if (c == 0xE0 && second < 0xA0) return 0;  // overlong
    if (c == 0xED && second > 0x9F) return 0;  // UTF-16 surrogate
    if (c == 0xF0 && second < 0x90) return 0;  // overlong
    if (c == 0xF4 && second > 0x8F) return 0;  // beyond U+10FFFF
    return n;
}

// s as a JSON string literal, escaped as nlohmann's dump() does: the short escapes, other control
// characters as \u00xx, everything else as is. A byte that is not well-formed UTF-8 becomes
// U+FFFD, as dump() with error_handler_t::replace writes it (a path need not be UTF-8; the
// document must be).
inline void append_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            std::size_t n = utf8_sequence(s, i);
            if (n == 0) { out += "\xEF\xBF\xBD"; ++i; continue; }
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 0xF];
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
    out += '"';
}

// "key": (with the comma before it unless it is the object's first member). `out` holds the
// object so far, from its '{' on.
inline void append_key(std::string& out, std::string_view key) {
    if (!out.empty() && out.back() != '{') out += ',';
    append_string(out, key);
    out += ':';
}

inline void append_member(std::string& out, std::string_view key, std::string_view value) {
    append_key(out, key);
    append_string(out, value);
}

// Distinct names, not overloads: an int or unsigned long long argument would be ambiguous.
inline void append_unsigned(std::string& out, std::string_view key, std::uint64_t value) {
    append_key(out, key);
    out += std::to_string(value);
}

inline void append_signed(std::string& out, std::string_view key, std::int64_t value) {
    append_key(out, key);
    out += std::to_string(value);
}

inline void append_bool(std::string& out, std::string_view key, bool value) {
    append_key(out, key);
    out += value ? "true" : "false";
}

}  // namespace ctb::json_text
