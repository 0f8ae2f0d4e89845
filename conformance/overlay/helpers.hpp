// Shared pieces of the overlay conformance cases: a private mount namespace and a scratch
// directory per case body, layer builders (files with exact metadata, whiteouts, xattrs), raw
// overlay mounts, and snapshots (stat + sha256 + xattrs) to prove lower layers stay untouched.
//
// Setup steps raise the kit's SetupError (conformance/harness/kit.hpp), which the runner turns into
// an `error` verdict, so a case body reads as the sequence of kernel operations it checks.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "conformance/harness/kit.hpp"

namespace ctb::conformance::overlay {

// Sections of Documentation/filesystems/overlayfs.rst that the cases check.
#define CTB_OVL_DOC "Documentation/filesystems/overlayfs.rst"
inline constexpr const char* kDocNonDirs = CTB_OVL_DOC "#non-directories";
inline constexpr const char* kDocWhiteouts = CTB_OVL_DOC "#whiteouts-and-opaque-directories";
inline constexpr const char* kDocRename = CTB_OVL_DOC "#renaming-directories";
inline constexpr const char* kDocIndex = CTB_OVL_DOC "#index";
inline constexpr const char* kDocMetacopy = CTB_OVL_DOC "#metadata-only-copy-up";
inline constexpr const char* kDocVolatile = CTB_OVL_DOC "#volatile-mount";
inline constexpr const char* kDocMultiLower = CTB_OVL_DOC "#multiple-lower-layers";
inline constexpr const char* kDocXino = CTB_OVL_DOC "#xino";
inline constexpr const char* kDocXattr = CTB_OVL_DOC "#non-directories, #nesting-overlayfs-mounts";
#undef CTB_OVL_DOC

// A fixed, old mtime for lower files: a copy-up that keeps it is told apart from one that resets it.
inline constexpr std::int64_t kLowerMtime = 1'000'000'000;

// The kit's scratch dir plus the overlay mounts made in it: on destruction (every path, including
// a setup failure) its mounts are detached, newest first, then the tree is removed.
class Scratch {
public:
    Scratch();
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

    const std::string& dir() const { return dir_.path(); }
    std::string path(const std::string& rel) const { return dir_.path() + "/" + rel; }
    // mkdir -p of dir()/rel; returns the absolute path.
    std::string mkdir(const std::string& rel);

    // mount -t overlay with these options on target: 0, or the errno of the refusal.
    int try_mount(const std::string& target, const std::string& options);
    void mount(const std::string& target, const std::string& options);  // throws on refusal
    void umount(const std::string& target);
    // A small tmpfs on target: a layer on another filesystem than the scratch dir.
    void mount_tmpfs(const std::string& target);

private:
    ScratchDir dir_{"overlay"};
    std::vector<std::string> mounts_;
};

// One overlay's directories under a scratch dir: <name>/{lower,upper,work,merged}; with
// shared_lower, that directory serves as lower instead (several mounts over one lower layer).
struct Layers {
    std::string lower, upper, work, merged;
    // "lowerdir=..,upperdir=..,workdir=.." plus ",extra" when given.
    std::string options(const std::string& extra = "") const;
};
Layers make_layers(Scratch& s, const std::string& name = "ovl", const std::string& shared_lower = "");

// What every overlay case needs (root, mount namespaces) plus these overlay features.
std::vector<Requirement> needs(std::initializer_list<const char*> overlay_features = {});
// Each case body gets well over its expected run time (< 1 s).
inline constexpr std::chrono::milliseconds kTimeout{10'000};

// Body runs after unshare(CLONE_NEWNS) + making "/" private, with a fresh Scratch (overlayfs itself
// is a requirement of every overlay case: needs() above).
Verdict run_isolated(const CaseContext& ctx, const std::function<Verdict(Scratch&)>& body);

// ---- layer builders (raise SetupError) ----
struct FileSpec {
    std::string content;
    mode_t mode = 0644;
    uid_t uid = 0;
    gid_t gid = 0;
    std::int64_t mtime = kLowerMtime;
    std::map<std::string, std::string> xattrs;
};
void make_file(const std::string& path, const FileSpec& spec);
void make_file(const std::string& path, const std::string& content);
void make_dir(const std::string& path);
// An overlayfs whiteout: a 0/0 character device.
void make_whiteout(const std::string& path);
void set_xattr(const std::string& path, const std::string& name, const std::string& value);

// ---- observations ----
// lstat errno (0 when it exists).
int lstat_errno(const std::string& path);
std::optional<std::string> try_read(const std::string& path, int* err = nullptr);
std::string read_all(const std::string& path);  // throws
std::string sha256_of(const std::string& bytes);
// Sorted names in a directory, without "." and "..". Throws on failure.
std::vector<std::string> list_dir(const std::string& path);
bool contains(const std::vector<std::string>& names, const std::string& name);
// Value of an xattr (nullopt with *err set when it cannot be read), and all names.
std::optional<std::string> get_xattr(const std::string& path, const std::string& name, int* err = nullptr);
std::vector<std::string> list_xattrs(const std::string& path);
bool is_whiteout(const std::string& path);

// lstat as JSON: type, mode (octal string), uid, gid, size, blocks, ino, nlink, rdev, mtime/ctime (ns).
json stat_json(const std::string& path);
// stat_json plus sha256 (regular files), link target (symlinks) and every xattr (hex when binary).
json file_state(const std::string& path);
// file_state of every entry under dir (including dir itself as "."), keyed by relative path.
// atime is left out on purpose: reading through the overlay may update it.
json tree_state(const std::string& dir);
// Compares dir with a tree_state taken before: nullopt when identical, else a fail verdict
// naming the entries that differ (`what` says which layer it is).
std::optional<Verdict> changed_since(const std::string& dir, const json& before, const std::string& what);

}  // namespace ctb::conformance::overlay
