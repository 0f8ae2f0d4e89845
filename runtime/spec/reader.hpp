// Internal to runtime/spec: a JSON reader that knows the path of the value it reads, so that every
// type or value error names the field ("linux.resources.memory.limit: expected integer, got "abc"").
// The first error is kept in a slot shared by all readers of one document and every later read is a
// no-op: a struct's decoder is then a flat list of one-line field reads, checked once at the end,
// instead of an early return after each field.
#pragma once

#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ctb::spec::detail {

using nlohmann::json;
using Names = std::span<const std::string_view>;

inline constexpr std::string_view kStep = "parse config.json";

// A value as it appears in the document, cut short so that a huge array cannot flood a message.
std::string show(const json& value);
// "a, b, c"
std::string join(Names names);
bool contains(Names names, std::string_view name);

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;

// Integers proper: bool is std::integral too, but JSON keeps it apart.
template <class T>
concept Integer = std::integral<T> && !std::same_as<T, bool>;

// A child reader points at its parent (for its path), so it must not outlive it: readers are made
// for one decode call or kept as locals below their parent, never stored.
class Reader {
public:
    Reader(const json& value, std::string path, std::optional<Error>& error)
        : value_(&value), root_path_(std::move(path)), error_(&error) {}

    const json& value() const { return *value_; }
    // Built when asked (an error message): a document decodes hundreds of fields that never fail.
    std::string path() const;
    bool failed() const { return error_->has_value(); }

    // Present and not null: Go-written configs use null for "not set".
    bool has(std::string_view key) const;
    Reader child(std::string_view key) const;  // a null value when absent
    Reader element(std::size_t index) const;

    // Record an error at this value's path (or at its field `key`) unless one is already recorded.
    void fail(std::string detail) const;
    void fail_at(std::string_view key, std::string detail) const;

    // Type checks that record "expected object, got ..." and say whether reading may go on.
    bool expect_object() const;
    bool expect_array() const;

    // Optional field: absent or null leaves `out` as it was.
    template <class T>
    void get(std::string_view key, T& out) const {
        if (failed()) return;
        if (const json* v = field(key)) decode(Reader(*v, *this, key, kNoIndex), out);
    }

    template <class T>
    void require(std::string_view key, T& out) const {
        if (failed()) return;
        if (!has(key)) return fail_at(key, "required field is missing");
        get(key, out);
    }

    // Integer field (plain or optional) limited to lo..hi.
    template <class T>
    void get_in(std::string_view key, T& out, std::int64_t lo, std::int64_t hi) const {
        if (failed()) return;
        const json* found = this->field(key);
        if (!found) return;
        Reader field(*found, *this, key, kNoIndex);
        if constexpr (is_optional_v<T>) {
            typename T::value_type v{};
            if (field.integer(v, lo, hi)) out = v;
        } else {
            field.integer(out, lo, hi);
        }
    }

    template <class T>
    void require_in(std::string_view key, T& out, std::int64_t lo, std::int64_t hi) const {
        if (failed()) return;
        if (!has(key)) return fail_at(key, "required field is missing");
        get_in(key, out, lo, hi);
    }

    // String field whose value must be one of `valid`; `what` names the kind ("namespace type").
    // `list_valid` adds the valid values to the message (off for long lists such as capabilities).
    void get_enum(std::string_view key, std::string& out, Names valid, std::string_view what,
                  bool list_valid = true) const;
    void require_enum(std::string_view key, std::string& out, Names valid, std::string_view what,
                      bool list_valid = true) const;
    void get_enums(std::string_view key, std::vector<std::string>& out, Names valid,
                   std::string_view what, bool list_valid = true) const;
    // This value (a string already read into `value`) must be one of `valid`.
    void check_enum(const std::string& value, Names valid, std::string_view what, bool list_valid) const;

    // Paths inside the container or on the host that the spec wants absolute. Checked only when
    // the field is present; `allow_empty` accepts "" (some writers spell "not set" that way).
    void check_absolute(std::string_view key, const std::string& value, bool allow_empty = false) const;
    void check_absolute_each(std::string_view key, const std::vector<std::string>& values) const;

    // This value as an integer in lo..hi; false (with the error recorded) otherwise.
    template <Integer T, class L, class H>
    bool integer(T& out, L lo, H hi) const {
        if (failed()) return false;
        if (value_->is_number_unsigned()) return in_range(value_->get<std::uint64_t>(), out, lo, hi);
        if (value_->is_number_integer()) return in_range(value_->get<std::int64_t>(), out, lo, hi);
        fail(fmt::format("expected integer, got {}", show(*value_)));
        return false;
    }

private:
    template <class V, Integer T, class L, class H>
    bool in_range(V v, T& out, L lo, H hi) const {
        if (std::cmp_less(v, lo) || std::cmp_greater(v, hi)) {
            fail(fmt::format("expected integer in {}..{}, got {}", lo, hi, v));
            return false;
        }
        // Bounds wider than T (a caller's mistake) must not let a value wrap around.
        if (!std::in_range<T>(v))
            return in_range(v, out, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
        out = static_cast<T>(v);
        return true;
    }

    static constexpr std::size_t kNoIndex = std::size_t(-1);
    Reader(const json& value, const Reader& parent, std::string_view key, std::size_t index)
        : value_(&value), parent_(&parent), key_(key), index_(index), error_(parent.error_) {}
    // The field's value when present and not null (one lookup), else nullptr.
    const json* field(std::string_view key) const;
    std::string child_path(std::string_view key) const;

    const json* value_;
    const Reader* parent_ = nullptr;  // null: the document's root, whose path is root_path_
    std::string_view key_;            // in the parent object, or
    std::size_t index_ = kNoIndex;    // in the parent array
    std::string root_path_;
    std::optional<Error>* error_;
};

// Decoders for the JSON shapes the spec uses; struct decoders live next to their parse code.
// All are found by argument-dependent lookup through Reader, so their order does not matter.
void decode(const Reader& r, std::string& out);
void decode(const Reader& r, bool& out);

template <Integer T>
void decode(const Reader& r, T& out) {
    r.integer(out, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
}

template <class T>
void decode(const Reader& r, std::optional<T>& out) {
    T v{};
    decode(r, v);
    if (!r.failed()) out = std::move(v);
}

// JSON object with values of one type: annotations, sysctl, unified, timeOffsets.
template <class T>
void decode(const Reader& r, std::map<std::string, T>& out) {
    if (!r.expect_object()) return;
    out.clear();
    for (const auto& [key, value] : r.value().items())
        if (!value.is_null() && !r.failed()) decode(r.child(key), out[key]);
}

template <class T>
void decode(const Reader& r, std::vector<T>& out) {
    if (!r.expect_array()) return;
    out.assign(r.value().size(), T{});
    for (std::size_t i = 0; i < out.size() && !r.failed(); ++i) decode(r.element(i), out[i]);
}

}  // namespace ctb::spec::detail
