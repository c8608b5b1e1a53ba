// Tenant exports as a job: the stream holds everything the tenant wrote
// (schemas, purposes, records in every region with their tokens, consent
// ledgers), its manifest counts it, hashes the download and verifies under
// the deployment's public key, a recipient key encrypts it for that key
// alone, and a run that was interrupted starts over cleanly.
#include "lifecycle/tenant_export.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "base/encoding.h"
#include "crypto/hash.h"
#include "crypto/signer.h"
#include "crypto/transfer_stream.h"
#include "vault_fixture.h"

namespace piivault::lifecycle {
namespace {

namespace json = boost::json;
using vault::FieldType;
using vault::RequestContext;
using vault::testing::VaultHarness;

// A string as JSON, to compare with members.
json::value J(std::string_view s) { return json::string(s); }

class TenantExportTest : public ::testing::Test {
 protected:
  // Small chunks and pages, so that an export of a few records spans many
  // of both; its own scheduler, with this service's handler.
  TenantExportTest()
      : scheduler(&h.vault->control, &h.clock, {.max_attempts = 2}),
        exports(h.router.get(), &h.vault->control, &h.vault->collections,
                &h.vault->tenants, &h.vault->records, &h.vault->consents,
                &scheduler, &h.clock, {.chunk_size = 300, .page = 3}) {
    exports.Register();
  }

  void SetUp() override {
    tenant = h.CreateAcme();
    auto people =
        h.vault->collections.Put(RequestContext(), "acme", "people",
                                 {{"email", FieldType::kEmail, true, true},
                                  {"ssn", FieldType::kSsn, false, false},
                                  {"age", FieldType::kInteger, false, false}},
                                 "P365D");
    ASSERT_TRUE(people.has_value());
    auto orders =
        h.vault->collections.Put(RequestContext(), "acme", "orders",
                                 {{"item", FieldType::kString, true, false},
                                  {"gift", FieldType::kBoolean, false, false}},
                                 "");
    ASSERT_TRUE(orders.has_value());
    collections = {people->collection, orders->collection};
  }

  std::string Create(int c, const std::string& principal,
                     const vault::Fields& fields,
                     std::optional<std::string> region = std::nullopt) {
    auto r = h.vault->records.Create(RequestContext(), tenant, collections[c],
                                     principal, region, fields);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? r->id : "";
  }

  void Consent(const std::string& principal, const std::string& purpose,
               bool granted, const std::string& method = "") {
    auto p = h.vault->tenants.GetPurpose(RequestContext(), "acme", purpose);
    ASSERT_TRUE(p.has_value());
    auto e = h.vault->consents.Record(RequestContext(), tenant, principal, *p,
                                      granted, method, "");
    ASSERT_TRUE(e.has_value()) << e.error().ToString();
  }

  // Runs the due export job; the export as it then is.
  TenantExport RunExport(const std::string& id) {
    auto ran = scheduler.RunDue(h.clock.Now());
    EXPECT_TRUE(ran.has_value() && ran->completed == 1)
        << (ran ? "" : ran.error().ToString());
    auto e = exports.Get("acme", id);
    EXPECT_TRUE(e.has_value());
    return e.value_or(TenantExport{});
  }

  std::string Download(const std::string& id) {
    auto download = exports.StartDownload("acme", id);
    EXPECT_TRUE(download.has_value()) << download.error().ToString();
    if (!download) return "";
    std::string out;
    for (;;) {
      auto piece = download->next();
      EXPECT_TRUE(piece.has_value());
      if (!piece || !*piece) break;
      EXPECT_LE((*piece)->size(), 300u);
      out += **piece;
    }
    return out;
  }

  static std::vector<json::object> Lines(const std::string& ndjson) {
    std::vector<json::object> out;
    std::size_t start = 0;
    while (start < ndjson.size()) {
      auto end = ndjson.find('\n', start);
      EXPECT_NE(end, std::string::npos) << "every line ends with \\n";
      if (end == std::string::npos) break;
      json::value v = json::parse(ndjson.substr(start, end - start));
      EXPECT_TRUE(v.is_object());
      // "kind" comes first.
      EXPECT_EQ(v.as_object().begin()->key(), "kind");
      out.push_back(v.as_object());
      start = end + 1;
    }
    return out;
  }

  static std::vector<json::object> OfKind(
      const std::vector<json::object>& lines, std::string_view kind) {
    std::vector<json::object> out;
    for (auto& l : lines)
      if (l.at("kind").as_string() == kind) out.push_back(l);
    return out;
  }

  VaultHarness h;
  Scheduler scheduler;
  TenantExportService exports;
  vault::Tenant tenant;
  std::vector<vault::Collection> collections;
};

TEST_F(TenantExportTest, HoldsEverythingTheTenantWrote) {
  // Ann in eu with two records, Bo in us with one, Cy only consents left
  // (its record deleted), Di in eu without anything but a record.
  std::string a1 = Create(0, "Ann",
                          {{"email", std::string("ann@example.org")},
                           {"ssn", std::string("123-45-6789")},
                           {"age", int64_t{41}}});
  std::string a2 =
      Create(1, "Ann", {{"item", std::string("book\n\"x\"")}, {"gift", true}});
  std::string b1 = Create(0, "Bo",
                          {{"email", std::string("bo@example.org")},
                           {"ssn", std::string("219-09-9999")}},
                          "us");
  std::string c1 = Create(1, "Cy", {{"item", std::string("pen")}});
  std::string d1 = Create(1, "Di", {{"item", std::string("cup")}});
  Consent("Ann", "marketing", true, "web_form");
  Consent("Ann", "marketing", false);
  Consent("Bo", "advertising", true);
  Consent("Cy", "marketing", true);
  ASSERT_TRUE(
      h.vault->records.Delete(RequestContext(), tenant, "orders", c1).ok());

  auto started = exports.Start(RequestContext(), tenant, std::nullopt);
  ASSERT_TRUE(started.has_value());
  EXPECT_EQ(started->state, ExportState::kRunning);
  EXPECT_TRUE(started->id.starts_with("exp_"));
  // Not downloadable while running.
  auto early = exports.StartDownload("acme", started->id);
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().code(), StatusCode::kFailedPrecondition);

  TenantExport done = RunExport(started->id);
  ASSERT_EQ(done.state, ExportState::kCompleted);
  EXPECT_EQ(done.records_done, 4);
  EXPECT_EQ(done.records_total, 4);
  EXPECT_GT(done.chunks, 3u);  // 300-byte chunks
  const std::string stream = Download(started->id);
  auto lines = Lines(stream);
  ASSERT_FALSE(lines.empty());

  // The header first.
  EXPECT_EQ(lines[0].at("kind"), "header");
  EXPECT_EQ(lines[0].at("format"), "piivault-tenant-export-v1");
  EXPECT_EQ(lines[0].at("tenant"), "acme");
  EXPECT_EQ(lines[0].at("export"), J(started->id));
  EXPECT_EQ(OfKind(lines, "header").size(), 1u);

  // Purposes and schemas as defined.
  auto purposes = h.vault->tenants.ListPurposes("acme");
  ASSERT_TRUE(purposes.has_value());
  auto purpose_lines = OfKind(lines, "purpose");
  ASSERT_EQ(purpose_lines.size(), purposes->size());
  for (std::size_t i = 0; i < purposes->size(); ++i) {
    EXPECT_EQ(purpose_lines[i].at("id"), J((*purposes)[i].id));
    EXPECT_EQ(purpose_lines[i].at("description"),
              J((*purposes)[i].description));
    EXPECT_EQ(purpose_lines[i].at("category"),
              J(vault::PurposeCategoryName((*purposes)[i].category)));
  }
  auto schema = OfKind(lines, "collection");
  ASSERT_EQ(schema.size(), 2u);
  EXPECT_EQ(
      json::serialize(schema[1]),
      R"({"kind":"collection","name":"people","fields":[)"
      R"({"name":"email","type":"email","required":true,"searchable":true},)"
      R"({"name":"ssn","type":"ssn","required":false,"searchable":false},)"
      R"({"name":"age","type":"integer","required":false,"searchable":false}],)"
      R"("retention":"P365D"})");
  EXPECT_EQ(schema[0].at("name"), "orders");
  EXPECT_FALSE(schema[0].contains("retention"));

  // Every record, opened, equal to what a read returns.
  std::map<std::string, json::object> records;
  for (auto& l : OfKind(lines, "record"))
    records[std::string(l.at("id").as_string())] = l;
  ASSERT_EQ(records.size(), 4u);
  EXPECT_FALSE(records.contains(c1));
  for (auto& [id, line] : records) {
    auto read = h.vault->records.Get(RequestContext(), tenant,
                                     line.at("collection").as_string(), id,
                                     std::nullopt);
    ASSERT_TRUE(read.has_value());
    EXPECT_EQ(line.at("principal"), J(read->principal));
    EXPECT_EQ(line.at("region"), J(read->region));
    EXPECT_EQ(line.at("created_at"), J(FormatRfc3339(read->created_at)));
    EXPECT_EQ(line.at("updated_at"), J(FormatRfc3339(read->updated_at)));
    json::object fields;
    for (auto& [name, value] : read->fields)
      fields[name] = std::visit([](auto& x) { return json::value(x); }, value);
    EXPECT_EQ(line.at("fields"), fields);
  }
  EXPECT_EQ(records[a1].at("fields").at("ssn"), "123-45-6789");
  EXPECT_EQ(records[a1].at("fields").at("age"), 41);
  EXPECT_EQ(records[a2].at("fields").at("item"), "book\n\"x\"");
  EXPECT_EQ(records[a2].at("fields").at("gift"), true);
  EXPECT_EQ(records[b1].at("region"), "us");
  EXPECT_EQ(records[d1].at("principal"), "Di");

  // The SSNs' tokens, equal to what tokenize gives.
  auto tokens = OfKind(lines, "token");
  ASSERT_EQ(tokens.size(), 2u);
  for (auto& t : tokens) {
    EXPECT_EQ(t.at("field"), "ssn");
    EXPECT_EQ(t.at("collection"), "people");
    std::string record(t.at("record").as_string());
    auto issued = h.vault->records.Tokenize(RequestContext(), tenant,
                                            collections[0], record, {"ssn"});
    ASSERT_TRUE(issued.has_value());
    EXPECT_EQ(t.at("token"), J(issued->at("ssn")));
  }

  // Each ledger event in order; Cy, whose records are gone, by pseudonym.
  auto consents = OfKind(lines, "consent");
  ASSERT_EQ(consents.size(), 4u);
  std::vector<json::object> ann, bo, cy;
  auto cy_pseudonym = h.vault->records.Pseudonym(tenant, "Cy");
  ASSERT_TRUE(cy_pseudonym.has_value());
  for (auto& c : consents) {
    if (c.contains("principal_pseudonym")) {
      EXPECT_EQ(c.at("principal_pseudonym"), J(*cy_pseudonym));
      cy.push_back(c);
    } else if (c.at("principal") == "Ann") {
      ann.push_back(c);
    } else {
      EXPECT_EQ(c.at("principal"), "Bo");
      bo.push_back(c);
    }
  }
  ASSERT_EQ(ann.size(), 2u);
  EXPECT_EQ(ann[0].at("granted"), true);
  EXPECT_EQ(ann[0].at("method"), "web_form");
  EXPECT_EQ(ann[1].at("granted"), false);
  EXPECT_FALSE(ann[1].contains("method"));
  auto ledger = h.vault->consents.Ledger(RequestContext(), tenant, "Ann");
  ASSERT_TRUE(ledger.has_value());
  EXPECT_EQ(ann[1].at("at"), J(FormatRfc3339(ledger->history[1].at)));
  ASSERT_EQ(bo.size(), 1u);
  EXPECT_EQ(bo[0].at("purpose"), "advertising");
  ASSERT_EQ(cy.size(), 1u);

  // The manifest counts the lines, records per region, hashes the bytes.
  ASSERT_TRUE(done.manifest.has_value());
  const json::object& m = *done.manifest;
  EXPECT_EQ(m.at("export"), J(started->id));
  EXPECT_EQ(m.at("tenant"), "acme");
  EXPECT_EQ(m.at("created_at"), lines[0].at("created_at"));
  json::object counts{{"header", 1},     {"purpose", purposes->size()},
                      {"collection", 2}, {"record", 4},
                      {"consent", 4},    {"token", 2}};
  EXPECT_EQ(json::serialize(m.at("counts")), json::serialize(counts));
  EXPECT_EQ(m.at("regions"), (json::object{{"eu", 3}, {"us", 1}}));
  EXPECT_EQ(m.at("sha256"), J(HexEncode(crypto::Sha256(stream))));
}

TEST_F(TenantExportTest, TheManifestVerifiesUnderTheDeploymentKey) {
  Create(0, "Ann", {{"email", std::string("ann@example.org")}});
  auto started = exports.Start(RequestContext(), tenant, std::nullopt);
  ASSERT_TRUE(started.has_value());
  TenantExport done = RunExport(started->id);
  ASSERT_TRUE(done.manifest.has_value());
  json::object m = *done.manifest;
  auto key = h.keyring->LoadOrCreateSigningKey();
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(m.at("key_id"), J(key->key_id()));
  auto signature = Base64Decode(m.at("signature").as_string());
  ASSERT_TRUE(signature.has_value());
  m.erase("signature");
  // Keys sorted, no whitespace: rebuilt here from the members by hand.
  std::string canonical =
      R"({"counts":{"collection":2,"consent":0,"header":1,"purpose":)" +
      std::to_string(m.at("counts").at("purpose").as_int64()) +
      R"(,"record":1,"token":0},"created_at":)" +
      json::serialize(m.at("created_at")) + R"(,"export":")" + started->id +
      R"(","key_id":")" + key->key_id() + R"(","regions":{"eu":1,"us":0},)" +
      R"("sha256":")" + std::string(m.at("sha256").as_string()) +
      R"(","tenant":"acme"})";
  EXPECT_EQ(CanonicalJson(m), canonical);
  EXPECT_TRUE(crypto::Ed25519Verify(key->public_key(), canonical, *signature));
  // Any change to what it says breaks it.
  m["regions"].as_object()["us"] = 1;
  EXPECT_FALSE(
      crypto::Ed25519Verify(key->public_key(), CanonicalJson(m), *signature));
}

TEST_F(TenantExportTest, ARecipientKeyEncryptsForThatKeyAlone) {
  Create(0, "Ann",
         {{"email", std::string("ann@example.org")},
          {"ssn", std::string("123-45-6789")}});
  auto recipient = crypto::X25519KeyPair::Generate();
  auto started = exports.Start(RequestContext(), tenant, recipient.public_key);
  ASSERT_TRUE(started.has_value());
  TenantExport done = RunExport(started->id);
  ASSERT_EQ(done.state, ExportState::kCompleted);
  const std::string stream = Download(started->id);
  EXPECT_TRUE(stream.starts_with("PVTS"));
  EXPECT_EQ(stream.find("ann@example.org"), std::string::npos);
  EXPECT_EQ(done.manifest->at("sha256"), J(HexEncode(crypto::Sha256(stream))));

  std::string plain;
  auto reader = crypto::TransferStreamReader::Create(recipient.private_key,
                                                     crypto::AppendTo(&plain));
  ASSERT_TRUE(reader.has_value());
  ASSERT_TRUE(reader->Write(stream).ok());
  ASSERT_TRUE(reader->Finish().ok());
  auto lines = Lines(plain);
  ASSERT_EQ(OfKind(lines, "record").size(), 1u);
  EXPECT_EQ(OfKind(lines, "record")[0].at("fields").at("email"),
            "ann@example.org");

  std::string wrong_plain;
  auto wrong = crypto::TransferStreamReader::Create(
      crypto::X25519KeyPair::Generate().private_key,
      crypto::AppendTo(&wrong_plain));
  ASSERT_TRUE(wrong.has_value());
  Status opened = wrong->Write(stream);
  if (opened.ok()) opened = wrong->Finish();
  EXPECT_EQ(opened.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(wrong_plain.empty());
}

TEST_F(TenantExportTest, ARecipientKeyX25519RefusesIsAValidationError) {
  for (std::string key : {std::string(31, 'k'), std::string(32, '\0')}) {
    auto started = exports.Start(RequestContext(), tenant, key);
    ASSERT_FALSE(started.has_value());
    EXPECT_EQ(started.error().field(), "recipient_public_key");
  }
}

TEST_F(TenantExportTest, ARunStartsOverAfterAnInterruptedOne) {
  for (int i = 0; i < 7; ++i)
    Create(0, "P" + std::to_string(i),
           {{"email", "p" + std::to_string(i) + "@example.org"}});
  auto started = exports.Start(RequestContext(), tenant, std::nullopt);
  ASSERT_TRUE(started.has_value());
  // What a run that died mid-way left: chunks past where this run ends,
  // and garbage where it writes.
  const std::string prefix =
      vault::keys::ExportChunkPrefix("acme", started->id);
  for (uint64_t n : {0, 1, 500}) {
    storage::WriteBatch batch;
    h.vault->control.PutBytes(
        batch, vault::keys::ExportChunk("acme", started->id, n), "stale");
    ASSERT_TRUE(h.vault->control.backend().Write(batch).ok());
  }
  TenantExport done = RunExport(started->id);
  ASSERT_EQ(done.state, ExportState::kCompleted);
  auto stored = h.vault->control.backend().Scan(prefix, "", SIZE_MAX);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->size(), done.chunks);
  const std::string stream = Download(started->id);
  EXPECT_EQ(stream.find("stale"), std::string::npos);
  EXPECT_EQ(OfKind(Lines(stream), "record").size(), 7u);
  EXPECT_EQ(done.manifest->at("sha256"), J(HexEncode(crypto::Sha256(stream))));
}

// A disposal deletes the export with its chunks while the job may still be
// writing: no chunk may be written after the export's document is gone, or
// it would outlive its tenant.
TEST_F(TenantExportTest, NoChunkIsWrittenOnceTheExportIsGone) {
  for (int i = 0; i < 7; ++i)
    Create(0, "P" + std::to_string(i),
           {{"email", "p" + std::to_string(i) + "@example.org"}});
  auto started = exports.Start(RequestContext(), tenant, std::nullopt);
  ASSERT_TRUE(started.has_value());
  const std::string doc = vault::keys::Export("acme", started->id);
  const std::string chunks =
      vault::keys::ExportChunkPrefix("acme", started->id);
  h.faults.before_write = [&](const storage::WriteBatch& batch) {
    for (auto& op : batch.ops())
      if (op.key.starts_with(chunks)) {
        // The disposal's purge lands just before this write of chunks.
        storage::WriteBatch purge;
        purge.Delete(doc);
        ASSERT_TRUE(h.control_backend->Write(purge).ok());
        h.faults.before_write = nullptr;
        return;
      }
  };
  ASSERT_TRUE(scheduler.RunDue(h.clock.Now()).has_value());
  auto left = h.control_backend->Scan(vault::keys::TenantExportPrefix("acme"),
                                      "", SIZE_MAX);
  ASSERT_TRUE(left.has_value());
  EXPECT_TRUE(left->empty()) << left->front().key;
}

TEST_F(TenantExportTest, ChunksAreSealedUnderTheirKeys) {
  Create(0, "Ann", {{"email", std::string("ann@example.org")}});
  auto started = exports.Start(RequestContext(), tenant, std::nullopt);
  ASSERT_TRUE(started.has_value());
  TenantExport done = RunExport(started->id);
  ASSERT_GE(done.chunks, 2u);
  for (auto& kv : vault::testing::Dump(*h.control_backend))
    EXPECT_EQ(kv.value.find("ann@example.org"), std::string::npos) << kv.key;
  // A chunk moved to another place fails to open, and the download says so.
  vault::testing::Poke(
      *h.control_backend, vault::keys::ExportChunk("acme", started->id, 0),
      vault::testing::Peek(*h.control_backend,
                           vault::keys::ExportChunk("acme", started->id, 1)));
  auto download = exports.StartDownload("acme", started->id);
  ASSERT_TRUE(download.has_value());
  auto first = download->next();
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code(), StatusCode::kDataLoss);
}

TEST_F(TenantExportTest, AJobThatSpentItsAttemptsLeavesTheExportFailed) {
  Create(0, "Ann", {{"email", std::string("ann@example.org")}});
  auto started = exports.Start(RequestContext(), tenant, std::nullopt);
  ASSERT_TRUE(started.has_value());
  h.faults.down.insert(h.eu_store);
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSERT_TRUE(
        scheduler.RunDue(h.clock.Now() + std::chrono::hours(2)).has_value());
    h.clock.now += std::chrono::hours(2);  // past the retry backoff
  }
  h.faults.down.clear();
  auto e = exports.Get("acme", started->id);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->state, ExportState::kFailed);
  EXPECT_EQ(exports.StartDownload("acme", started->id).error().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(TenantExportTest, AnotherTenantsExportIsNotFound) {
  auto started = exports.Start(RequestContext(), tenant, std::nullopt);
  ASSERT_TRUE(started.has_value());
  RunExport(started->id);
  EXPECT_EQ(exports.Get("other", started->id).error().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(exports.StartDownload("other", started->id).error().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(exports.Get("acme", "exp_nope").error().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(exports.Get("acme", "../job").error().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace piivault::lifecycle
