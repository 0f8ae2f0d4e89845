#include "runtime/spec/reader.hpp"

#include <algorithm>
#include <cctype>

namespace ctb::spec::detail {

namespace {

const json& null_value() {
    static const json null;
    return null;
}

// Keys such as sysctl "net.ipv4.ip_forward" would make a dotted path ambiguous: quote them.
bool plain_key(std::string_view key) {
    if (key.empty() || std::isdigit(static_cast<unsigned char>(key.front()))) return false;
    return std::all_of(key.begin(), key.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

}  // namespace

std::string show(const json& value) {
    constexpr std::size_t max = 60;
    std::string text = value.dump();
    if (text.size() > max) text = text.substr(0, max) + "...";
    return text;
}

std::string join(Names names) {
    std::string out;
    for (auto name : names) out += fmt::format("{}{}", out.empty() ? "" : ", ", name);
    return out;
}

bool contains(Names names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

const json* Reader::field(std::string_view key) const {
    if (!value_->is_object()) return nullptr;
    auto it = value_->find(key);
    return it != value_->end() && !it->is_null() ? &*it : nullptr;
}

bool Reader::has(std::string_view key) const { return field(key) != nullptr; }

std::string Reader::path() const {
    if (!parent_) return root_path_;
    std::string base = parent_->path();
    if (index_ != kNoIndex) return fmt::format("{}[{}]", base, index_);
    std::string part = plain_key(key_) ? std::string(key_) : fmt::format("[{}]", json(key_).dump());
    if (base.empty() || part.front() == '[') return base + part;
    return base + "." + part;
}

std::string Reader::child_path(std::string_view key) const { return Reader(null_value(), *this, key, kNoIndex).path(); }

Reader Reader::child(std::string_view key) const {
    const json* v = &null_value();
    if (value_->is_object()) {
        auto it = value_->find(key);
        if (it != value_->end()) v = &*it;
    }
    return Reader(*v, *this, key, kNoIndex);
}

Reader Reader::element(std::size_t index) const {
    const json& v = value_->is_array() && index < value_->size() ? (*value_)[index] : null_value();
    return Reader(v, *this, {}, index);
}

void Reader::fail(std::string detail) const {
    if (!failed()) *error_ = plain_error(std::string(kStep), path(), std::move(detail));
}

void Reader::fail_at(std::string_view key, std::string detail) const {
    if (!failed()) *error_ = plain_error(std::string(kStep), child_path(key), std::move(detail));
}

bool Reader::expect_object() const {
    if (failed()) return false;
    if (!value_->is_object()) fail(fmt::format("expected object, got {}", show(*value_)));
    return !failed();
}

bool Reader::expect_array() const {
    if (failed()) return false;
    if (!value_->is_array()) fail(fmt::format("expected array, got {}", show(*value_)));
    return !failed();
}

void Reader::check_enum(const std::string& value, Names valid, std::string_view what,
                        bool list_valid) const {
    if (failed() || contains(valid, value)) return;
    std::string detail = fmt::format("unknown {} {}", what, json(value).dump());
    if (list_valid) detail += fmt::format(" (valid: {})", join(valid));
    fail(std::move(detail));
}

void Reader::get_enum(std::string_view key, std::string& out, Names valid, std::string_view what,
                      bool list_valid) const {
    if (failed() || !has(key)) return;
    get(key, out);
    child(key).check_enum(out, valid, what, list_valid);
}

void Reader::require_enum(std::string_view key, std::string& out, Names valid, std::string_view what,
                          bool list_valid) const {
    if (failed()) return;
    if (!has(key)) return fail_at(key, "required field is missing");
    get_enum(key, out, valid, what, list_valid);
}

void Reader::get_enums(std::string_view key, std::vector<std::string>& out, Names valid,
                       std::string_view what, bool list_valid) const {
    get(key, out);
    Reader list = child(key);
    for (std::size_t i = 0; i < out.size() && !failed(); ++i)
        list.element(i).check_enum(out[i], valid, what, list_valid);
}

void Reader::check_absolute(std::string_view key, const std::string& value, bool allow_empty) const {
    if (failed() || !has(key) || (value.empty() && allow_empty)) return;
    if (!value.empty() && value.front() == '/') return;
    fail_at(key, fmt::format("must be an absolute path, got {}", json(value).dump()));
}

void Reader::check_absolute_each(std::string_view key, const std::vector<std::string>& values) const {
    Reader list = child(key);
    for (std::size_t i = 0; i < values.size() && !failed(); ++i)
        if (values[i].empty() || values[i].front() != '/')
            list.element(i).fail(fmt::format("must be an absolute path, got {}", json(values[i]).dump()));
}

void decode(const Reader& r, std::string& out) {
    if (r.failed()) return;
    if (!r.value().is_string()) return r.fail(fmt::format("expected string, got {}", show(r.value())));
    out = r.value().get<std::string>();
}

void decode(const Reader& r, bool& out) {
    if (r.failed()) return;
    if (!r.value().is_boolean()) return r.fail(fmt::format("expected boolean, got {}", show(r.value())));
    out = r.value().get<bool>();
}

}  // namespace ctb::spec::detail
