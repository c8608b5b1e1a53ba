// `piivault import` against a running deployment: a tenant export (NDJSON,
// written here as the export writes it) loaded into a fresh tenant, checked
// whole before anything changes, against a signed manifest, from an
// encrypted stream, and resumed after a crash.
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "harness.h"

namespace it {
namespace {

// A record id of the shape the vault issues: "rec_", 25 base32 characters
// and a last one whose two padding bits are zero.
std::string RecordId(int i) {
  static const char* kBase32 = "abcdefghijklmnopqrstuvwxyz234567";
  std::string id = "rec_imp";
  for (int n = i; id.size() < 29; n /= 32) id.push_back(kBase32[n % 32]);
  return id + "a";
}

// A value the test looks for in files: no store or temp file may hold it.
constexpr const char* kDistinctive = "Zebulon Quixotebottom";

struct RecordLine {
  std::string id, collection, principal, region;
  json::object fields;
};
struct ConsentLine {
  std::string principal, purpose;
  bool granted;
  std::string method, evidence;
};
struct TokenLine {
  std::string token, collection, record, field;
};

// The export of a tenant "source": two collections, four principals in two
// regions, a principal that granted, withdrew and granted again, tokens.
struct SampleExport {
  std::vector<RecordLine> records{
      {RecordId(1), "contacts", "cust-1", "eu",
       json::object{{"email", "ada@example.org"}, {"name", "Ada Lovelace"}}},
      {RecordId(2), "contacts", "cust-1", "eu",
       json::object{{"email", "ada.work@example.org"}, {"name", kDistinctive}}},
      {RecordId(3), "orders", "cust-1", "eu",
       json::object{{"sku", "SKU-1001"}, {"qty", 3}, {"gift", true}}},
      {RecordId(4), "contacts", "cust-2", "us",
       json::object{{"email", "grace@example.org"}, {"name", "Grace Hopper"}}},
      {RecordId(5), "orders", "cust-2", "us",
       json::object{{"sku", "SKU-2002"}, {"qty", 1}, {"gift", false}}},
      {RecordId(6), "orders", "cust-3", "eu",
       json::object{{"sku", "SKU-3003"}}},
      {RecordId(7), "contacts", "cust-4", "eu",
       json::object{{"email", "alan@example.org"}}},
  };
  std::vector<ConsentLine> consents{
      {"cust-1", "newsletter", true, "web_form", "form-17"},
      {"cust-2", "marketing", true, "", ""},
      {"cust-1", "newsletter", false, "email_link", ""},
      {"cust-1", "newsletter", true, "web_form", "form-18"},
  };
  std::vector<TokenLine> tokens{
      {"tok_oldAAAA", "contacts", RecordId(1), "email"},
      {"tok_oldBBBB", "orders", RecordId(3), "sku"},
      {"tok_oldCCCC", "contacts", RecordId(4), "name"},
  };

  // A principal without records, whose events the export names by its
  // pseudonym: checked, counted, not importable.
  ConsentLine orphan{"", "marketing", true, "web_form", ""};

  // The lines in the export's order: header, purposes, collections, then
  // region by region each record followed by its tokens, then the consents
  // of the region's principals.
  std::vector<std::string> Lines() const {
    std::vector<json::object> lines;
    lines.push_back({{"kind", "header"},
                     {"format", "piivault-tenant-export-v1"},
                     {"tenant", "source"},
                     {"export", "exp_test1"},
                     {"created_at", "2026-12-01T10:00:00Z"}});
    lines.push_back({{"kind", "purpose"},
                     {"id", "newsletter"},
                     {"category", "marketing"},
                     {"description", "The monthly newsletter"}});
    lines.push_back({{"kind", "collection"},
                     {"name", "contacts"},
                     {"fields", json::parse(R"([
                        {"name":"email","type":"email","required":false,"searchable":true},
                        {"name":"name","type":"name","required":false,"searchable":false}])")},
                     {"retention", "P365D"}});
    lines.push_back(
        {{"kind", "collection"}, {"name", "orders"}, {"fields", json::parse(R"([
                        {"name":"sku","type":"string","required":true,"searchable":false},
                        {"name":"qty","type":"integer","required":false,"searchable":false},
                        {"name":"gift","type":"boolean","required":false,"searchable":false}])")}});
    for (const std::string region : {"eu", "us"}) {
      std::set<std::string> principals;
      for (auto& r : records) {
        if (r.region != region) continue;
        principals.insert(r.principal);
        lines.push_back({{"kind", "record"},
                         {"id", r.id},
                         {"collection", r.collection},
                         {"principal", r.principal},
                         {"region", r.region},
                         {"fields", r.fields},
                         {"created_at", "2026-01-02T03:04:05Z"},
                         {"updated_at", "2026-01-02T03:04:05Z"}});
        for (auto& t : tokens)
          if (t.record == r.id)
            lines.push_back({{"kind", "token"},
                             {"token", t.token},
                             {"collection", t.collection},
                             {"record", t.record},
                             {"field", t.field}});
      }
      for (auto& c : consents) {
        if (!principals.contains(c.principal)) continue;
        json::object o{{"kind", "consent"},
                       {"principal", c.principal},
                       {"purpose", c.purpose},
                       {"granted", c.granted},
                       {"at", "2026-02-03T04:05:06Z"}};
        if (!c.method.empty()) o["method"] = c.method;
        if (!c.evidence.empty()) o["evidence"] = c.evidence;
        lines.push_back(std::move(o));
      }
      if (region == std::string("eu"))
        lines.push_back({{"kind", "consent"},
                         {"principal_pseudonym", "c2hvcnQ"},
                         {"purpose", orphan.purpose},
                         {"granted", orphan.granted},
                         {"at", "2026-02-03T04:05:06Z"},
                         {"method", orphan.method}});
    }
    std::vector<std::string> out;
    for (auto& l : lines) out.push_back(Serialize(l));
    return out;
  }
  static std::string Join(const std::vector<std::string>& lines) {
    std::string s;
    for (auto& l : lines) s += l + "\n";
    return s;
  }
  std::string Text() const { return Join(Lines()); }
};

class ImportTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    ASSERT_TRUE(dir_.ok()) << dir_.error();
    target_ = SetUpTenant(server_, "dest");
  }

  std::string File(const std::string& name) const { return dir_.File(name); }

  RunResult Piivault(std::vector<std::string> args, const Headers& env = {}) {
    args.insert(args.begin(), PiivaultBin());
    return RunCommand(args, env, std::chrono::seconds(60));
  }
  RunResult Import(const std::string& in, std::vector<std::string> extra = {},
                   Headers env = {}) {
    return ImportInto(target_, in, std::move(extra), std::move(env));
  }
  RunResult ImportInto(const Tenant& tenant, const std::string& in,
                       std::vector<std::string> extra = {}, Headers env = {}) {
    std::vector<std::string> args{
        "import",
        "--in",
        File(in),
        "--tenant",
        tenant.id,
        "--server",
        "http://127.0.0.1:" + std::to_string(server_.port())};
    args.insert(args.end(), extra.begin(), extra.end());
    env.emplace_back("PIIVAULT_TOKEN", tenant.admin_key);
    return Piivault(args, env);
  }

  // Records of the target tenant, over all regions.
  int64_t RecordCount() { return RecordCount(target_); }
  int64_t RecordCount(const Tenant& tenant) {
    auto r = server_.Call("GET", tenant.Base() + "/locations",
                          Auth(tenant.admin_key));
    EXPECT_EQ(r.status, 200) << r.Describe();
    int64_t n = 0;
    for (auto& region : Array(r.Json(), "regions"))
      n += Member(region, "records").as_int64();
    return n;
  }

  HttpResponse GetRecord(const RecordLine& r) {
    return server_.Call(
        "GET",
        target_.Base() + "/collections/" + r.collection + "/records/" + r.id,
        Data(target_.admin_key));
  }

  // Every record of the sample reads back as its line, and every principal's
  // consents are the lines' events in order.
  void ExpectImported(const SampleExport& sample) {
    for (auto& r : sample.records) {
      auto got = GetRecord(r);
      ASSERT_EQ(got.status, 200) << r.id << " " << got.Describe();
      EXPECT_EQ(Str(got.Json(), "principal"), r.principal) << r.id;
      EXPECT_EQ(Str(got.Json(), "region"), r.region) << r.id;
      EXPECT_EQ(Member(got.Json(), "fields"), json::value(r.fields))
          << r.id << " " << got.body;
    }
    for (const std::string principal : {"cust-1", "cust-2"}) {
      auto got = server_.Call(
          "GET", target_.Base() + "/principals/" + principal + "/consents",
          Auth(target_.admin_key));
      ASSERT_EQ(got.status, 200) << got.Describe();
      json::array history;
      std::map<std::string, bool> current;
      for (auto& c : sample.consents) {
        if (c.principal != principal) continue;
        auto& event = Array(got.Json(), "history");
        ASSERT_GT(event.size(), history.size()) << got.body;
        const json::value& e = event[history.size()];
        EXPECT_EQ(Str(e, "purpose"), c.purpose);
        EXPECT_EQ(Member(e, "granted"), json::value(c.granted));
        EXPECT_EQ(Str(e, "method"), c.method);
        EXPECT_EQ(Str(e, "evidence"), c.evidence);
        history.push_back(e);
        current[c.purpose] = c.granted;
      }
      EXPECT_EQ(Array(got.Json(), "history").size(), history.size())
          << got.body;
      json::object want;
      for (auto& [p, g] : current) want[p] = g;
      EXPECT_EQ(Member(got.Json(), "current"), json::value(want)) << got.body;
    }
  }

  piivault::testing::ScopedTempDir dir_;
  Tenant target_;
};

json::value ParseSummary(const RunResult& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.out, ec);
  return ec ? json::value() : v;
}

TEST_F(ImportTest, ImportsEveryLineAndMapsTokens) {
  SampleExport sample;
  WriteFile(File("export.ndjson"), sample.Text());
  RunResult r = Import("export.ndjson", {"--token-map", File("tokens.ndjson")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json::value summary = ParseSummary(r);
  EXPECT_EQ(Member(Member(summary, "records"), "created"), json::value(7))
      << r.out;
  EXPECT_EQ(Member(Member(summary, "consents"), "recorded"), json::value(4))
      << r.out;
  EXPECT_EQ(Member(Member(summary, "consents"), "not_importable"),
            json::value(1))
      << r.out;
  EXPECT_NE(r.err.find("1 consent events of principals without records"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(RecordCount(), 7);
  ExpectImported(sample);
  // The imported purpose is the stream's.
  auto purposes = server_.Call("GET", target_.Base() + "/purposes",
                               Auth(target_.admin_key));
  bool found = false;
  for (auto& p : Array(purposes.Json(), "purposes"))
    if (Str(p, "id") == "newsletter") {
      found = true;
      EXPECT_EQ(Str(p, "category"), "marketing");
      EXPECT_EQ(Str(p, "description"), "The monthly newsletter");
    }
  EXPECT_TRUE(found) << purposes.body;
  auto orders = server_.Call("GET", target_.Base() + "/collections/orders",
                             Auth(target_.admin_key));
  ASSERT_EQ(orders.status, 200);
  EXPECT_EQ(Array(orders.Json(), "fields").size(), 3u);

  // The token map: one line per token line, owner-only, each new token
  // detokenizing to the value of the record and field the old one named.
  struct stat st {};
  ASSERT_EQ(::stat(File("tokens.ndjson").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string map = ReadFile(File("tokens.ndjson"));
  std::vector<json::value> lines;
  for (std::size_t start = 0; start < map.size();) {
    auto end = map.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    lines.push_back(json::parse(map.substr(start, end - start)));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), sample.tokens.size()) << map;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const TokenLine& t = sample.tokens[i];
    EXPECT_EQ(lines[i].as_object().size(), 2u) << map;  // old, new: no value
    EXPECT_EQ(Str(lines[i], "old"), t.token);
    const std::string fresh = Str(lines[i], "new");
    ASSERT_TRUE(fresh.starts_with("tok_")) << map;
    auto values = server_.Call(
        "POST", target_.Base() + "/detokenize", Data(target_.admin_key),
        json::object{{"tokens", json::array{json::value(fresh)}}});
    ASSERT_EQ(values.status, 200) << values.Describe();
    for (auto& rec : sample.records) {
      if (rec.id != t.record) continue;
      EXPECT_EQ(Member(Member(values.Json(), "values"), fresh),
                rec.fields.at(t.field));
    }
  }

  // A rerun adds nothing: every record and event is there already. The
  // token map is never overwritten.
  RunResult again =
      Import("export.ndjson", {"--token-map", File("tokens.ndjson")});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(ReadFile(File("tokens.ndjson")), map);
  again = Import("export.ndjson", {"--token-map", File("tokens2.ndjson")});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  summary = ParseSummary(again);
  EXPECT_EQ(Member(Member(summary, "records"), "created"), json::value(0))
      << again.out;
  EXPECT_EQ(Member(Member(summary, "records"), "already_present"),
            json::value(7));
  EXPECT_EQ(Member(Member(summary, "consents"), "already_present"),
            json::value(4));
  EXPECT_EQ(RecordCount(), 7);
  ExpectImported(sample);
  // Tokens are deterministic: the same map again.
  EXPECT_EQ(ReadFile(File("tokens2.ndjson")), map);
}

TEST_F(ImportTest, ABadLineIsNamedAndNothingIsImported) {
  SampleExport sample;
  const std::vector<std::string> good = sample.Lines();
  const int64_t before = RecordCount();
  auto refused = [&](std::vector<std::string> lines, std::string_view why,
                     const std::string& text_override = "") {
    const std::string text =
        text_override.empty() ? SampleExport::Join(lines) : text_override;
    WriteFile(File("bad.ndjson"), text);
    RunResult r = Import("bad.ndjson", {"--token-map", File("bad-map")});
    EXPECT_NE(r.exit_code, 0) << why;
    EXPECT_NE(r.err.find(why), std::string::npos) << why << ": " << r.err;
    // The message names the rule, never a value of the stream.
    EXPECT_EQ(r.err.find("example.org"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("cust-"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(File("bad-map")));
    EXPECT_EQ(RecordCount(), before) << why;
  };
  // Line 8 is the third record; the lines before it are valid.
  auto lines = good;
  lines[7] = R"({"kind":"record","id":")" + RecordId(9) + R"(",)";
  refused(lines, "line 8: not a JSON object");
  lines = good;
  lines[7] = Serialize(json::object{{"kind", "record"},
                                    {"id", RecordId(8)},
                                    {"collection", "contacts"},
                                    {"principal", "cust-9"},
                                    {"region", "eu"},
                                    {"fields", "x@example.org"},
                                    {"created_at", "t"},
                                    {"updated_at", "t"}});
  refused(lines, "line 8: a record line's \"fields\" must be an object");
  lines = good;
  lines[7] = R"({"collection":"contacts","kind":"record"})";
  refused(lines, "line 8: the first member must be \"kind\"");
  lines = good;
  lines.insert(lines.begin() + 7, R"({"kind":"lunch"})");
  refused(lines, "line 8: unknown \"kind\"");
  lines = good;
  lines[0] = R"({"kind":"header","format":"piivault-tenant-export-v9",)"
             R"("tenant":"source","export":"e","created_at":"x"})";
  refused(lines, "line 1: the header's format is not");
  lines = good;
  std::swap(lines[1], lines[2]);  // a collection before a purpose
  refused(lines, "line 3: a purpose line after a collection line");
  lines = good;
  lines[8] = lines[7];  // the third record again, for its token
  refused(lines, "line 9: a record id given twice");
  lines = good;
  lines.push_back(
      R"({"kind":"token","token":"tok_x","collection":"contacts","record":")" +
      RecordId(99) + R"(","field":"email"})");
  refused(lines, "line " + std::to_string(lines.size()) +
                     ": a token of a record the stream lacks");
  // A record whose principal lives elsewhere already (cust-1 is in eu).
  lines = good;
  lines[7] = Serialize(
      json::object{{"kind", "record"},
                   {"id", RecordId(8)},
                   {"collection", "contacts"},
                   {"principal", "cust-1"},
                   {"region", "us"},
                   {"fields", json::object{{"email", "x@example.org"}}},
                   {"created_at", "t"},
                   {"updated_at", "t"}});
  refused(lines, "line 8: a principal's records in two regions");
  // Cut short inside the last line.
  const std::string text = sample.Text();
  refused({}, "not ended by a newline", text.substr(0, text.size() - 5));
}

// The target must take the stream whole: a tenant without one of the
// stream's regions, or one that is not active, is refused before anything
// changes.
TEST_F(ImportTest, ATargetThatCannotTakeTheStreamIsRefusedFirst) {
  SampleExport sample;
  WriteFile(File("export.ndjson"), sample.Text());
  Tenant narrow = SetUpTenant(server_, "narrow", {"eu"}, "eu");
  RunResult r = ImportInto(narrow, "export.ndjson");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("does not allow region us"), std::string::npos) << r.err;
  EXPECT_EQ(RecordCount(narrow), 0);
  auto purposes =
      server_.Call("GET", narrow.Base() + "/purposes", Auth(narrow.admin_key));
  EXPECT_EQ(purposes.body.find("newsletter"), std::string::npos);

  auto terminated = server_.Call("POST", target_.Base() + "/terminate",
                                 Auth(server_.admin_key()));
  ASSERT_EQ(terminated.status, 200) << terminated.Describe();
  r = Import("export.ndjson");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("the target tenant is not active"), std::string::npos)
      << r.err;
  EXPECT_EQ(RecordCount(), 0);
}

// A signed manifest: the stream must be the one it describes, signed by
// the key given.
TEST_F(ImportTest, AManifestMustMatchTheStreamAndVerify) {
  SampleExport sample;
  const std::string text = sample.Text();
  WriteFile(File("export.ndjson"), text);
  RunResult signed_by = RunCommand({IMPORT_MANIFEST_TOOL, File("export.ndjson"),
                                    "exp_test1", "source", File("manifest")});
  ASSERT_EQ(signed_by.exit_code, 0) << signed_by.err;
  std::string key = signed_by.out;
  while (!key.empty() && key.back() == '\n') key.pop_back();
  const std::string manifest = ReadFile(File("manifest"));

  auto refused = [&](const std::string& stream, const std::string& m,
                     const std::string& k, std::string_view why) {
    WriteFile(File("in.ndjson"), stream);
    WriteFile(File("m.json"), m);
    RunResult r =
        Import("in.ndjson", {"--manifest", File("m.json"), "--public-key", k});
    EXPECT_NE(r.exit_code, 0) << why;
    EXPECT_NE(r.err.find(why), std::string::npos) << why << ": " << r.err;
    EXPECT_EQ(RecordCount(), 0) << why;
  };
  // An edited stream (one value changed, same length).
  std::string edited = text;
  edited.replace(edited.find("ada@example.org"), 3, "eva");
  refused(edited, manifest, key, "SHA-256 differs");
  // A changed signature, a changed signed member, another key.
  std::string bad_signature = manifest;
  const std::size_t sig = bad_signature.find(R"("signature":")") + 13;
  bad_signature[sig] = bad_signature[sig] == 'A' ? 'B' : 'A';
  refused(text, bad_signature, key, "signature does not verify");
  std::string bad_count = manifest;
  bad_count.replace(bad_count.find(R"("records":1)"), 11, R"("records":2)");
  refused(text, bad_count, key, "signature does not verify");
  RunResult other = RunCommand({IMPORT_MANIFEST_TOOL, File("export.ndjson"),
                                "exp_test1", "source", File("other")});
  std::string other_key = other.out.substr(0, other.out.find('\n'));
  refused(text, manifest, other_key, "signed by another key");
  // A manifest of another export, validly signed.
  RunResult foreign = RunCommand({IMPORT_MANIFEST_TOOL, File("export.ndjson"),
                                  "exp_other", "source", File("foreign")});
  refused(text, ReadFile(File("foreign")),
          foreign.out.substr(0, foreign.out.find('\n')), "another export");

  // The right manifest and key: imported.
  WriteFile(File("m.json"), manifest);
  RunResult ok = Import("export.ndjson",
                        {"--manifest", File("m.json"), "--public-key", key});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(RecordCount(), 7);
}

// An encrypted export is decrypted in memory: no temporary file, no
// plaintext anywhere but the (encrypted) stores.
TEST_F(ImportTest, AnEncryptedExportImportsWithTheRightKeyOnly) {
  SampleExport sample;
  WriteFile(File("export.ndjson"), sample.Text());
  auto keygen = [&](const std::string& name) {
    RunResult r = Piivault({"export", "keygen", "--out-private", File(name)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  };
  const std::string public_key = keygen("recipient.key");
  keygen("other.key");
  RunResult enc = RunCommand({TRANSFER_ENCRYPT_TOOL, public_key,
                              File("export.ndjson"), File("export.pvts")});
  ASSERT_EQ(enc.exit_code, 0) << enc.err;
  std::filesystem::remove(File("export.ndjson"));
  const std::string tmp = File("tmp");
  std::filesystem::create_directory(tmp);

  RunResult wrong = Import("export.pvts", {"--decrypt-key", File("other.key")},
                           {{"TMPDIR", tmp}});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("does not decrypt with this key"), std::string::npos)
      << wrong.err;
  EXPECT_EQ(RecordCount(), 0);
  // A plain export given as an encrypted one.
  WriteFile(File("plain.ndjson"), sample.Text());
  RunResult plain =
      Import("plain.ndjson", {"--decrypt-key", File("recipient.key")});
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_NE(plain.err.find("not a piivault transfer stream"), std::string::npos)
      << plain.err;
  std::filesystem::remove(File("plain.ndjson"));

  RunResult r = Import("export.pvts", {"--decrypt-key", File("recipient.key")},
                       {{"TMPDIR", tmp}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(RecordCount(), 7);
  ExpectImported(sample);
  EXPECT_TRUE(ListFiles(tmp).empty());
  for (auto& path : ListFiles(dir_.path())) {
    if (path.ends_with(".pvts")) continue;
    EXPECT_FALSE(ContainsIgnoreCase(ReadFile(path), kDistinctive)) << path;
  }
  for (auto& path : ListFiles(server_.data_dir()))
    EXPECT_FALSE(ContainsIgnoreCase(ReadFile(path), kDistinctive)) << path;
  EXPECT_FALSE(ContainsIgnoreCase(server_.Log(), kDistinctive));
}

// Killed after three records (as kill -9 would), the import is rerun and
// completes: the records already in are skipped, nothing is doubled, and a
// ledger already holding its first events gets only the rest.
TEST_F(ImportTest, AnInterruptedImportCompletesOnRerun) {
  SampleExport sample;
  WriteFile(File("export.ndjson"), sample.Text());
  RunResult crashed =
      Import("export.ndjson", {}, {{"PIIVAULT_CRASH_AT", "import.records.3"}});
  EXPECT_EQ(crashed.exit_code, 128 + 9) << crashed.out << crashed.err;
  EXPECT_EQ(RecordCount(), 3);
  // The first consent event of cust-1 came in meanwhile (as a crash between
  // two consent events leaves it).
  const ConsentLine& first = sample.consents[0];
  auto posted =
      server_.Call("POST", target_.Base() + "/principals/cust-1/consents",
                   Auth(target_.admin_key),
                   json::object{{"purpose", first.purpose},
                                {"granted", first.granted},
                                {"method", first.method},
                                {"evidence", first.evidence}});
  ASSERT_EQ(posted.status, 201) << posted.Describe();

  RunResult rerun = Import("export.ndjson");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  json::value summary = ParseSummary(rerun);
  EXPECT_EQ(Member(Member(summary, "records"), "created"), json::value(4))
      << rerun.out;
  EXPECT_EQ(Member(Member(summary, "records"), "already_present"),
            json::value(3));
  EXPECT_EQ(Member(Member(summary, "consents"), "already_present"),
            json::value(1));
  EXPECT_EQ(Member(Member(summary, "consents"), "recorded"), json::value(3));
  EXPECT_EQ(RecordCount(), 7);
  ExpectImported(sample);
}

// What is in the target already must be what the stream says: a record
// changed there, or a ledger that went another way, stops a rerun.
TEST_F(ImportTest, ARerunRefusesDataThatDiffersFromTheStream) {
  SampleExport sample;
  WriteFile(File("export.ndjson"), sample.Text());
  ASSERT_EQ(Import("export.ndjson").exit_code, 0);
  const RecordLine& changed = sample.records[3];
  // Its line: 1 header, 2 purpose, 3-4 collections, 5-15 region eu (five
  // records, two tokens, four consents), then region us.
  ASSERT_NE(sample.Lines()[15].find(changed.id), std::string::npos);
  auto patched = server_.Call(
      "PATCH", target_.Base() + "/collections/contacts/records/" + changed.id,
      Data(target_.admin_key),
      json::object{{"fields", json::object{{"name", "Someone Else"}}}});
  ASSERT_EQ(patched.status, 200) << patched.Describe();
  RunResult r = Import("export.ndjson");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("line 16: a record with this id exists in the target "
                       "with other content"),
            std::string::npos)
      << r.err;

  // A ledger with an event the stream lacks.
  SampleExport fewer;
  fewer.records = {sample.records[0], sample.records[1], sample.records[2]};
  fewer.consents = {sample.consents[0]};
  fewer.tokens.clear();
  WriteFile(File("fewer.ndjson"), fewer.Text());
  r = Import("fewer.ndjson");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("has events the stream lacks"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace it
