// overlayfs feature probe: mounts a real overlay with each optional feature and checks that the
// kernel kept the option (it silently falls back for some, e.g. index=on without file handles).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/feature.hpp"

namespace ctb::overlay {

struct OverlayProbe {
    Feature filesystem;  // a plain lower+upper overlay mounts
    // redirect_dir, index, metacopy, xino, volatile, userxattr: in that order.
    std::vector<std::pair<std::string, Feature>> features;
};

// Runs in a child with a private mount namespace, on the filesystem that holds scratch_parent
// (ctbench's state directory, so the answer is true for where the runtime puts its layers).
OverlayProbe probe(const std::string& scratch_parent = "/run/ctbench");

// The mount option that enables a feature and the token mountinfo shows when it is on.
struct FeatureOption {
    std::string name, mount_option, shown_as;
};
const std::vector<FeatureOption>& feature_options();

}  // namespace ctb::overlay
