// Data-plane behaviour seen from outside: encryption at rest, regions,
// operator separation, identities, tokens, updates and concurrency.
#include <sys/stat.h>

#include <mutex>
#include <set>
#include <thread>

#include "harness.h"

namespace it {
namespace {

using DataTest = ServerTest;

std::string RecordsOf(const HttpResponse& r) {
  std::string ids;
  for (auto& rec : Array(r.Json(), "records")) ids += Str(rec, "id") + " ";
  return ids;
}

TEST_F(DataTest, NoPlaintextOnDisk) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_FALSE(t.admin_key.empty());
  const std::string principal = "cust-Zq9-Principal-4711";
  const json::object fields = EveryTypeValues();
  auto created = PostRecord(server_, t, principal, fields);
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string rid = Str(created.Json(), "id");
  ASSERT_FALSE(rid.empty());
  EXPECT_EQ(Str(created.Json(), "principal"), principal);
  EXPECT_EQ(Str(created.Json(), "region"), "eu");

  auto got = server_.Call("GET", t.Record(rid), Data(t.admin_key));
  ASSERT_EQ(got.status, 200) << got.Describe();
  const json::value doc = got.Json();
  const json::value& f = Member(doc, "fields");
  EXPECT_EQ(Str(doc, "principal"), principal);
  EXPECT_EQ(Str(f, "note"), "Xylophone-Secret-Marker-77");
  EXPECT_EQ(Str(f, "name"), "Zebulon Quixotewright");
  EXPECT_EQ(Str(f, "email"), "Zebulon.Quixote@example.org");
  EXPECT_EQ(Str(f, "phone"), "+4915198765432");
  EXPECT_EQ(Str(f, "birth_date"), "1977-07-15");
  EXPECT_EQ(Str(f, "ssn"), "219-09-9999");
  EXPECT_EQ(Str(f, "card"), "4111111111111111");
  EXPECT_EQ(Str(f, "iban"), "DE89370400440532013000");
  EXPECT_EQ(Str(f, "ip"), "203.0.113.77");
  EXPECT_EQ(Member(f, "count"), json::value(424242));
  EXPECT_EQ(Member(f, "active"), json::value(true));

  // Exercise the blind index, the principal view and tokens as well, so
  // everything they persist is scanned too.
  auto found =
      server_.Call("POST", t.Search(), Data(t.admin_key),
                   json::object{{"match", json::object{{"email",
                                                        "Zebulon.Quixote@"
                                                        "Example.org"}}}});
  ASSERT_EQ(found.status, 200) << found.Describe();
  EXPECT_EQ(RecordsOf(found), rid + " ");
  auto view = server_.Call("GET", t.Base() + "/principals/" + principal,
                           Data(t.admin_key));
  ASSERT_EQ(view.status, 200) << view.Describe();
  EXPECT_EQ(Array(view.Json(), "records").size(), 1u);
  auto tokens = server_.Call(
      "POST", t.Base() + "/tokenize", Data(t.admin_key),
      json::object{{"collection", "people"},
                   {"record", rid},
                   {"fields", json::array{"ssn", "card", "email"}}});
  EXPECT_EQ(tokens.status, 200) << tokens.Describe();

  const std::vector<std::string> needles = {
      // raw input
      "Xylophone-Secret-Marker-77", "Zebulon Quixotewright",
      "Zebulon.Quixote@Example.org", "+49 151 98765432", "1977-07-15",
      "219-09-9999", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00",
      "203.0.113.77",
      // normalized forms and telling fragments
      "Zebulon.Quixote@example.org", "Zebulon.Quixote", "Quixotewright",
      "+4915198765432", "4915198765432", "4111111111111111",
      "DE89370400440532013000", "219099999",
      // the principal id
      principal};

  // API keys are secrets too: only admin.key (written by init, by design)
  // may hold one.
  const std::string tenant_secret =
      t.admin_key.substr(t.admin_key.rfind('.') + 1);
  const std::string op_secret =
      server_.admin_key().substr(server_.admin_key().rfind('.') + 1);
  ASSERT_GE(tenant_secret.size(), 20u);

  auto scan = [&](const std::string& when) {
    auto files = ListFiles(server_.data_dir());
    ASSERT_FALSE(files.empty());
    bool saw_record_key = false;
    for (auto& file : files) {
      std::string content = ReadFile(file);
      // Sanity check that the scan reads the stores: the record's storage
      // key (not PII) is visible in plain in some file.
      if (content.find("rec/acme/" + rid) != std::string::npos)
        saw_record_key = true;
      for (auto& needle : needles)
        EXPECT_FALSE(ContainsIgnoreCase(content, needle))
            << "'" << needle << "' found in " << file << " " << when;
      EXPECT_EQ(content.find(tenant_secret), std::string::npos)
          << "a tenant API key is stored in plain in " << file;
      if (!file.ends_with("/admin.key")) {
        EXPECT_EQ(content.find(op_secret), std::string::npos)
            << "the operator API key is stored in plain in " << file;
      }
    }
    // The stores' rows as the database returns them (for PostgreSQL, the
    // files are the server's; the rows are what anyone with SQL access sees).
    for (const char* store : {"control", "eu", "us"}) {
      for (auto& [key, value] : server_.StoreRows(store)) {
        if (key == "rec/acme/" + rid) saw_record_key = true;
        for (auto& needle : needles) {
          EXPECT_FALSE(ContainsIgnoreCase(key, needle))
              << "'" << needle << "' in a key of store " << store;
          EXPECT_FALSE(ContainsIgnoreCase(value, needle))
              << "'" << needle << "' in a value of store " << store;
        }
        EXPECT_EQ(value.find(tenant_secret), std::string::npos)
            << "a tenant API key is stored in plain in store " << store;
      }
    }
    EXPECT_TRUE(saw_record_key) << "the scan never saw the record key " << when;
    std::string log = server_.Log();
    for (auto& needle : needles)
      EXPECT_FALSE(ContainsIgnoreCase(log, needle))
          << "'" << needle << "' found in the server log " << when;
    EXPECT_EQ(log.find(tenant_secret), std::string::npos) << "key in log";
    EXPECT_EQ(log.find(op_secret), std::string::npos) << "key in log";
  };
  scan("while the server runs");
  ASSERT_EQ(server_.Stop(), 0) << server_.Log();
  scan("after SIGTERM");
}

TEST_F(DataTest, ValueMovedToAnotherRecordIsIntegrityError) {
  Tenant t = SetUpTenant(server_, "acme");
  auto a =
      PostRecord(server_, t, "mover", {{"email", "Mallory.Moved@example.org"}});
  auto b = PostRecord(server_, t, "mover", {{"email", "victim@example.org"}});
  ASSERT_EQ(a.status, 201) << a.Describe();
  ASSERT_EQ(b.status, 201) << b.Describe();
  std::string a_id = Str(a.Json(), "id"), b_id = Str(b.Json(), "id");
  ASSERT_EQ(server_.Stop(), 0);
  // Same principal, same key: only the AAD (tenant|collection|record|field)
  // tells the two ciphertexts apart.
  // (as an attacker with write access to the database might)
  server_.StoreCopyValue("eu", "rec/acme/" + a_id, "rec/acme/" + b_id);
  ASSERT_TRUE(server_.Start());

  auto moved = server_.Call("GET", t.Record(b_id), Data(t.admin_key));
  ASSERT_TRUE(IsError(moved, 500, "internal"));
  EXPECT_NE(Str(Member(moved.Json(), "error"), "message").find("integrity"),
            std::string::npos)
      << moved.body;
  EXPECT_FALSE(ContainsIgnoreCase(moved.body, "Mallory"));
  EXPECT_FALSE(ContainsIgnoreCase(moved.body, "mover"));
  auto principal =
      server_.Call("GET", t.Base() + "/principals/mover", Data(t.admin_key));
  ASSERT_TRUE(IsError(principal, 500, "internal"));
  // The untouched record still reads.
  auto intact = server_.Call("GET", t.Record(a_id), Data(t.admin_key));
  ASSERT_EQ(intact.status, 200) << intact.Describe();
  EXPECT_EQ(Str(Member(intact.Json(), "fields"), "email"),
            "Mallory.Moved@example.org");
}

TEST_F(DataTest, RegionIsolation) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_FALSE(t.admin_key.empty());
  struct Placed {
    std::string id, region;
  };
  std::vector<Placed> placed;
  auto post = [&](const std::string& principal, const std::string& email,
                  std::optional<std::string> region,
                  const std::string& expected_region) {
    auto r = PostRecord(server_, t, principal, json::object{{"email", email}},
                        region);
    ASSERT_EQ(r.status, 201) << r.Describe();
    EXPECT_EQ(Str(r.Json(), "region"), expected_region);
    placed.push_back({Str(r.Json(), "id"), expected_region});
  };
  post("principal-eu-1", "eu.one@example.org", "eu", "eu");
  post("principal-us-1", "us.one@example.com", "us", "us");
  post("principal-default", "default@example.org", std::nullopt, "eu");
  // Later records of a placed principal follow it.
  post("principal-us-1", "us.two@example.com", std::nullopt, "us");
  post("principal-us-1", "us.three@example.com", "us", "us");

  for (auto& p : placed) {
    auto r = server_.Call("GET", t.Record(p.id), Data(t.admin_key));
    ASSERT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(Str(r.Json(), "region"), p.region);
  }
  auto view = server_.Call("GET", t.Base() + "/principals/principal-us-1",
                           Data(t.admin_key));
  ASSERT_EQ(view.status, 200) << view.Describe();
  EXPECT_EQ(Str(view.Json(), "region"), "us");
  EXPECT_EQ(Array(view.Json(), "records").size(), 3u);

  // A placed principal cannot get a record in another region.
  EXPECT_TRUE(
      IsError(PostRecord(server_, t, "principal-eu-1",
                         json::object{{"email", "x@example.org"}}, "us"),
              409, "conflict"));

  // Each record's ciphertext lives only in its region's store.
  for (auto& p : placed) {
    std::string key = "rec/acme/" + p.id;
    EXPECT_EQ(server_.StoreHasKey("eu", key), p.region == "eu") << key;
    EXPECT_EQ(server_.StoreHasKey("us", key), p.region == "us") << key;
    EXPECT_FALSE(server_.StoreHasKey("control", key)) << key;
  }
  EXPECT_EQ(server_.StoreCountPrefix("eu", "rec/acme/"), 2);
  EXPECT_EQ(server_.StoreCountPrefix("us", "rec/acme/"), 3);
  // So do the per-principal record lists and the blind index entries.
  EXPECT_EQ(server_.StoreCountPrefix("eu", "prec/acme/"), 2);
  EXPECT_EQ(server_.StoreCountPrefix("us", "prec/acme/"), 3);
  EXPECT_EQ(server_.StoreCountPrefix("eu", "bidx/acme/"), 2);
  EXPECT_EQ(server_.StoreCountPrefix("us", "bidx/acme/"), 3);
  EXPECT_EQ(server_.StoreCountPrefix("control", "rec/"), 0);

  // A tenant allowed only eu: us and unknown regions are refused, and the
  // refusal places nothing.
  Tenant solo = SetUpTenant(server_, "solo", {"eu"}, "eu");
  ASSERT_FALSE(solo.admin_key.empty());
  EXPECT_TRUE(
      IsError(PostRecord(server_, solo, "solo-p1",
                         json::object{{"email", "s@example.org"}}, "us"),
              403, "region_not_allowed"));
  EXPECT_TRUE(
      IsError(PostRecord(server_, solo, "solo-p1",
                         json::object{{"email", "s@example.org"}}, "mars"),
              403, "region_not_allowed"));
  EXPECT_EQ(server_.StoreCountPrefix("us", "rec/solo/"), 0);
  auto ok = PostRecord(server_, solo, "solo-p1",
                       json::object{{"email", "s@example.org"}});
  ASSERT_EQ(ok.status, 201) << ok.Describe();
  EXPECT_EQ(Str(ok.Json(), "region"), "eu");
}

TEST_F(DataTest, OperatorCannotReadData) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_FALSE(t.admin_key.empty());
  auto created = PostRecord(
      server_, t, "op-p1",
      json::object{{"email", "op.target@example.org"}, {"ssn", "219-09-9999"}});
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string rid = Str(created.Json(), "id");
  auto tokens = server_.Call("POST", t.Base() + "/tokenize", Data(t.admin_key),
                             json::object{{"collection", "people"},
                                          {"record", rid},
                                          {"fields", json::array{"ssn"}}});
  ASSERT_EQ(tokens.status, 200) << tokens.Describe();
  const std::string token = Str(Member(tokens.Json(), "tokens"), "ssn");

  auto auditor =
      server_.Call("POST", "/v1/identities", Auth(server_.admin_key()),
                   json::object{{"name", "auditor"}, {"role", "auditor"}});
  ASSERT_EQ(auditor.status, 201) << auditor.Describe();

  for (const std::string& key :
       {server_.admin_key(), Str(auditor.Json(), "api_key")}) {
    SCOPED_TRACE(key == server_.admin_key() ? "operator-admin" : "auditor");
    EXPECT_TRUE(IsError(server_.Call("GET", t.Record(rid), Data(key)), 403,
                        "permission_denied"));
    EXPECT_TRUE(IsError(
        server_.Call(
            "POST", t.Records(), Data(key),
            json::object{{"principal", "op-p2"},
                         {"fields", json::object{{"email", "a@example.org"}}}}),
        403, "permission_denied"));
    EXPECT_TRUE(IsError(
        server_.Call(
            "POST", t.Search(), Data(key),
            json::object{
                {"match", json::object{{"email", "op.target@example.org"}}}}),
        403, "permission_denied"));
    EXPECT_TRUE(
        IsError(server_.Call("GET", t.Base() + "/principals/op-p1", Data(key)),
                403, "permission_denied"));
    EXPECT_TRUE(IsError(server_.Call("PATCH", t.Record(rid), Data(key),
                                     json::object{{"fields", json::object{}}}),
                        403, "permission_denied"));
    EXPECT_TRUE(IsError(server_.Call("DELETE", t.Record(rid), Data(key)), 403,
                        "permission_denied"));
    EXPECT_TRUE(
        IsError(server_.Call("POST", t.Base() + "/detokenize", Data(key),
                             json::object{{"tokens", json::array{token}}}),
                403, "permission_denied"));
  }
  // The operator's attempts wrote nothing and the record is intact.
  auto got = server_.Call("GET", t.Record(rid), Data(t.admin_key));
  ASSERT_EQ(got.status, 200) << got.Describe();
  EXPECT_EQ(Str(Member(got.Json(), "fields"), "email"),
            "op.target@example.org");
  EXPECT_TRUE(IsError(
      server_.Call("GET", t.Base() + "/principals/op-p2", Data(t.admin_key)),
      404, "not_found"));
}

TEST_F(DataTest, DeactivatedKeyRejectedAtOnce) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_FALSE(t.admin_key.empty());

  // A tenant identity, used on one keep-alive connection throughout.
  auto app = server_.Call(
      "POST", t.Base() + "/identities", Auth(t.admin_key),
      json::object{{"name", "second admin"}, {"role", "tenant-admin"}});
  ASSERT_EQ(app.status, 201) << app.Describe();
  const std::string app_id = Str(app.Json(), "id");
  const std::string app_key = Str(app.Json(), "api_key");
  HttpConnection conn(server_.port());
  auto who = conn.Send("GET", "/v1/whoami", Auth(app_key));
  ASSERT_EQ(who.status, 200) << who.Describe();
  EXPECT_EQ(Str(who.Json(), "tenant"), "acme");
  EXPECT_EQ(Str(who.Json(), "role"), "tenant-admin");
  auto read = conn.Send("GET", t.Base() + "/collections/people", Auth(app_key));
  ASSERT_EQ(read.status, 200) << read.Describe();

  auto del = server_.Call("DELETE", t.Base() + "/identities/" + app_id,
                          Auth(t.admin_key));
  ASSERT_EQ(del.status, 204) << del.Describe();
  EXPECT_TRUE(del.body.empty());
  EXPECT_TRUE(IsError(conn.Send("GET", "/v1/whoami", Auth(app_key)), 401,
                      "unauthenticated"));
  EXPECT_TRUE(IsError(
      server_.Call("GET", t.Base() + "/collections/people", Auth(app_key)), 401,
      "unauthenticated"));
  auto list =
      server_.Call("GET", t.Base() + "/identities", Auth(server_.admin_key()));
  ASSERT_EQ(list.status, 200) << list.Describe();
  int seen = 0;
  for (auto& i : Array(list.Json(), "identities")) {
    if (Str(i, "id") == app_id) {
      ++seen;
      EXPECT_TRUE(Member(i, "deactivated_at").is_string()) << Serialize(i);
    } else if (Str(i, "id") == t.admin_id) {
      ++seen;
      EXPECT_TRUE(Member(i, "deactivated_at").is_null()) << Serialize(i);
    }
  }
  EXPECT_EQ(seen, 2) << list.body;

  // An operator identity.
  auto op = server_.Call("POST", "/v1/identities", Auth(server_.admin_key()),
                         json::object{{"name", "security officer"},
                                      {"role", "operator-security"}});
  ASSERT_EQ(op.status, 201) << op.Describe();
  const std::string op_id = Str(op.Json(), "id");
  const std::string op_key = Str(op.Json(), "api_key");
  EXPECT_FALSE(Str(op.Json(), "created_at").empty());
  auto op_who = conn.Send("GET", "/v1/whoami", Auth(op_key));
  ASSERT_EQ(op_who.status, 200) << op_who.Describe();
  EXPECT_EQ(Str(op_who.Json(), "role"), "operator-security");
  auto op_del = server_.Call("DELETE", "/v1/identities/" + op_id,
                             Auth(server_.admin_key()));
  ASSERT_EQ(op_del.status, 204) << op_del.Describe();
  EXPECT_TRUE(IsError(conn.Send("GET", "/v1/whoami", Auth(op_key)), 401,
                      "unauthenticated"));
  auto ops = server_.Call("GET", "/v1/identities", Auth(server_.admin_key()));
  ASSERT_EQ(ops.status, 200) << ops.Describe();
  bool listed = false;
  for (auto& i : Array(ops.Json(), "identities")) {
    if (Str(i, "id") != op_id) continue;
    listed = true;
    EXPECT_TRUE(Member(i, "deactivated_at").is_string()) << Serialize(i);
    EXPECT_EQ(Str(i, "role"), "operator-security");
  }
  EXPECT_TRUE(listed) << ops.body;
  // The admin that did all this still works.
  EXPECT_EQ(server_.Call("GET", "/v1/whoami", Auth(server_.admin_key())).status,
            200);
}

TEST_F(DataTest, TokenizeDetokenize) {
  Tenant t = SetUpTenant(server_, "acme");
  Tenant other = SetUpTenant(server_, "globex");
  ASSERT_FALSE(t.admin_key.empty());
  ASSERT_FALSE(other.admin_key.empty());
  auto created =
      PostRecord(server_, t, "tok-p1",
                 json::object{{"ssn", "219-09-9999"},
                              {"email", "Token.Holder@Example.org"}});
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string rid = Str(created.Json(), "id");

  auto tokenize = [&](const Tenant& tenant, const std::string& record) {
    return server_.Call("POST", tenant.Base() + "/tokenize",
                        Data(tenant.admin_key),
                        json::object{{"collection", "people"},
                                     {"record", record},
                                     {"fields", json::array{"ssn", "email"}}});
  };
  auto first = tokenize(t, rid);
  ASSERT_EQ(first.status, 200) << first.Describe();
  const std::string ssn_tok = Str(Member(first.Json(), "tokens"), "ssn");
  const std::string email_tok = Str(Member(first.Json(), "tokens"), "email");
  EXPECT_TRUE(ssn_tok.starts_with("tok_")) << first.body;
  EXPECT_TRUE(email_tok.starts_with("tok_")) << first.body;
  EXPECT_NE(ssn_tok, email_tok);
  EXPECT_FALSE(ContainsIgnoreCase(first.body, "219-09-9999"));
  EXPECT_FALSE(ContainsIgnoreCase(first.body, "Token.Holder"));

  auto second = tokenize(t, rid);
  ASSERT_EQ(second.status, 200) << second.Describe();
  EXPECT_EQ(Str(Member(second.Json(), "tokens"), "ssn"), ssn_tok);
  EXPECT_EQ(Str(Member(second.Json(), "tokens"), "email"), email_tok);

  auto detok =
      server_.Call("POST", t.Base() + "/detokenize", Data(t.admin_key),
                   json::object{{"tokens", json::array{ssn_tok, email_tok}}});
  ASSERT_EQ(detok.status, 200) << detok.Describe();
  EXPECT_EQ(Str(Member(detok.Json(), "values"), ssn_tok), "219-09-9999");
  EXPECT_EQ(Str(Member(detok.Json(), "values"), email_tok),
            "Token.Holder@example.org");

  // A token minted by another tenant is not valid here, and vice versa.
  auto foreign_rec = PostRecord(
      server_, other, "tok-p1",
      json::object{{"ssn", "078-05-1120"}, {"email", "g@example.org"}});
  ASSERT_EQ(foreign_rec.status, 201) << foreign_rec.Describe();
  auto foreign = tokenize(other, Str(foreign_rec.Json(), "id"));
  ASSERT_EQ(foreign.status, 200) << foreign.Describe();
  const std::string foreign_tok = Str(Member(foreign.Json(), "tokens"), "ssn");
  ASSERT_TRUE(foreign_tok.starts_with("tok_")) << foreign.body;
  auto cross = server_.Call("POST", t.Base() + "/detokenize", Data(t.admin_key),
                            json::object{{"tokens", json::array{foreign_tok}}});
  EXPECT_EQ(cross.status, 400) << cross.Describe();
  EXPECT_TRUE(IsError(cross, 400, "invalid_argument"));
  EXPECT_FALSE(ContainsIgnoreCase(cross.body, "078-05-1120"));
  auto back =
      server_.Call("POST", other.Base() + "/detokenize", Data(other.admin_key),
                   json::object{{"tokens", json::array{ssn_tok}}});
  EXPECT_TRUE(IsError(back, 400, "invalid_argument"));
  // And another tenant's identity cannot use this tenant's endpoint at all.
  EXPECT_TRUE(IsError(
      server_.Call("POST", t.Base() + "/detokenize", Data(other.admin_key),
                   json::object{{"tokens", json::array{ssn_tok}}}),
      403, "permission_denied"));
}

TEST_F(DataTest, PatchAndDeleteRecord) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_FALSE(t.admin_key.empty());
  auto created = PostRecord(
      server_, t, "patch-p1",
      json::object{{"email", "old.address@example.org"}, {"name", "Old Name"}});
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string rid = Str(created.Json(), "id");
  auto search = [&](const std::string& email) {
    auto r =
        server_.Call("POST", t.Search(), Data(t.admin_key),
                     json::object{{"match", json::object{{"email", email}}}});
    EXPECT_EQ(r.status, 200) << r.Describe();
    return RecordsOf(r);
  };
  EXPECT_EQ(search("old.address@example.org"), rid + " ");

  auto patched = server_.Call(
      "PATCH", t.Record(rid), Data(t.admin_key),
      json::object{
          {"fields", json::object{{"email", "New.Address@Example.org"}}}});
  ASSERT_EQ(patched.status, 200) << patched.Describe();
  EXPECT_EQ(Str(patched.Json(), "id"), rid);
  EXPECT_EQ(Str(Member(patched.Json(), "fields"), "email"),
            "New.Address@example.org");
  EXPECT_EQ(Str(Member(patched.Json(), "fields"), "name"), "Old Name");

  EXPECT_EQ(search("old.address@example.org"), "");
  EXPECT_EQ(search("New.Address@example.org"), rid + " ");
  auto got = server_.Call("GET", t.Record(rid), Data(t.admin_key));
  ASSERT_EQ(got.status, 200) << got.Describe();
  EXPECT_EQ(Str(Member(got.Json(), "fields"), "email"),
            "New.Address@example.org");
  EXPECT_EQ(Str(Member(got.Json(), "fields"), "name"), "Old Name");

  // An invalid patch changes nothing.
  EXPECT_TRUE(IsError(
      server_.Call("PATCH", t.Record(rid), Data(t.admin_key),
                   json::object{{"fields", json::object{{"email", "nope"}}}}),
      400, "validation_failed"));
  EXPECT_EQ(search("New.Address@example.org"), rid + " ");

  auto tok = server_.Call("POST", t.Base() + "/tokenize", Data(t.admin_key),
                          json::object{{"collection", "people"},
                                       {"record", rid},
                                       {"fields", json::array{"email"}}});
  ASSERT_EQ(tok.status, 200) << tok.Describe();
  const std::string token = Str(Member(tok.Json(), "tokens"), "email");

  auto del = server_.Call("DELETE", t.Record(rid), Data(t.admin_key));
  ASSERT_EQ(del.status, 204) << del.Describe();
  EXPECT_TRUE(del.body.empty());
  EXPECT_TRUE(IsError(server_.Call("GET", t.Record(rid), Data(t.admin_key)),
                      404, "not_found"));
  // A token of the deleted record no longer yields the value.
  auto detok = server_.Call("POST", t.Base() + "/detokenize", Data(t.admin_key),
                            json::object{{"tokens", json::array{token}}});
  EXPECT_TRUE(IsError(detok, 404, "not_found"));
  EXPECT_FALSE(ContainsIgnoreCase(detok.body, "New.Address"));
  EXPECT_EQ(search("New.Address@example.org"), "");
  EXPECT_EQ(search("old.address@example.org"), "");
  EXPECT_TRUE(IsError(server_.Call("DELETE", t.Record(rid), Data(t.admin_key)),
                      404, "not_found"));
  EXPECT_TRUE(IsError(
      server_.Call("PATCH", t.Record(rid), Data(t.admin_key),
                   json::object{{"fields", json::object{{"name", "X Y"}}}}),
      404, "not_found"));
}

TEST_F(DataTest, CrossTenantAccessDenied) {
  Tenant a = SetUpTenant(server_, "acme");
  Tenant b = SetUpTenant(server_, "globex");
  ASSERT_FALSE(a.admin_key.empty());
  ASSERT_FALSE(b.admin_key.empty());
  auto rec = PostRecord(server_, b, "gx-1",
                        json::object{{"email", "gx.one@example.org"}});
  ASSERT_EQ(rec.status, 201) << rec.Describe();
  const std::string rid = Str(rec.Json(), "id");
  // acme's admin against globex's resources.
  EXPECT_TRUE(IsError(server_.Call("GET", b.Record(rid), Data(a.admin_key)),
                      403, "permission_denied"));
  EXPECT_TRUE(IsError(server_.Call("GET", b.Base(), Auth(a.admin_key)), 403,
                      "permission_denied"));
  EXPECT_TRUE(IsError(
      server_.Call("POST", b.Base() + "/identities", Auth(a.admin_key),
                   json::object{{"name", "mole"}, {"role", "tenant-admin"}}),
      403, "permission_denied"));
  EXPECT_TRUE(
      IsError(server_.Call("GET", b.Base() + "/identities", Auth(a.admin_key)),
              403, "permission_denied"));
  // Through its own tenant's path it cannot reach globex's identity either.
  auto del = server_.Call("DELETE", a.Base() + "/identities/" + b.admin_id,
                          Auth(a.admin_key));
  EXPECT_TRUE(del.status == 403 || del.status == 404) << del.Describe();
  EXPECT_EQ(server_.Call("GET", "/v1/whoami", Auth(b.admin_key)).status, 200);
  // Nor does a record id of globex resolve under acme.
  EXPECT_TRUE(IsError(
      server_.Call("GET", a.Base() + "/collections/people/records/" + rid,
                   Data(a.admin_key)),
      404, "not_found"));
  // Tenant identities cannot use operator endpoints.
  EXPECT_TRUE(IsError(server_.Call("GET", "/v1/identities", Auth(a.admin_key)),
                      403, "permission_denied"));
  EXPECT_TRUE(IsError(server_.Call("POST", "/v1/tenants", Auth(a.admin_key),
                                   json::object{{"id", "mine"}}),
                      403, "permission_denied"));
}

// A tenant-app identity without a policy may do nothing on the data plane
// (default deny), not even learn whether a principal exists.
TEST_F(DataTest, TenantAppDefaultDeny) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_FALSE(t.admin_key.empty());
  auto rec = PostRecord(server_, t, "app-p1",
                        json::object{{"email", "app.target@example.org"},
                                     {"ssn", "219-09-9999"}});
  ASSERT_EQ(rec.status, 201) << rec.Describe();
  const std::string rid = Str(rec.Json(), "id");
  auto app =
      server_.Call("POST", t.Base() + "/identities", Auth(t.admin_key),
                   json::object{{"name", "app"}, {"role", "tenant-app"}});
  ASSERT_EQ(app.status, 201) << app.Describe();
  const std::string key = Str(app.Json(), "api_key");

  EXPECT_TRUE(IsError(server_.Call("GET", t.Record(rid), Data(key)), 403,
                      "permission_denied"));
  EXPECT_TRUE(IsError(
      server_.Call(
          "POST", t.Records(), Data(key),
          json::object{{"principal", "app-p2"},
                       {"fields", json::object{{"email", "b@example.org"}}}}),
      403, "permission_denied"));
  EXPECT_TRUE(IsError(
      server_.Call("POST", t.Search(), Data(key),
                   json::object{{"match", json::object{{"email",
                                                        "app.target@example."
                                                        "org"}}}}),
      403, "permission_denied"));
  EXPECT_TRUE(
      IsError(server_.Call("POST", t.Base() + "/tokenize", Data(key),
                           json::object{{"collection", "people"},
                                        {"record", rid},
                                        {"fields", json::array{"ssn"}}}),
              403, "permission_denied"));
  auto view = server_.Call("GET", t.Base() + "/principals/app-p1", Data(key));
  EXPECT_TRUE(IsError(view, 403, "permission_denied"));
  EXPECT_FALSE(ContainsIgnoreCase(view.body, "app.target"));
}

TEST_F(DataTest, ConcurrentWritesAllLand) {
  Tenant t = SetUpTenant(server_, "acme");
  ASSERT_FALSE(t.admin_key.empty());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  struct Written {
    std::string id, email;
  };
  std::mutex mu;
  std::vector<Written> written;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      HttpConnection conn(server_.port(), std::chrono::seconds(30));
      for (int i = 0; i < kPerThread; ++i) {
        std::string email = "user" + std::to_string(th) + "x" +
                            std::to_string(i) + "@example.org";
        json::object body{
            {"principal",
             "conc-" + std::to_string(th) + "-" + std::to_string(i % 10)},
            {"fields", json::object{{"email", email}, {"count", i}}}};
        auto r =
            conn.Send("POST", t.Records(), Data(t.admin_key), Serialize(body));
        std::lock_guard lock(mu);
        if (r.status != 201) {
          failures.push_back(r.Describe());
          if (r.status == 0) return;  // connection lost
          continue;
        }
        written.push_back({Str(r.Json(), "id"), email});
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(failures.empty())
      << failures.size() << " failed, first: " << failures.front();
  ASSERT_EQ(written.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> ids;
  for (auto& w : written) ids.insert(w.id);
  EXPECT_EQ(ids.size(), written.size()) << "record ids are not unique";

  HttpConnection conn(server_.port());
  int readable = 0;
  for (auto& w : written) {
    auto r = conn.Send("GET", t.Record(w.id), Data(t.admin_key));
    if (r.status == 200 &&
        Str(Member(r.Json(), "fields"), "email") == w.email) {
      ++readable;
    } else {
      ADD_FAILURE() << w.id << ": " << r.Describe();
    }
    if (r.status == 0) break;
  }
  EXPECT_EQ(readable, kThreads * kPerThread);
  auto found = conn.Send(
      "POST", t.Search(), Data(t.admin_key),
      Serialize(json::object{
          {"match", json::object{{"email", "user7x49@example.org"}}}}));
  EXPECT_EQ(Array(found.Json(), "records").size(), 1u) << found.Describe();
}

// One request reads a bounded part of a principal: its records a page at a
// time (?after=&limit=, at most 1000, "next"), its consent history too
// (?from=&limit=), and the principal export likewise.
TEST_F(DataTest, PrincipalViewAndConsentLedgerArePaged) {
  Tenant t = SetUpTenant(server_, "acme");
  const std::string base = t.Base() + "/principals/Pager-1";
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = PostRecord(server_, t, "Pager-1",
                        {{"email", std::to_string(i) + "@example.org"}});
    ASSERT_EQ(r.status, 201) << r.Describe();
    ids.insert(Str(r.Json(), "id"));
  }
  std::set<std::string> seen;
  std::string after;
  int pages = 0;
  for (;; ++pages) {
    ASSERT_LT(pages, 5) << "next never reached the end";
    auto view = server_.Call(
        "GET", base + "?limit=2" + (after.empty() ? "" : "&after=" + after),
        Data(t.admin_key));
    ASSERT_EQ(view.status, 200) << view.Describe();
    const auto& records = Array(view.Json(), "records");
    EXPECT_LE(records.size(), 2u);
    for (auto& r : records) EXPECT_TRUE(seen.insert(Str(r, "id")).second);
    const json::value& next = Member(view.Json(), "next");
    if (next.is_null()) break;
    ASSERT_TRUE(next.is_string()) << view.body;
    after = std::string(next.get_string());
  }
  EXPECT_EQ(pages, 2);  // pages 0, 1 and 2
  EXPECT_EQ(seen, ids);
  auto whole = server_.Call("GET", base, Data(t.admin_key));
  ASSERT_EQ(whole.status, 200) << whole.Describe();
  EXPECT_EQ(Array(whole.Json(), "records").size(), 5u);
  EXPECT_TRUE(Member(whole.Json(), "next").is_null());
  for (const char* bad : {"?limit=0", "?limit=1001", "?limit=x"}) {
    EXPECT_TRUE(IsError(server_.Call("GET", base + bad, Data(t.admin_key)), 400,
                        "invalid_argument"))
        << bad;
  }

  for (int i = 0; i < 5; ++i) {
    auto r =
        server_.Call("POST", base + "/consents", Auth(t.admin_key),
                     json::object{{"purpose", "marketing"},
                                  {"granted", i % 2 == 0},
                                  {"evidence", "form-" + std::to_string(i)}});
    ASSERT_EQ(r.status, 201) << r.Describe();
  }
  std::vector<std::string> history;
  std::vector<json::value> nexts;
  for (const char* query : {"?limit=2", "?limit=2&from=2", "?limit=2&from=4"}) {
    auto ledger =
        server_.Call("GET", base + "/consents" + query, Auth(t.admin_key));
    ASSERT_EQ(ledger.status, 200) << ledger.Describe();
    EXPECT_LE(Array(ledger.Json(), "history").size(), 2u) << query;
    for (auto& e : Array(ledger.Json(), "history"))
      history.push_back(Str(e, "evidence"));
    nexts.push_back(Member(ledger.Json(), "next"));
    EXPECT_EQ(Member(Member(ledger.Json(), "current"), "marketing"),
              json::value(true));
  }
  EXPECT_EQ(history, (std::vector<std::string>{"form-0", "form-1", "form-2",
                                               "form-3", "form-4"}));
  EXPECT_EQ(nexts, (std::vector<json::value>{json::value(2), json::value(4),
                                             json::value(nullptr)}));
  EXPECT_TRUE(IsError(
      server_.Call("GET", base + "/consents?limit=1001", Auth(t.admin_key)),
      400, "invalid_argument"));

  auto exported =
      server_.Call("GET", base + "/export?limit=2", Data(t.admin_key));
  ASSERT_EQ(exported.status, 200) << exported.Describe();
  EXPECT_EQ(Array(exported.Json(), "records").size(), 2u);
  EXPECT_TRUE(Member(exported.Json(), "next").is_string()) << exported.body;
  const json::value& consents = Member(exported.Json(), "consents");
  EXPECT_EQ(Array(consents, "history").size(), 5u);
  EXPECT_TRUE(Member(consents, "next").is_null()) << exported.body;
}

}  // namespace
}  // namespace it
