#include "crypto/seal.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace piivault::crypto {
namespace {

class SealFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()) << dir_.error(); }

  std::string Path(const std::string& name) const { return dir_.File(name); }

  static void WriteRaw(const std::string& path, const std::string& bytes,
                       mode_t mode) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << bytes;
    }
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }

  static void ExpectFailedPrecondition(const Result<SecretBytes>& r,
                                       const std::string& path,
                                       const std::string& problem) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.error().message().find(path), std::string::npos)
        << r.error().message();
    EXPECT_NE(r.error().message().find(problem), std::string::npos)
        << r.error().message();
  }

  piivault::testing::ScopedTempDir dir_;
};

TEST_F(SealFileTest, WriteThenLoad) {
  const std::string path = Path("master.key");
  ASSERT_TRUE(WriteNewMasterKeyFile(path).ok());

  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 32);

  auto key = LoadMasterKeyFile(path);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_EQ(key->size(), kMasterKeySize);
  EXPECT_NE(key->view(), std::string(32, '\0'));

  std::ifstream in(path, std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(raw, key->view());

  // Loads the same key again; a second file holds a different key.
  EXPECT_EQ(LoadMasterKeyFile(path)->view(), key->view());
  const std::string path2 = Path("master2.key");
  ASSERT_TRUE(WriteNewMasterKeyFile(path2).ok());
  EXPECT_NE(LoadMasterKeyFile(path2)->view(), key->view());
}

TEST_F(SealFileTest, RefusesToOverwrite) {
  const std::string path = Path("master.key");
  ASSERT_TRUE(WriteNewMasterKeyFile(path).ok());
  std::string before = std::string(LoadMasterKeyFile(path)->view());

  Status again = WriteNewMasterKeyFile(path);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.message().find(path), std::string::npos);
  EXPECT_EQ(LoadMasterKeyFile(path)->view(), before);

  // Also when the existing file is not a key at all.
  const std::string other = Path("other");
  WriteRaw(other, "hello", 0644);
  EXPECT_EQ(WriteNewMasterKeyFile(other).code(), StatusCode::kAlreadyExists);
}

TEST_F(SealFileTest, WriteIntoMissingDirectoryIsUnavailable) {
  Status s = WriteNewMasterKeyFile(Path("no/such/dir/master.key"));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
}

TEST_F(SealFileTest, RefusesGroupOrOtherAccess) {
  const std::string path = Path("master.key");
  ASSERT_TRUE(WriteNewMasterKeyFile(path).ok());
  for (mode_t mode : {0644, 0640, 0604, 0660, 0601, 0610, 0700 | 0040}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    ExpectFailedPrecondition(LoadMasterKeyFile(path), path, "mode");
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(LoadMasterKeyFile(path).has_value());
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(LoadMasterKeyFile(path).has_value());
}

TEST_F(SealFileTest, RefusesWrongSize) {
  for (std::size_t n : {0, 1, 31, 33, 64}) {
    const std::string path = Path("key" + std::to_string(n));
    WriteRaw(path, std::string(n, 'k'), 0600);
    ExpectFailedPrecondition(LoadMasterKeyFile(path), path, "bytes");
  }
  const std::string ok = Path("ok");
  WriteRaw(ok, std::string(32, 'k'), 0600);
  EXPECT_EQ(LoadMasterKeyFile(ok).value().view(), std::string(32, 'k'));
}

TEST_F(SealFileTest, RefusesMissingFile) {
  const std::string path = Path("missing.key");
  ExpectFailedPrecondition(LoadMasterKeyFile(path), path, "does not exist");
}

TEST_F(SealFileTest, RefusesNonRegularFile) {
  const std::string sub = Path("subdir");
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  ExpectFailedPrecondition(LoadMasterKeyFile(sub), sub, "not a regular file");

  const std::string fifo = Path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ExpectFailedPrecondition(LoadMasterKeyFile(fifo), fifo, "not a regular file");
}

TEST_F(SealFileTest, FollowsSymlinkToValidKey) {
  const std::string path = Path("master.key");
  ASSERT_TRUE(WriteNewMasterKeyFile(path).ok());
  const std::string link = Path("link.key");
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  EXPECT_TRUE(LoadMasterKeyFile(link).has_value());
}

TEST_F(SealFileTest, RefusesUnreadableFile) {
  const std::string path = Path("master.key");
  ASSERT_TRUE(WriteNewMasterKeyFile(path).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0200), 0);
  ASSERT_EQ(::chmod(Path("").c_str(), 0755), 0);
  // Root reads any file, so check as an unprivileged user in a child.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && ::setuid(65534) != 0) ::_exit(3);
    auto loaded = LoadMasterKeyFile(path);
    bool refused =
        !loaded && loaded.error().code() == StatusCode::kFailedPrecondition &&
        loaded.error().message().find("cannot be opened") != std::string::npos;
    ::_exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace piivault::crypto
