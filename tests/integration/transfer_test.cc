// The recipient's side of an encrypted export, offline: `piivault export
// keygen` and `piivault export decrypt` against a stream made with the
// library (transfer_encrypt_tool), as an encrypted export download makes it.
#include <sys/stat.h>

#include <filesystem>

#include "harness.h"

namespace it {
namespace {

// The stream's layout (docs/formats/transfer-stream.md): a 41-byte header,
// then chunks of 65536 plaintext bytes and a 16-byte tag.
constexpr std::size_t kHeader = 41;
constexpr std::size_t kChunk = 65536 + 16;

class TransferCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()) << dir_.error(); }

  RunResult Piivault(std::vector<std::string> args) {
    args.insert(args.begin(), PiivaultBin());
    return RunCommand(args, {}, std::chrono::seconds(30));
  }
  // A new key pair; returns the base64 public key keygen printed.
  std::string Keygen(const std::string& name) {
    RunResult r =
        Piivault({"export", "keygen", "--out-private", dir_.File(name)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string key = r.out;
    while (!key.empty() && key.back() == '\n') key.pop_back();
    return key;
  }
  std::string Encrypt(const std::string& public_key,
                      const std::string& plaintext, const std::string& name) {
    WriteFile(dir_.File("plain.in"), plaintext);
    RunResult r = RunCommand({TRANSFER_ENCRYPT_TOOL, public_key,
                              dir_.File("plain.in"), dir_.File(name)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ReadFile(dir_.File(name));
  }
  RunResult Decrypt(const std::string& key, const std::string& in,
                    const std::string& out) {
    return Piivault({"export", "decrypt", "--key", dir_.File(key), "--in",
                     dir_.File(in), "--out", dir_.File(out)});
  }
  bool Exists(const std::string& name) {
    return std::filesystem::exists(dir_.File(name));
  }
  unsigned Mode(const std::string& name) {
    struct stat st {};
    if (::stat(dir_.File(name).c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
  }

  piivault::testing::ScopedTempDir dir_;
};

// An export-like NDJSON text of a few chunks, the last one partial.
std::string SampleExport() {
  std::string s;
  for (int i = 0; s.size() < 3 * 65536 + 1000; ++i)
    s += R"({"kind":"record","id":"rec_)" + std::to_string(i) +
         R"(","fields":{"email":"person)" + std::to_string(i) +
         R"(@example.org"}})" + "\n";
  return s;
}

TEST_F(TransferCliTest, KeygenThenDecryptGivesTheExportBack) {
  const std::string public_key = Keygen("recipient.key");
  EXPECT_EQ(public_key.size(), 44u) << public_key;  // base64 of 32 bytes
  EXPECT_EQ(Mode("recipient.key"), 0600u);
  // keygen never replaces a key.
  const std::string key_file = ReadFile(dir_.File("recipient.key"));
  RunResult again = Piivault(
      {"export", "keygen", "--out-private", dir_.File("recipient.key")});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(ReadFile(dir_.File("recipient.key")), key_file);

  const std::string plaintext = SampleExport();
  const std::string stream = Encrypt(public_key, plaintext, "export.pvts");
  EXPECT_EQ(stream.size(), kHeader + plaintext.size() + 4 * 16);
  EXPECT_FALSE(ContainsIgnoreCase(stream, "person1@example.org"));

  RunResult r = Decrypt("recipient.key", "export.pvts", "export.ndjson");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadFile(dir_.File("export.ndjson")) == plaintext);
  EXPECT_EQ(Mode("export.ndjson"), 0600u);

  // decrypt never replaces a file either.
  WriteFile(dir_.File("taken"), "keep me");
  RunResult exists = Decrypt("recipient.key", "export.pvts", "taken");
  EXPECT_NE(exists.exit_code, 0);
  EXPECT_NE(exists.err.find("already exists"), std::string::npos) << exists.err;
  EXPECT_EQ(ReadFile(dir_.File("taken")), "keep me");
}

TEST_F(TransferCliTest, WrongKeyOrDamagedStreamFailsAndLeavesNoOutput) {
  const std::string public_key = Keygen("recipient.key");
  Keygen("other.key");
  const std::string stream = Encrypt(public_key, SampleExport(), "good.pvts");
  ASSERT_GT(stream.size(), kHeader + 3 * kChunk);

  auto refused = [&](const std::string& key, const std::string& in,
                     std::string_view why) {
    RunResult r = Decrypt(key, in, "out.ndjson");
    EXPECT_NE(r.exit_code, 0) << in;
    EXPECT_NE(r.err.find(why), std::string::npos) << in << ": " << r.err;
    EXPECT_FALSE(Exists("out.ndjson")) << in;
  };
  refused("other.key", "good.pvts", "does not decrypt with this key");

  // Cut after two chunks: two chunks' plaintext was written before the end
  // showed the stream incomplete, and the partial output is removed.
  WriteFile(dir_.File("cut.pvts"), stream.substr(0, kHeader + 2 * kChunk));
  refused("recipient.key", "cut.pvts", "without its final chunk");
  WriteFile(dir_.File("cut_mid.pvts"), stream.substr(0, stream.size() - 1));
  refused("recipient.key", "cut_mid.pvts", "failed to authenticate");

  std::string swapped = stream;
  swapped.replace(kHeader + kChunk, kChunk,
                  stream.substr(kHeader + 2 * kChunk, kChunk));
  swapped.replace(kHeader + 2 * kChunk, kChunk,
                  stream.substr(kHeader + kChunk, kChunk));
  WriteFile(dir_.File("swapped.pvts"), swapped);
  refused("recipient.key", "swapped.pvts", "chunk 1 of the transfer stream");

  WriteFile(dir_.File("appended.pvts"), stream + "x");
  refused("recipient.key", "appended.pvts", "integrity error");

  WriteFile(dir_.File("bad.key"), "not a key\n");
  ::chmod(dir_.File("bad.key").c_str(), 0600);
  refused("bad.key", "good.pvts", "does not hold an X25519 private key");
  ::chmod(dir_.File("recipient.key").c_str(), 0644);
  refused("recipient.key", "good.pvts", "chmod 600");
}

}  // namespace
}  // namespace it
