#include "storage/sqlite/change_stamps.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "storage/sqlite/sqlite_backend.h"
#include "support/temp_dir.h"

namespace piivault::storage::testing {
namespace {

using piivault::testing::ScopedTempDir;

WriteBatch PutOf(std::string key) {
  WriteBatch batch;
  batch.Put(std::move(key), "v");
  return batch;
}

class ChangeStampsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }
  std::unique_ptr<ChangeStamps> OpenTable() {
    auto stamps = ChangeStamps::Open(dir_.File("db-stamps"));
    EXPECT_TRUE(stamps.has_value()) << stamps.error().ToString();
    return stamps ? std::move(*stamps) : nullptr;
  }
  ScopedTempDir dir_;
};

TEST_F(ChangeStampsTest, AStampHoldsUntilTheKeyIsWritten) {
  auto table = OpenTable();
  ASSERT_NE(table, nullptr);
  auto before = table->Stamp("sys/epoch");
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(table->Stamp("sys/epoch"), before);

  const std::uint64_t slots = ChangeStamps::SlotsOf(PutOf("sys/epoch"));
  table->BeginWrite(slots);
  EXPECT_EQ(table->Stamp("sys/epoch"), std::nullopt) << "a write is under way";
  table->EndWrite(slots);
  auto after = table->Stamp("sys/epoch");
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after, before);
}

// Another process maps the same file: modelled by a second open of it, which
// has its own lock and mapping as another process would.
TEST_F(ChangeStampsTest, AWriteThroughAnotherOpeningChangesTheStamp) {
  auto mine = OpenTable();
  auto theirs = OpenTable();
  ASSERT_NE(mine, nullptr);
  ASSERT_NE(theirs, nullptr);
  auto before = mine->Stamp("k");
  const std::uint64_t slots = ChangeStamps::SlotsOf(PutOf("k"));
  theirs->BeginWrite(slots);
  theirs->EndWrite(slots);
  EXPECT_NE(mine->Stamp("k"), before);
}

TEST_F(ChangeStampsTest, AWriteOfAllKeysChangesEveryStamp) {
  auto table = OpenTable();
  ASSERT_NE(table, nullptr);
  auto a = table->Stamp("a");
  auto b = table->Stamp("bb");
  table->BeginWrite(ChangeStamps::kAllSlots);
  EXPECT_EQ(table->Stamp("a"), std::nullopt);
  table->EndWrite(ChangeStamps::kAllSlots);
  EXPECT_NE(table->Stamp("a"), a);
  EXPECT_NE(table->Stamp("bb"), b);
}

// A crash between Begin and End leaves the key without a stamp while others
// still have the table open; the next process to open it alone resets it,
// to stamps none handed out before can match.
TEST_F(ChangeStampsTest, AWriteCutShortIsSetRightByTheNextSoleOpener) {
  std::optional<std::uint64_t> before;
  {
    auto survivor = OpenTable();
    {
      auto crashed = OpenTable();
      ASSERT_NE(crashed, nullptr);
      before = crashed->Stamp("k");
      crashed->BeginWrite(ChangeStamps::SlotsOf(PutOf("k")));  // never ended
    }
    auto other = OpenTable();  // not alone: the survivor has it open
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(other->Stamp("k"), std::nullopt);
  }
  auto fresh = OpenTable();
  ASSERT_NE(fresh, nullptr);
  auto now = fresh->Stamp("k");
  ASSERT_TRUE(now.has_value());
  EXPECT_NE(now, before);
}

// The SQLite backend stamps around each write: another backend over the same
// file (another node of the deployment) sees the write in the stamp as soon
// as Write returns.
TEST_F(ChangeStampsTest, SqliteWritesChangeTheStampSeenByAnotherBackend) {
  auto writer = SqliteBackend::Open(dir_.File("vault.db"));
  auto reader = SqliteBackend::Open(dir_.File("vault.db"));
  ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
  ASSERT_TRUE(reader.has_value()) << reader.error().ToString();
  auto before = (*reader)->ChangeStamp("epoch");
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE((*writer)->Write(PutOf("unrelated-key-1")).ok());
  ASSERT_TRUE((*writer)->Write(PutOf("epoch")).ok());
  EXPECT_NE((*reader)->ChangeStamp("epoch"), before);
}

}  // namespace
}  // namespace piivault::storage::testing
