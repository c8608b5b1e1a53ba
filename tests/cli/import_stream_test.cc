// The checks `piivault import` makes before changing anything
// (cli/import_stream.h): each line, the lines together, the manifest.
#include "cli/import_stream.h"

#include <gtest/gtest.h>

#include "base/encoding.h"
#include "crypto/hash.h"
#include "crypto/signer.h"
#include "lifecycle/tenant_export.h"

namespace piivault::cli {
namespace {

namespace json = boost::json;

const std::string kRecordId = "rec_abcdefghijklmnopqrstuvwxya";

std::string Message(const Status& s) { return s.message(); }

TEST(ImportLineTest, EachKindHasItsMembersEachOfItsType) {
  auto ok = ParseImportLine(
      3, R"({"kind":"consent","principal":"p","purpose":"marketing",)"
         R"("granted":true,"at":"2026-01-01T00:00:00Z"})");
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->kind, LineKind::kConsent);

  struct Case {
    std::string line, message;
  };
  for (const Case& c : std::vector<Case>{
           {"not json", "line 7: not a JSON object"},
           {"[1]", "line 7: not a JSON object"},
           {R"({"purpose":"x","kind":"consent"})",
            "line 7: the first member must be \"kind\""},
           {R"({"kind":"lunch"})", "line 7: unknown \"kind\""},
           {R"({"kind":"token","token":"tok_a","collection":"c",)"
            R"("record":"r","field":7})",
            "line 7: a token line's \"field\" must be a string"},
           {R"({"kind":"consent","principal":"p","purpose":"m",)"
            R"("granted":"yes","at":"t"})",
            "line 7: a consent line's \"granted\" must be true or false"},
           {R"({"kind":"purpose","id":"p","category":"service"})",
            "line 7: a purpose line lacks \"description\""},
       }) {
    auto r = ParseImportLine(7, c.line);
    ASSERT_FALSE(r) << c.line;
    EXPECT_EQ(Message(r.error()), c.message) << c.line;
  }
  // Members of no kind are ignored (docs/formats/tenant-export.md): a later
  // export still reads.
  auto later = ParseImportLine(
      8, R"({"kind":"token","token":"tok_a","collection":"c","record":"r",)"
         R"("field":"f","labels":["x"]})");
  ASSERT_TRUE(later) << later.error().ToString();
  EXPECT_EQ(later->kind, LineKind::kToken);
}

TEST(ImportLineTest, TheSplitterNumbersLinesAcrossPiecesAndWantsTheLastEnded) {
  std::vector<std::pair<uint64_t, std::string>> seen;
  LineSplitter lines([&](uint64_t n, std::string_view l) {
    seen.emplace_back(n, std::string(l));
    return Status::Ok();
  });
  ASSERT_TRUE(lines.Write("ab").ok());
  ASSERT_TRUE(lines.Write("c\nd").ok());
  ASSERT_TRUE(lines.Write("\n\nef").ok());
  EXPECT_EQ(seen, (std::vector<std::pair<uint64_t, std::string>>{
                      {1, "abc"}, {2, "d"}, {3, ""}}));
  Status cut = lines.Finish();
  EXPECT_EQ(Message(cut),
            "line 4: not ended by a newline (the stream is cut short)");
}

// Feeds the validator lines of a small stream; the first error.
Status Validate(const std::vector<std::string>& lines) {
  ImportValidator v;
  uint64_t n = 0;
  for (auto& text : lines) {
    auto line = ParseImportLine(++n, text);
    if (!line) return line.error();
    PV_RETURN_IF_ERROR(v.Add(n, *line));
  }
  return v.Finish();
}

const std::string kHeader =
    R"({"kind":"header","format":"piivault-tenant-export-v1","tenant":"t",)"
    R"("export":"e","created_at":"c"})";
const std::string kCollection =
    R"({"kind":"collection","name":"c","fields":[{"name":"a","type":"string",)"
    R"("required":true},{"name":"b","type":"string"}]})";
std::string RecordLine(const std::string& id, const std::string& principal,
                       const std::string& region, const std::string& fields) {
  return R"({"kind":"record","id":")" + id + R"(","collection":"c",)" +
         R"("principal":")" + principal + R"(","region":")" + region +
         R"(","fields":)" + fields + R"(,"created_at":"x","updated_at":"x"})";
}

TEST(ImportValidatorTest, TheLinesMustFitTogether) {
  const std::string rec = RecordLine(kRecordId, "p", "eu", R"({"a":"1"})");
  EXPECT_TRUE(Validate({kHeader, kCollection, rec}).ok());
  struct Case {
    std::vector<std::string> lines;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "the stream is empty: it has no header"},
           {{kCollection}, "line 1: the first line must be the header"},
           {{kHeader, kHeader}, "line 2: a second header"},
           {{kHeader, rec},
            "line 2: a record of a collection the stream lacks"},
           {{kHeader, kCollection, rec, kCollection},
            "line 4: a collection line after a record line"},
           {{kHeader, kCollection, rec, rec},
            "line 4: a record id given twice"},
           {{kHeader, kCollection,
             RecordLine("rec_short", "p", "eu", R"({"a":"1"})")},
            "line 3: a record id not of the vault's shape"},
           {{kHeader, kCollection,
             RecordLine(kRecordId, "p", "eu", R"({"b":"1"})")},
            "line 3: a record lacks a field its collection requires"},
           {{kHeader, kCollection,
             RecordLine(kRecordId, "p", "eu", R"({"a":"1","z":"1"})")},
            "line 3: a record field its collection lacks"},
           {{kHeader, kCollection,
             RecordLine(kRecordId, "p", "eu", R"({"a":null})")},
            "line 3: a record field value must be a string, an integer, true "
            "or false"},
           {{kHeader, kCollection, rec,
             RecordLine("rec_abcdefghijklmnopqrstuvwxye", "p", "us",
                        R"({"a":"1"})")},
            "line 4: a principal's records in two regions (a principal lives "
            "in one)"},
           {{kHeader, kCollection, rec,
             R"({"kind":"consent","principal":"q","purpose":"marketing",)"
             R"("granted":true,"at":"x"})"},
            "line 4: a consent of a principal without records in the stream "
            "(the API places a principal with its first record)"},
           {{kHeader, kCollection, rec,
             R"({"kind":"consent","principal":"p","purpose":"newsletter",)"
             R"("granted":true,"at":"x"})"},
            "line 4: a consent for a purpose the stream lacks"},
           {{kHeader, kCollection, rec,
             R"({"kind":"token","token":"tok_x","collection":"c","record":")" +
                 kRecordId + R"(","field":"z"})"},
            "line 4: a token of a field the collection lacks"},
       }) {
    EXPECT_EQ(Message(Validate(c.lines)), c.message);
  }
}

// As the export writes them: region by region, each record followed by its
// tokens, then the consents of the region's principals (those without
// records named by pseudonym: checked, counted, not importable).
TEST(ImportValidatorTest, RecordsTokensAndConsentsInterleave) {
  const std::string consent =
      R"({"kind":"consent","principal":"p","purpose":"marketing",)"
      R"("granted":true,"at":"x"})";
  const std::string by_pseudonym =
      R"({"kind":"consent","principal_pseudonym":"ab12","purpose":"marketing",)"
      R"("granted":false,"at":"x"})";
  const std::string token =
      R"({"kind":"token","token":"tok_x","collection":"c","record":")" +
      kRecordId + R"(","field":"a"})";
  ImportValidator v;
  uint64_t n = 0;
  for (const std::string& text :
       {kHeader, kCollection, RecordLine(kRecordId, "p", "eu", R"({"a":"1"})"),
        token, consent, by_pseudonym,
        RecordLine("rec_abcdefghijklmnopqrstuvwxye", "q", "us", R"({"a":"2"})"),
        consent}) {
    auto line = ParseImportLine(++n, text);
    ASSERT_TRUE(line) << line.error().ToString();
    ASSERT_TRUE(v.Add(n, *line).ok()) << n;
  }
  EXPECT_EQ(v.count(LineKind::kConsent), 3u);
  EXPECT_EQ(v.unimportable_consents(), 1u);
  EXPECT_EQ(v.regions(), (std::set<std::string>{"eu", "us"}));

  for (const std::string& both :
       {std::string(
            R"({"kind":"consent","purpose":"m","granted":true,"at":"x"})"),
        std::string(
            R"({"kind":"consent","principal":"p","principal_pseudonym":"ab",)"
            R"("purpose":"m","granted":true,"at":"x"})")}) {
    auto r = ParseImportLine(4, both);
    ASSERT_FALSE(r);
    EXPECT_EQ(Message(r.error()),
              "line 4: a consent line names one of \"principal\" and "
              "\"principal_pseudonym\"");
  }
}

TEST(ImportManifestTest, TheManifestMustBeSignedAndDescribeTheStream) {
  ImportValidator stream;
  ASSERT_TRUE(stream.Add(1, *ParseImportLine(1, kHeader)).ok());
  const std::string sha = HexEncode(crypto::Sha256("the stream"));
  crypto::Ed25519Key key = crypto::Ed25519Key::Generate();
  auto sign = [&](json::object m) {
    m["signature"] = Base64Encode(key.Sign(lifecycle::CanonicalJson(m)));
    return json::serialize(m);
  };
  json::object manifest{{"export", "e"},
                        {"tenant", "t"},
                        {"sha256", sha},
                        {"key_id", key.key_id()},
                        {"counts", json::object{{"records", 1}}}};
  const std::string pub = Base64Encode(key.public_key());
  EXPECT_TRUE(VerifyManifest(sign(manifest), pub, sha, stream).ok());
  // Wrapped in the export's status document, too.
  EXPECT_TRUE(VerifyManifest(R"({"id":"e","manifest":)" + sign(manifest) + "}",
                             pub, sha, stream)
                  .ok());
  EXPECT_EQ(VerifyManifest(sign(manifest), pub,
                           HexEncode(crypto::Sha256("another")), stream)
                .code(),
            StatusCode::kDataLoss);
  json::object other = manifest;
  other["export"] = "e2";
  EXPECT_EQ(Message(VerifyManifest(sign(other), pub, sha, stream)),
            "the manifest is of another export than the stream");
  std::string forged = sign(manifest);
  forged.replace(forged.find(R"("records":1)"), 11, R"("records":2)");
  EXPECT_EQ(Message(VerifyManifest(forged, pub, sha, stream)),
            "the manifest's signature does not verify");
  const std::string other_key =
      Base64Encode(crypto::Ed25519Key::Generate().public_key());
  EXPECT_EQ(VerifyManifest(sign(manifest), other_key, sha, stream).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(VerifyManifest(sign(manifest), "not base64!", sha, stream).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace piivault::cli
