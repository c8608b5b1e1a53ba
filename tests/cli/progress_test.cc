#include "cli/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace piivault::cli {
namespace {

using std::chrono::seconds;

TEST(ProgressTest, LineShowsFractionCountsAndRate) {
  EXPECT_EQ(Progress::Line("export", "records", 50, 200, seconds(5)),
            "\rexport [#######.......................]  25% 50/200 records "
            "(10/s)");
  EXPECT_EQ(Progress::Line("backup", "bytes", 300, 0, seconds(3)),
            "\rbackup 300 bytes (100/s)");
}

TEST(ProgressTest, LineNeverOverflowsPastTheTotal) {
  EXPECT_EQ(Progress::Line("x", "r", 300, 200, seconds(1)),
            "\rx [##############################] 100% 300/200 r (300/s)");
}

TEST(ProgressTest, QuietWhenStderrIsNotATerminal) {
  // Under ctest stderr is a pipe or a file, never a terminal.
  Progress progress("export", "records", 10);
  EXPECT_FALSE(progress.drawing());
}

TEST(ProgressTest, DrawsToATerminalAndEndsTheLine) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  ASSERT_NE(out, nullptr);
  {
    Progress progress = Progress::ForTest(out, "restore", "rows", 4);
    ASSERT_TRUE(progress.drawing());
    progress.Update(4);
  }
  std::fclose(out);
  const std::string drawn(buffer, size);
  std::free(buffer);
  EXPECT_NE(drawn.find("100% 4/4 rows"), std::string::npos) << drawn;
  EXPECT_EQ(drawn.back(), '\n');
}

}  // namespace
}  // namespace piivault::cli
