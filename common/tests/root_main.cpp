// main() for test binaries that need root: Meson treats exit code 77 as "skipped".
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
    if (::geteuid() != 0) {
        std::fprintf(stderr, "skipping: this test needs root\n");
        return 77;
    }
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
