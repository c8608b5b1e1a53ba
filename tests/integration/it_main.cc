// main() of the integration tests: GoogleTest's, plus --backend=postgres to
// run every test against PostgreSQL stores instead of the SQLite default.
#include <gtest/gtest.h>

#include <string_view>

#include "harness.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--backend=")) {
      it::SetBackendUnderTest(arg.substr(10));
    } else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (it::BackendUnderTest() != "sqlite" &&
      it::BackendUnderTest() != "postgres") {
    std::fprintf(stderr, "--backend must be sqlite or postgres\n");
    return 2;
  }
  return RUN_ALL_TESTS();
}
