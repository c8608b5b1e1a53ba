// POST/GET /v1/tenants/{t}/exports[/{id}[/download]]: an export starts as a
// job, shows its progress, downloads (streamed) only once completed, stays
// within its tenant, works while the tenant is terminating and is gone with
// a disposed tenant; every step is audited.
#include "app_fixture.h"
#include "base/encoding.h"
#include "crypto/hash.h"
#include "crypto/transfer_stream.h"
#include "vault/storage_keys.h"

namespace piivault::api {
namespace {

namespace json = boost::json;

class AppExportTest : public testing::AppTest {
 protected:
  void SetUp() override {
    AppTest::SetUp();
    CreatePerson("ann", R"({"email":"ann@example.org","ssn":"123-45-6789"})");
  }

  HttpResponse Create(const std::string& body = "") {
    return Data("POST", "/v1/tenants/acme/exports", admin_key, body);
  }
  HttpResponse Get(const std::string& id, const std::string& suffix = "") {
    return Data("GET", "/v1/tenants/acme/exports/" + id + suffix, admin_key);
  }
  void RunJobs() {
    auto ran = h.vault->scheduler.RunDue(h.clock.Now());
    ASSERT_TRUE(ran.has_value());
    EXPECT_EQ(ran->completed, 1);
  }
  // A streamed body, read whole.
  static std::string Drain(HttpResponse& r) {
    EXPECT_TRUE(r.next_chunk) << "a download is streamed";
    std::string out;
    while (r.next_chunk) {
      auto piece = r.next_chunk();
      EXPECT_TRUE(piece.has_value());
      if (!piece || !*piece) break;
      out += **piece;
    }
    return out;
  }
  void Dispose() {
    auto tenant = h.vault->tenants.Get(vault::RequestContext(), "acme");
    ASSERT_TRUE(tenant.has_value());
    tenant->state = vault::TenantState::kDisposed;
    storage::WriteBatch batch;
    h.vault->control.Put(batch, vault::keys::Tenant("acme"),
                         vault::ToJson(*tenant));
    ASSERT_TRUE(h.vault->control.Write(vault::RequestContext(), batch).ok());
  }
};

TEST_F(AppExportTest, StartsRunsAndDownloads) {
  const uint64_t before = Events();
  auto created = Create();
  ASSERT_EQ(created.status, 202) << created.body;
  auto body = json::parse(created.body).as_object();
  const std::string id(body.at("id").as_string());
  EXPECT_EQ(body, (json::object{{"id", id}, {"state", "running"}}));
  // Audited, under its purpose.
  ASSERT_GT(Events(), before);
  EXPECT_EQ(Last().action, "exports.create");
  EXPECT_EQ(Last().purpose, "service_delivery");

  auto running = Get(id);
  ASSERT_EQ(running.status, 200) << running.body;
  auto state = json::parse(running.body).as_object();
  EXPECT_EQ(state.at("state"), "running");
  EXPECT_TRUE(state.at("progress").as_object().contains("records_done"));
  EXPECT_FALSE(state.contains("manifest"));
  auto early = Get(id, "/download");
  EXPECT_EQ(early.status, 409) << early.body;
  EXPECT_EQ(Error(early).first, "failed_precondition");

  RunJobs();
  auto done = json::parse(Get(id).body).as_object();
  EXPECT_EQ(done.at("state"), "completed");
  EXPECT_EQ(done.at("progress"),
            (json::object{{"records_done", 1}, {"records_total", 1}}));
  const json::object& manifest = done.at("manifest").as_object();
  EXPECT_EQ(manifest.at("export"), json::value(id));

  const uint64_t before_download = Events();
  auto download = Get(id, "/download");
  ASSERT_EQ(download.status, 200) << download.body;
  EXPECT_EQ(download.content_type, "application/x-ndjson");
  std::string ndjson = Drain(download);
  EXPECT_TRUE(ndjson.starts_with(R"({"kind":"header",)"));
  EXPECT_NE(ndjson.find("ann@example.org"), std::string::npos);
  EXPECT_EQ(manifest.at("sha256"),
            json::value(HexEncode(crypto::Sha256(ndjson))));
  ASSERT_GT(Events(), before_download);
  EXPECT_EQ(Last().action, "exports.download");
}

TEST_F(AppExportTest, ToARecipientKeyTheDownloadIsEncrypted) {
  auto recipient = crypto::X25519KeyPair::Generate();
  auto created = Create(R"({"recipient_public_key":")" +
                        Base64Encode(recipient.public_key) + R"("})");
  ASSERT_EQ(created.status, 202) << created.body;
  RunJobs();
  auto download = Get(Member(created, "id"), "/download");
  ASSERT_EQ(download.status, 200);
  EXPECT_EQ(download.content_type, "application/octet-stream");
  // The transfer stream (its decryption: TenantExportTest).
  std::string stream = Drain(download);
  EXPECT_TRUE(stream.starts_with("PVTS"));
  EXPECT_EQ(stream.find("ann@example.org"), std::string::npos);
}

TEST_F(AppExportTest, ABadRecipientKeyIsRefusedNamingIt) {
  for (std::string key :
       {std::string(R"("not base64!")"), std::string(R"("AAAA")"),
        std::string("42"), "\"" + Base64Encode(std::string(32, '\0')) + "\""}) {
    SCOPED_TRACE(key);
    auto r = Create(R"({"recipient_public_key":)" + key + "}");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(Error(r), std::make_pair(std::string("validation_failed"),
                                       std::string("recipient_public_key")));
  }
  EXPECT_EQ(Create(R"({"recipient":"x"})").status, 400);
  // A purpose is required, as for any processing of the tenant's data.
  auto no_purpose = Call("POST", "/v1/tenants/acme/exports", admin_key);
  EXPECT_EQ(Error(no_purpose).first, "purpose_required");
}

TEST_F(AppExportTest, UnknownOrAnotherTenantsExportIsNotFound) {
  auto created = Create();
  ASSERT_EQ(created.status, 202);
  RunJobs();
  const std::string id = Member(created, "id");
  EXPECT_EQ(Get("exp_unknown").status, 404);
  EXPECT_EQ(Get("exp_unknown", "/download").status, 404);
  std::string other = OtherTenantAdminKey();
  for (std::string suffix : {"", "/download"}) {
    auto r = Data("GET", "/v1/tenants/other/exports/" + id + suffix, other);
    EXPECT_EQ(r.status, 404) << r.body;
  }
}

TEST_F(AppExportTest, WorksWhileTerminatingAndIsGoneOnceDisposed) {
  ASSERT_EQ(Call("POST", "/v1/tenants/acme/terminate", admin_key).status, 200);
  auto created = Create();
  ASSERT_EQ(created.status, 202) << created.body;
  RunJobs();
  const std::string id = Member(created, "id");
  auto download = Get(id, "/download");
  ASSERT_EQ(download.status, 200) << download.body;
  EXPECT_NE(Drain(download).find("ann@example.org"), std::string::npos);

  Dispose();
  EXPECT_EQ(Create().status, 404);
  EXPECT_EQ(Get(id).status, 404);
  EXPECT_EQ(Get(id, "/download").status, 404);
}

}  // namespace
}  // namespace piivault::api
