// Tenant exports through the binary (API.md, "Return, transfer, disposal"):
// the download holds what was written, its manifest verifies with the key
// of /v1/audit/public-key alone and hashes exactly the downloaded bytes,
// a recipient key encrypts it for `piivault export decrypt` with the
// matching private key only, exports work while terminating, a kill -9
// mid-export resumes to a valid export, and no plaintext reaches a file.
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <thread>

#include "harness.h"

namespace it {
namespace {

using namespace std::chrono_literals;

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string Base64Decode(std::string_view text) {
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return "";
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it)
    ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

// JSON with object members sorted by name and no whitespace, written here
// from the contract (API.md), not by the server's code.
std::string Canonical(const json::value& v) {
  if (v.is_object()) {
    std::map<std::string, const json::value*> sorted;
    for (auto& [k, m] : v.as_object()) sorted[std::string(k)] = &m;
    std::string out = "{";
    for (auto& [k, m] : sorted) {
      if (out.size() > 1) out += ",";
      out += json::serialize(json::string(k)) + ":" + Canonical(*m);
    }
    return out + "}";
  }
  if (v.is_array()) {
    std::string out = "[";
    for (auto& m : v.as_array()) {
      if (out.size() > 1) out += ",";
      out += Canonical(m);
    }
    return out + "]";
  }
  return json::serialize(v);
}

bool Ed25519Verify(const std::string& public_key, const std::string& message,
                   const std::string& signature) {
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(public_key.data()),
      public_key.size());
  if (!key) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(
                ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                signature.size(),
                reinterpret_cast<const unsigned char*>(message.data()),
                message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

std::vector<json::object> Lines(const std::string& ndjson) {
  std::vector<json::object> out;
  std::size_t start = 0;
  while (start < ndjson.size()) {
    auto end = ndjson.find('\n', start);
    if (end == std::string::npos) {
      ADD_FAILURE() << "a line without its newline";
      break;
    }
    boost::system::error_code ec;
    auto v = json::parse(ndjson.substr(start, end - start), ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "a line that is no JSON object";
      break;
    }
    out.push_back(v.as_object());
    start = end + 1;
  }
  return out;
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.init_ok()); }
  void TearDown() override {
    if (server_.running()) {
      EXPECT_EQ(server_.Stop(), 0) << server_.Log();
    }
  }

  std::string Start(const Tenant& t, const std::string& body = "") {
    auto r =
        server_.Call("POST", t.Base() + "/exports", Data(t.admin_key), body);
    EXPECT_EQ(r.status, 202) << r.Describe();
    EXPECT_EQ(Str(r.Json(), "state"), "running");
    return Str(r.Json(), "id");
  }

  // Polls the export until it is no longer running (the scheduler runs it
  // within its interval); its last state.
  json::value WaitDone(const Tenant& t, const std::string& id,
                       std::chrono::seconds deadline = 30s) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      auto r =
          server_.Call("GET", t.Base() + "/exports/" + id, Auth(t.admin_key));
      EXPECT_EQ(r.status, 200) << r.Describe();
      if (r.status != 200 || Str(r.Json(), "state") != "running" ||
          std::chrono::steady_clock::now() > until)
        return r.Json();
      std::this_thread::sleep_for(100ms);
    }
  }

  std::string Download(const Tenant& t, const std::string& id,
                       std::string_view content_type = "application/x-ndjson") {
    auto r = server_.Call("GET", t.Base() + "/exports/" + id + "/download",
                          Data(t.admin_key));
    EXPECT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(r.Header("transfer-encoding"), "chunked");
    EXPECT_EQ(r.Header("content-type"), content_type);
    return r.body;
  }

  // Whether `manifest` verifies with the key /v1/audit/public-key serves.
  ::testing::AssertionResult Verifies(const json::value& manifest) {
    auto key =
        server_.Call("GET", "/v1/audit/public-key", Auth(server_.admin_key()));
    if (key.status != 200) return ::testing::AssertionFailure() << "no key";
    if (Str(manifest, "key_id") != Str(key.Json(), "key_id"))
      return ::testing::AssertionFailure() << "another key_id";
    json::object unsigned_part = manifest.as_object();
    std::string signature = Base64Decode(Str(manifest, "signature"));
    unsigned_part.erase("signature");
    if (!Ed25519Verify(Base64Decode(Str(key.Json(), "public_key")),
                       Canonical(unsigned_part), signature))
      return ::testing::AssertionFailure() << "bad signature";
    return ::testing::AssertionSuccess();
  }

  ServerProcess server_;
};

TEST_F(ExportTest, RoundTripVerifiesWithThePublicKeyAlone) {
  ASSERT_TRUE(server_.Start());
  Tenant t = SetUpTenant(server_, "acme");
  json::object values = EveryTypeValues();
  auto eu = PostRecord(server_, t, "ann", values);
  ASSERT_EQ(eu.status, 201) << eu.Describe();
  auto us = PostRecord(server_, t, "bo", {{"note", "from us"}}, "us");
  ASSERT_EQ(us.status, 201) << us.Describe();
  ASSERT_EQ(
      server_
          .Call("POST", t.Base() + "/principals/ann/consents",
                Auth(t.admin_key), R"({"purpose":"marketing","granted":true})")
          .status,
      201);

  const std::string id = Start(t);
  json::value done = WaitDone(t, id);
  ASSERT_EQ(Str(done, "state"), "completed") << Serialize(done);
  EXPECT_EQ(Serialize(Member(done, "progress")),
            R"({"records_done":2,"records_total":2})");
  const json::value& manifest = Member(done, "manifest");
  const std::string stream = Download(t, id);

  EXPECT_EQ(Str(manifest, "sha256"), Sha256Hex(stream));
  EXPECT_TRUE(Verifies(manifest));
  EXPECT_EQ(Serialize(Member(manifest, "regions")), R"({"eu":1,"us":1})");
  // An edited byte of the stream no longer matches the manifest.
  std::string edited = stream;
  edited[edited.size() / 2] ^= 1;
  EXPECT_NE(Str(manifest, "sha256"), Sha256Hex(edited));
  // Nor does a manifest edited to match it verify.
  json::object forged = manifest.as_object();
  forged["sha256"] = Sha256Hex(edited);
  EXPECT_FALSE(Verifies(forged));

  auto lines = Lines(stream);
  ASSERT_GT(lines.size(), 3u);
  EXPECT_EQ(Str(lines[0], "kind"), "header");
  EXPECT_EQ(Str(lines[0], "format"), "piivault-tenant-export-v1");
  std::map<std::string, json::object> records;
  int consents = 0, schemas = 0;
  for (auto& l : lines) {
    if (Str(l, "kind") == "record") records[Str(l, "principal")] = l;
    if (Str(l, "kind") == "consent") {
      ++consents;
      EXPECT_EQ(Str(l, "principal"), "ann");
      EXPECT_EQ(Str(l, "purpose"), "marketing");
    }
    if (Str(l, "kind") == "collection") {
      ++schemas;
      auto schema = server_.Call("GET", t.Base() + "/collections/people",
                                 Auth(t.admin_key));
      EXPECT_EQ(Serialize(Member(l, "fields")),
                Serialize(Member(schema.Json(), "fields")));
    }
  }
  EXPECT_EQ(consents, 1);
  EXPECT_EQ(schemas, 1);
  ASSERT_EQ(records.size(), 2u);
  // The fields as a read returns them (canonical forms).
  auto read =
      server_.Call("GET", t.Record(Str(eu.Json(), "id")), Data(t.admin_key));
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(Serialize(Member(records["ann"], "fields")),
            Serialize(Member(read.Json(), "fields")));
  EXPECT_EQ(Str(records["bo"], "region"), "us");
  EXPECT_EQ(Str(Member(records["bo"], "fields"), "note"), "from us");

  // Audited: the create and the download, in the tenant's log.
  auto events = server_.Call("GET", t.Base() + "/audit/events?limit=1000",
                             Auth(t.admin_key));
  ASSERT_EQ(events.status, 200);
  std::map<std::string, int> actions;
  for (auto& e : Array(events.Json(), "events")) ++actions[Str(e, "action")];
  EXPECT_EQ(actions["exports.create"], 1) << events.body;
  EXPECT_GT(actions["exports.get"], 0);
  EXPECT_EQ(actions["exports.download"], 1) << events.body;
}

TEST_F(ExportTest, ToARecipientKeyOnlyTheMatchingPrivateKeyDecrypts) {
  ASSERT_TRUE(server_.Start());
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_EQ(PostRecord(server_, t, "ann", EveryTypeValues()).status, 201);
  const std::string dir = server_.root();
  auto keygen = [&](const std::string& name) {
    RunResult r = RunCommand(
        {PiivaultBin(), "export", "keygen", "--out-private", dir + "/" + name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string key = r.out;
    while (!key.empty() && key.back() == '\n') key.pop_back();
    return key;
  };
  const std::string mine = keygen("mine.key");
  keygen("other.key");

  const std::string id =
      Start(t, R"({"recipient_public_key":")" + mine + R"("})");
  json::value done = WaitDone(t, id);
  ASSERT_EQ(Str(done, "state"), "completed") << Serialize(done);
  const std::string stream = Download(t, id, "application/octet-stream");
  EXPECT_EQ(Str(Member(done, "manifest"), "sha256"), Sha256Hex(stream));
  EXPECT_TRUE(Verifies(Member(done, "manifest")));
  EXPECT_FALSE(ContainsIgnoreCase(stream, "Xylophone-Secret-Marker-77"));
  WriteFile(dir + "/export.pvts", stream);

  RunResult wrong = RunCommand(
      {PiivaultBin(), "export", "decrypt", "--key", dir + "/other.key", "--in",
       dir + "/export.pvts", "--out", dir + "/other.ndjson"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir + "/other.ndjson"));
  RunResult right = RunCommand({PiivaultBin(), "export", "decrypt", "--key",
                                dir + "/mine.key", "--in", dir + "/export.pvts",
                                "--out", dir + "/mine.ndjson"});
  ASSERT_EQ(right.exit_code, 0) << right.err;
  auto lines = Lines(ReadFile(dir + "/mine.ndjson"));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(Str(lines[0], "export"), id);
  EXPECT_TRUE(ContainsIgnoreCase(ReadFile(dir + "/mine.ndjson"),
                                 "Xylophone-Secret-Marker-77"));
}

// `piivault export download`: the stream into a new owner-only file,
// checked against the manifest's sha256, never over an existing file, and
// nothing left behind when the download breaks off.
TEST_F(ExportTest, TheCliDownloadsIntoANewFileCheckedAgainstTheManifest) {
  ASSERT_TRUE(server_.Start());
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_EQ(PostRecord(server_, t, "ann", EveryTypeValues()).status, 201);
  const std::string id = Start(t);
  json::value done = WaitDone(t, id);
  ASSERT_EQ(Str(done, "state"), "completed") << Serialize(done);
  const std::string expected = Download(t, id);
  const std::string dir = server_.root();
  auto download = [&](const std::string& out,
                      std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        PiivaultBin(),
        "export",
        "download",
        "--server",
        "http://127.0.0.1:" + std::to_string(server_.port()),
        "--token",
        t.admin_key,
        "--tenant",
        "acme",
        "--id",
        id,
        "--out",
        out};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCommand(args);
  };

  RunResult ok =
      download(dir + "/export.ndjson", {"--manifest-out", dir + "/manifest"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ReadFile(dir + "/export.ndjson"), expected);
  EXPECT_EQ(
      std::filesystem::status(dir + "/export.ndjson").permissions() &
          std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(json::parse(ReadFile(dir + "/manifest")), Member(done, "manifest"));
  EXPECT_NE(ok.out.find(Str(Member(done, "manifest"), "sha256")),
            std::string::npos);
  EXPECT_EQ(ok.out.find("Xylophone"), std::string::npos);

  RunResult again = download(dir + "/export.ndjson");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(ReadFile(dir + "/export.ndjson"), expected);

  // A stored chunk that no longer opens cuts the download short.
  bool damaged = false;
  for (auto& [key, value] : server_.StoreRows("control"))
    if (key.starts_with("export/acme/" + id + "/chunk/")) {
      std::string damaged_value = value;
      damaged_value.back() ^= 1;  // a flip always changes the byte
      server_.StorePut("control", key, damaged_value);
      damaged = true;
    }
  ASSERT_TRUE(damaged);
  RunResult broken = download(dir + "/broken.ndjson");
  EXPECT_NE(broken.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir + "/broken.ndjson"));
}

TEST_F(ExportTest, ExportsWorkWhileTerminating) {
  ASSERT_TRUE(server_.Start());
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_EQ(PostRecord(server_, t, "ann", EveryTypeValues()).status, 201);
  auto terminated =
      server_.Call("POST", t.Base() + "/terminate", Auth(t.admin_key),
                   R"({"return_period":"P30D"})");
  ASSERT_EQ(terminated.status, 200) << terminated.Describe();
  const std::string id = Start(t);
  json::value done = WaitDone(t, id);
  ASSERT_EQ(Str(done, "state"), "completed") << Serialize(done);
  EXPECT_TRUE(
      ContainsIgnoreCase(Download(t, id), "Xylophone-Secret-Marker-77"));
}

// Killed right after its first chunks are stored, the export is taken over
// once the dead node's lease lapses (a minute), runs again from the start
// and completes with a manifest that matches the download.
TEST_F(ExportTest, AKillMidExportResumesAndCompletes) {
  ASSERT_TRUE(server_.Start());
  Tenant t = SetUpTenant(server_, "acme");
  // More than the four 1 MiB chunks stored by the first write.
  const std::string note(4000, 'n');
  constexpr int kRecords = 1300;
  for (int i = 0; i < kRecords; ++i)
    ASSERT_EQ(PostRecord(server_, t, "p" + std::to_string(i),
                         {{"note", note}, {"ssn", "219-09-9999"}})
                  .status,
              201);
  ASSERT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(
      server_.Start(false, {{"PIIVAULT_CRASH_AT", "export.chunk_written"}}));
  const std::string id = Start(t);
  EXPECT_EQ(server_.WaitForExit(30s), std::optional<int>(128 + SIGKILL));
  // The first write of chunks and no more was stored.
  EXPECT_EQ(
      server_.StoreCountPrefix("control", "export/acme/" + id + "/chunk/"), 4);

  ASSERT_TRUE(server_.Start());
  json::value done = WaitDone(t, id, 150s);
  ASSERT_EQ(Str(done, "state"), "completed") << Serialize(done);
  const json::value& manifest = Member(done, "manifest");
  const std::string stream = Download(t, id);
  EXPECT_GT(stream.size(), 4u << 20);
  EXPECT_EQ(Str(manifest, "sha256"), Sha256Hex(stream));
  EXPECT_TRUE(Verifies(manifest));
  EXPECT_EQ(Member(Member(manifest, "counts"), "record"),
            json::value(kRecords));
  int records = 0;
  for (auto& l : Lines(stream)) records += Str(l, "kind") == "record";
  EXPECT_EQ(records, kRecords);
}

// The export never writes plaintext to a file: not a temporary file (TMPDIR
// is an empty directory watched here), not the stores (every file of the
// data directory, WAL included).
TEST_F(ExportTest, NoPlaintextReachesAFile) {
  piivault::testing::ScopedTempDir tmp;
  ASSERT_TRUE(tmp.ok());
  ASSERT_TRUE(server_.Start(false, {{"TMPDIR", tmp.path()}}));
  Tenant t = SetUpTenant(server_, "acme");
  const std::string marker = "Qwzx-Export-Plaintext-Probe-5150";
  ASSERT_EQ(PostRecord(server_, t, "ann", {{"note", marker}}).status, 201);
  const std::string id = Start(t);
  json::value done = WaitDone(t, id);
  ASSERT_EQ(Str(done, "state"), "completed") << Serialize(done);
  ASSERT_TRUE(ContainsIgnoreCase(Download(t, id), marker));
  for (const std::string& dir : {tmp.path(), server_.data_dir()})
    for (auto& file : ListFiles(dir))
      EXPECT_FALSE(ContainsIgnoreCase(ReadFile(file), marker)) << file;
  EXPECT_TRUE(ListFiles(tmp.path()).empty());
}

}  // namespace
}  // namespace it
