// Notices that arrive: a breach notice made over the API reaches the
// tenant's webhook, a real HTTPS receiver on 127.0.0.1 that trusts only the
// deployment's certificate, signed with the tenant's secret; and a node
// killed between the receiver's acknowledgement and its record of it is
// taken over by another node once its lease lapses, which delivers the
// notice again under the same idempotency id.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>

#include <thread>

#include "harness.h"
#include "support/https_receiver.h"

namespace it {
namespace {

using piivault::testing::HttpsReceiver;
using namespace std::chrono_literals;

constexpr std::string_view kSecret = "whsec-it-0123456789abcdef";

std::string HmacHex(std::string_view key, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac,
       &size);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 15]);
  }
  return hex;
}

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.init_ok());
    // Receivers are trusted by the deployment's own self-signed
    // certificate, which the receiver below serves; deliveries are quick
    // to retry and to take over.
    server_.EditConfig([](std::string& text) {
      auto set = [&](const std::string& from, const std::string& to) {
        auto at = text.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
      };
      set("# ca_file = ", "ca_file = \"tls/cert.pem\" # ");
      set("lease = \"PT1M\"", "lease = \"PT2S\"");
      set("retry_backoff = \"PT5S\"", "retry_backoff = \"PT1S\"");
      set("max_backoff = \"PT1H\"", "max_backoff = \"PT1S\"");
    });
    receiver_ = std::make_unique<HttpsReceiver>(
        ReadFile(server_.data_dir() + "/tls/cert.pem"),
        ReadFile(server_.data_dir() + "/tls/key.pem"));
  }
  void TearDown() override {
    if (server_.running()) {
      EXPECT_EQ(server_.Stop(), 0) << server_.Log();
    }
  }

  // The tenant with its webhook pointed at the receiver.
  Tenant TenantWithWebhook() {
    Tenant t = SetUpTenant(server_, "acme");
    auto put = server_.Call(
        "PUT", t.Base() + "/webhook", Auth(t.admin_key),
        json::object{{"url", "https://localhost:" +
                                 std::to_string(receiver_->port()) + "/hook"},
                     {"secret", kSecret}});
    EXPECT_EQ(put.status, 200) << put.Describe();
    return t;
  }

  // A breach affecting acme, registered and notified by operator-security.
  void NotifyBreach() {
    auto security = server_.Call(
        "POST", "/v1/identities", Auth(server_.admin_key()),
        json::object{{"name", "sec"}, {"role", "operator-security"}});
    ASSERT_EQ(security.status, 201) << security.Describe();
    const std::string key = Str(security.Json(), "api_key");
    auto incident = server_.Call(
        "POST", "/v1/incidents", Auth(key),
        json::object{{"title", "Lost laptop"},
                     {"description", "An unencrypted laptop was stolen"},
                     {"detected_at", "2026-12-01T10:00:00Z"},
                     {"pii_breach", true},
                     {"affected", json::object{{"tenants", {"acme"}}}}});
    ASSERT_EQ(incident.status, 201) << incident.Describe();
    auto notify = server_.Call(
        "POST", "/v1/incidents/" + Str(incident.Json(), "id") + "/notify",
        Auth(key));
    ASSERT_EQ(notify.status, 200) << notify.Describe();
  }

  // The tenant's inbox, once every notice in it shows delivered_at.
  bool WaitDelivered(const Tenant& t, std::chrono::seconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto inbox =
          server_.Call("GET", t.Base() + "/notifications", Auth(t.admin_key));
      const auto& notices = Array(inbox.Json(), "notifications");
      bool all = !notices.empty();
      for (auto& n : notices)
        all = all && n.as_object().contains("delivered_at");
      if (all) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  ServerProcess server_;
  std::unique_ptr<HttpsReceiver> receiver_;
};

TEST_F(WebhookTest, ABreachNoticeArrivesSignedWithTheTenantsSecret) {
  ASSERT_TRUE(server_.Start());
  Tenant t = TenantWithWebhook();
  NotifyBreach();
  ASSERT_TRUE(receiver_->WaitForRequests(1, 20s)) << server_.Log();
  auto got = receiver_->requests().front();
  EXPECT_EQ(got.target, "/hook");
  EXPECT_EQ(got.headers.at("x-piivault-signature"),
            "sha256=" + HmacHex(kSecret, got.body));
  EXPECT_NE(got.headers.at("x-piivault-signature"),
            "sha256=" + HmacHex("another-secret-0123456789", got.body));
  auto body = json::parse(got.body);
  EXPECT_EQ(Str(body, "type"), "incident");
  EXPECT_EQ(Str(body, "tenant"), "acme");
  EXPECT_EQ(Str(body, "idempotency_id"), Str(body, "id"));
  EXPECT_TRUE(WaitDelivered(t, 20s));
  // The secret is in no store row and no log line.
  for (auto& [key, value] : server_.StoreRows("control"))
    EXPECT_EQ(value.find(kSecret), std::string::npos) << key;
  EXPECT_EQ(server_.Log().find(kSecret), std::string::npos);
}

TEST_F(WebhookTest, ANodeKilledMidDeliveryIsTakenOverAfterItsLease) {
  ASSERT_TRUE(server_.Start(false, {{"PIIVAULT_CRASH_AT", "webhook.posted"}}));
  Tenant t = TenantWithWebhook();
  NotifyBreach();
  // The receiver acknowledged; the node died before recording it.
  ASSERT_TRUE(receiver_->WaitForRequests(1, 20s)) << server_.Log();
  EXPECT_EQ(server_.WaitForExit(20s), std::optional<int>(128 + SIGKILL));
  ASSERT_TRUE(server_.Start());
  ASSERT_TRUE(receiver_->WaitForRequests(2, 20s)) << server_.Log();
  auto requests = receiver_->requests();
  // The same notice again: the receiver drops it by its idempotency id.
  EXPECT_EQ(Str(json::parse(requests[0].body), "idempotency_id"),
            Str(json::parse(requests[1].body), "idempotency_id"));
  EXPECT_TRUE(WaitDelivered(t, 20s));
  std::this_thread::sleep_for(3s);  // past another lease: nothing more
  EXPECT_EQ(receiver_->requests().size(), 2u);
}

}  // namespace
}  // namespace it
