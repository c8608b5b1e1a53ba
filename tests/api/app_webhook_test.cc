// Webhooks: PUT/GET/DELETE /v1/tenants/{t}/webhook, and delivery of the
// outbox's notices (compliance/webhook_dispatcher.h) through the real HTTPS
// client to a real HTTPS receiver on 127.0.0.1: signed, at least once,
// retried with backoff, dead-lettered, one node at a time, one tenant's
// receiver never holding up another's.
#include <fstream>
#include <latch>
#include <map>
#include <set>
#include <thread>

#include "api/webhook_client.h"
#include "app_fixture.h"
#include "base/encoding.h"
#include "compliance/webhook_dispatcher.h"
#include "crypto/hash.h"
#include "crypto/x509.h"
#include "support/https_receiver.h"
#include "support/temp_dir.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using compliance::NotificationType;
using compliance::WebhookDispatcher;
using compliance::WebhookOptions;
using piivault::testing::HttpsReceiver;
using std::chrono::seconds;

constexpr std::string_view kSecret = "whsec-0123456789abcdef";

class AppWebhookTest : public testing::AppTest {
 protected:
  AppWebhookTest() {
    auto pair = crypto::MakeSelfSignedLocalhostCertificate(1);
    EXPECT_TRUE(pair.has_value());
    cert = pair->certificate_pem;
    key = pair->private_key_pem;
    ca_file = dir.path() + "/receiver.pem";
    std::ofstream(ca_file) << cert;
    client = std::make_unique<WebhookClient>(WebhookClient::Options{
        .timeout = std::chrono::milliseconds(2000), .ca_file = ca_file});
  }

  std::unique_ptr<HttpsReceiver> Receiver(HttpsReceiver::Responder r = {}) {
    return std::make_unique<HttpsReceiver>(cert, key, std::move(r));
  }

  std::unique_ptr<WebhookDispatcher> Dispatcher(WebhookOptions options = {
                                                    .max_attempts = 10,
                                                    .retry_backoff = seconds(5),
                                                    .max_backoff = seconds(60),
                                                    .lease = seconds(30)}) {
    return std::make_unique<WebhookDispatcher>(
        &h.vault->control, &h.clock, &h.vault->outbox, &h.vault->webhooks,
        client.get(), options);
  }

  HttpResponse PutWebhook(const std::string& tenant, const std::string& key,
                          const std::string& url,
                          std::string_view secret = kSecret) {
    return Call(
        "PUT", "/v1/tenants/" + tenant + "/webhook", key,
        json::serialize(json::object{{"url", url}, {"secret", secret}}));
  }
  std::string Url(const HttpsReceiver& r, std::string path = "/hook") {
    return "https://localhost:" + std::to_string(r.port()) + path;
  }

  // Writes a notice as a state change would: in its batch.
  std::string Notify(const std::string& tenant, int n = 0) {
    storage::WriteBatch batch;
    auto notice =
        h.vault->outbox.Add(batch, tenant, NotificationType::kIncident,
                            {{"incident", "inc_" + std::to_string(n)}});
    EXPECT_TRUE(h.vault->control.Write(vault::RequestContext(), batch).ok());
    h.clock.now += std::chrono::microseconds(1);
    return notice.id;
  }

  compliance::DeliveryReport Deliver(WebhookDispatcher& d) {
    auto report = d.DeliverDue();
    EXPECT_TRUE(report.has_value()) << report.error().ToString();
    return report.value_or(compliance::DeliveryReport{});
  }

  // The idempotency ids of the requests the receiver answered `status`.
  static std::multiset<std::string> Ids(const HttpsReceiver& r) {
    std::multiset<std::string> ids;
    for (auto& req : r.requests())
      ids.insert(
          std::string(json::parse(req.body).at("idempotency_id").as_string()));
    return ids;
  }

  json::object Notice(const std::string& tenant_key, const std::string& id) {
    auto r = Call("GET", "/v1/tenants/acme/notifications", tenant_key);
    EXPECT_EQ(r.status, 200) << r.body;
    const json::value doc = json::parse(r.body);
    for (auto& n : doc.at("notifications").as_array())
      if (n.at("id").as_string() == id) return n.as_object();
    ADD_FAILURE() << "no notice " << id;
    return {};
  }

  ::piivault::testing::ScopedTempDir dir;
  std::string cert, key, ca_file;
  std::unique_ptr<WebhookClient> client;
};

TEST_F(AppWebhookTest, TheSecretIsTakenSealedAndNeverShownAgain) {
  auto put = PutWebhook("acme", admin_key, "https://hooks.example.com/p?x=1");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Member(put, "url"), "https://hooks.example.com/p?x=1");
  EXPECT_EQ(put.body.find(kSecret), std::string::npos);
  auto get = Call("GET", "/v1/tenants/acme/webhook", admin_key);
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(Member(get, "url"), "https://hooks.example.com/p?x=1");
  EXPECT_EQ(get.body.find(kSecret), std::string::npos);
  EXPECT_FALSE(json::parse(get.body).as_object().contains("secret"));
  // At rest only ciphertext: neither the secret nor the URL in any key or
  // value of the control store.
  for (auto& kv : vault::testing::Dump(*h.control_backend)) {
    EXPECT_EQ(kv.key.find(kSecret), std::string::npos);
    EXPECT_EQ(kv.value.find(kSecret), std::string::npos);
    EXPECT_EQ(kv.value.find("hooks.example.com"), std::string::npos);
  }
  EXPECT_EQ(Call("DELETE", "/v1/tenants/acme/webhook", admin_key).status, 204);
  EXPECT_EQ(Call("GET", "/v1/tenants/acme/webhook", admin_key).status, 404);
}

TEST_F(AppWebhookTest, BadUrlsAndSecretsAreRefusedAndChangeNothing) {
  struct Case {
    std::string url;
    std::string secret;
    std::string field;
  };
  const std::string ok_secret(kSecret);
  for (const Case& c : std::vector<Case>{
           {"http://hooks.example.com/p", ok_secret, "url"},  // not https
           {"http://127.example.com/p", ok_secret, "url"},    // not loopback
           {"ftp://hooks.example.com/p", ok_secret, "url"},
           {"https://user:pw@hooks.example.com/", ok_secret, "url"},
           {"https://hooks.example.com/#frag", ok_secret, "url"},
           {"https:///nohost", ok_secret, "url"},
           {"https://hooks.example.com:99999/", ok_secret, "url"},
           {"https://hooks.example.com/" + std::string(2100, 'a'), ok_secret,
            "url"},
           {"https://hooks.example.com/", "short", "secret"},
           {"https://hooks.example.com/", "has a space in it!!", "secret"},
       }) {
    auto r = PutWebhook("acme", admin_key, c.url, c.secret);
    EXPECT_EQ(r.status, 400) << c.url << " " << r.body;
    EXPECT_EQ(json::parse(r.body).at("error").at("code").as_string(),
              "validation_failed")
        << c.url;
    EXPECT_EQ(json::parse(r.body).at("error").at("field").as_string(), c.field)
        << c.url;
    EXPECT_EQ(r.body.find(c.secret), std::string::npos);
    EXPECT_EQ(Call("GET", "/v1/tenants/acme/webhook", admin_key).status, 404);
  }
  // Plain http to this machine only.
  for (std::string url :
       {"http://127.0.0.1:9/hook", "http://localhost:9/", "http://[::1]:9/"})
    EXPECT_EQ(PutWebhook("acme", admin_key, url).status, 200) << url;
}

TEST_F(AppWebhookTest, TheWebhookAndItsQueueGoWithTheDisposedTenant) {
  ASSERT_EQ(PutWebhook("acme", admin_key, "https://hooks.example.com/").status,
            200);
  Notify("acme", 1);
  ASSERT_EQ(Call("POST", "/v1/tenants/acme/terminate", admin_key, "{}").status,
            200);
  auto disposed = Call("POST", "/v1/tenants/acme/dispose", admin_key,
                       R"({"confirmed_by_tenant":true})");
  ASSERT_EQ(disposed.status, 200) << disposed.body;
  for (auto& kv : vault::testing::Dump(*h.control_backend)) {
    EXPECT_FALSE(kv.key.starts_with("webhook/acme/")) << kv.key;
    EXPECT_FALSE(kv.key.starts_with("webhook-delivery/acme/")) << kv.key;
    EXPECT_FALSE(kv.key.starts_with("ntf-due/acme/")) << kv.key;
  }
}

TEST_F(AppWebhookTest, DeliversEachNoticeSignedWithTheTenantsSecret) {
  auto receiver = Receiver();
  ASSERT_EQ(PutWebhook("acme", admin_key, Url(*receiver)).status, 200);
  const std::string first = Notify("acme", 1);
  const std::string second = Notify("acme", 2);
  auto dispatcher = Dispatcher();
  auto report = Deliver(*dispatcher);
  EXPECT_EQ(report.delivered, 2);

  auto requests = receiver->requests();
  ASSERT_EQ(requests.size(), 2u);
  const crypto::SecretBytes secret(kSecret);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& req = requests[i];
    EXPECT_EQ(req.target, "/hook");
    EXPECT_EQ(req.headers.at("content-type"), "application/json");
    EXPECT_EQ(req.headers.at("x-piivault-signature"),
              "sha256=" + HexEncode(crypto::HmacSha256(secret, req.body)));
    // A signature under another secret does not match.
    EXPECT_NE(
        req.headers.at("x-piivault-signature"),
        "sha256=" + HexEncode(crypto::HmacSha256(
                        crypto::SecretBytes("another-secret-0000"), req.body)));
    auto body = json::parse(req.body).as_object();
    EXPECT_EQ(body.at("id"), body.at("idempotency_id"));
    EXPECT_EQ(body.at("tenant").as_string(), "acme");
    EXPECT_EQ(body.at("type").as_string(), "incident");
    EXPECT_EQ(body.at("payload").at("incident").as_string(),
              "inc_" + std::to_string(i + 1));
  }
  // Oldest first.
  EXPECT_EQ(json::parse(requests[0].body).at("id").as_string(), first);
  EXPECT_EQ(json::parse(requests[1].body).at("id").as_string(), second);
  EXPECT_TRUE(Notice(admin_key, first).contains("delivered_at"));
  // Delivered once: nothing is due any more.
  EXPECT_EQ(Deliver(*dispatcher).delivered, 0);
  EXPECT_EQ(receiver->requests().size(), 2u);
}

TEST_F(AppWebhookTest, AReceiverFailingThreeTimesGetsEachNoticeOnce) {
  std::atomic<int> answered{0};
  auto receiver = Receiver([&](const HttpsReceiver::Request&) {
    return HttpsReceiver::Answer{.status = ++answered <= 3 ? 503 : 200};
  });
  ASSERT_EQ(PutWebhook("acme", admin_key, Url(*receiver)).status, 200);
  const std::string a = Notify("acme", 1);
  const std::string b = Notify("acme", 2);
  auto dispatcher = Dispatcher();
  // Backoff doubling from 5 s: each failed try defers the tenant, and a
  // round before then sends nothing.
  for (int backoff : {5, 10, 20}) {
    const std::size_t before = receiver->requests().size();
    auto report = Deliver(*dispatcher);
    EXPECT_EQ(report.failed, 1);
    EXPECT_EQ(report.delivered, 0);
    EXPECT_EQ(receiver->requests().size(), before + 1);
    h.clock.now += seconds(backoff - 1);
    EXPECT_EQ(Deliver(*dispatcher).busy, 1);  // backing off
    EXPECT_EQ(receiver->requests().size(), before + 1);
    h.clock.now += seconds(1);
  }
  EXPECT_EQ(Notice(admin_key, a).at("delivery_attempts").as_int64(), 3);
  EXPECT_EQ(Notice(admin_key, a).at("last_delivery_error").as_string(),
            "HTTP 503");
  EXPECT_EQ(Deliver(*dispatcher).delivered, 2);
  // Every try carried the same idempotency id; each id was acknowledged
  // exactly once.
  auto ids = Ids(*receiver);
  EXPECT_EQ(ids.count(a), 4u);
  EXPECT_EQ(ids.count(b), 1u);
  EXPECT_EQ(Deliver(*dispatcher).delivered, 0);
  EXPECT_EQ(receiver->requests().size(), 5u);
}

TEST_F(AppWebhookTest,
       ANoticeIsDeadLetteredAfterTheLastTryAndShownToOperators) {
  std::atomic<bool> up{false};
  auto receiver = Receiver([&](const HttpsReceiver::Request&) {
    return HttpsReceiver::Answer{.status = up ? 200 : 500};
  });
  ASSERT_EQ(PutWebhook("acme", admin_key, Url(*receiver)).status, 200);
  const std::string lost = Notify("acme", 1);
  auto dispatcher = Dispatcher({.max_attempts = 3,
                                .retry_backoff = seconds(1),
                                .max_backoff = seconds(1),
                                .lease = seconds(30)});
  for (int i = 0; i < 3; ++i) {
    Deliver(*dispatcher);
    h.clock.now += seconds(1);
  }
  auto notice = Notice(admin_key, lost);
  EXPECT_TRUE(notice.contains("dead_lettered_at"));
  EXPECT_FALSE(notice.contains("delivered_at"));
  auto letters = Call("GET", "/v1/webhook-dead-letters", operator_key);
  ASSERT_EQ(letters.status, 200) << letters.body;
  auto list = json::parse(letters.body).at("dead_letters").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("id").as_string(), lost);
  EXPECT_EQ(list[0].at("tenant").as_string(), "acme");
  EXPECT_EQ(list[0].at("delivery_attempts").as_int64(), 3);
  EXPECT_EQ(Call("GET", "/v1/webhook-dead-letters", admin_key).status, 403);
  // Not tried again; the next notice goes out once the receiver is back.
  up = true;
  const std::string next = Notify("acme", 2);
  EXPECT_EQ(Deliver(*dispatcher).delivered, 1);
  auto ids = Ids(*receiver);
  EXPECT_EQ(ids.count(lost), 3u);
  EXPECT_EQ(ids.count(next), 1u);
}

TEST_F(AppWebhookTest, AReceiverSlowerThanTheTimeoutFailsTheTry) {
  std::latch release(1);
  auto receiver = Receiver([&](const HttpsReceiver::Request&) {
    release.wait();
    return HttpsReceiver::Answer{};
  });
  ASSERT_EQ(PutWebhook("acme", admin_key, Url(*receiver)).status, 200);
  const std::string id = Notify("acme", 1);
  WebhookClient hasty(
      {.timeout = std::chrono::milliseconds(300), .ca_file = ca_file});
  WebhookDispatcher dispatcher(&h.vault->control, &h.clock, &h.vault->outbox,
                               &h.vault->webhooks, &hasty);
  auto report = dispatcher.DeliverDue();
  release.count_down();
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_EQ(report->failed, 1);
  EXPECT_EQ(report->delivered, 0);
  auto notice = Notice(admin_key, id);
  EXPECT_EQ(notice.at("delivery_attempts").as_int64(), 1);
  EXPECT_FALSE(notice.contains("delivered_at"));
}

TEST_F(AppWebhookTest, NoticesMadeWithoutAWebhookStayInTheInboxOnly) {
  const std::string before = Notify("acme", 1);
  auto dispatcher = Dispatcher();
  EXPECT_EQ(Deliver(*dispatcher).dropped, 1);
  auto receiver = Receiver();
  ASSERT_EQ(PutWebhook("acme", admin_key, Url(*receiver)).status, 200);
  const std::string after = Notify("acme", 2);
  EXPECT_EQ(Deliver(*dispatcher).delivered, 1);
  auto ids = Ids(*receiver);
  EXPECT_EQ(ids.count(before), 0u);
  EXPECT_EQ(ids.count(after), 1u);
  EXPECT_FALSE(Notice(admin_key, before).contains("delivered_at"));
}

TEST_F(AppWebhookTest, TwoNodesNeverBothDeliver) {
  auto receiver = Receiver([](const HttpsReceiver::Request&) {
    return HttpsReceiver::Answer{.delay = std::chrono::milliseconds(5)};
  });
  ASSERT_EQ(PutWebhook("acme", admin_key, Url(*receiver)).status, 200);
  std::set<std::string> made;
  for (int i = 0; i < 40; ++i) made.insert(Notify("acme", i));
  auto one = Dispatcher(), two = Dispatcher();
  ASSERT_NE(one->node_id(), two->node_id());
  // Both nodes race for the tenant, again and again, until all is out.
  auto run = [&](WebhookDispatcher& d) {
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(d.DeliverDue().has_value());
  };
  std::thread a([&] { run(*one); }), b([&] { run(*two); });
  a.join();
  b.join();
  Deliver(*one);
  EXPECT_EQ(receiver->max_in_flight(), 1);
  auto ids = Ids(*receiver);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), made);
  EXPECT_EQ(ids.size(), made.size());  // none twice
}

TEST_F(AppWebhookTest, AnotherNodeDeliversOnceADeadNodesLeaseLapses) {
  std::latch release(1);
  std::atomic<int> calls{0};
  auto receiver = Receiver([&](const HttpsReceiver::Request&) {
    // The first node's first POST hangs, as if the node had died with it.
    if (++calls == 1) release.wait();
    return HttpsReceiver::Answer{};
  });
  ASSERT_EQ(PutWebhook("acme", admin_key, Url(*receiver)).status, 200);
  const std::string id = Notify("acme", 1);
  auto dying = Dispatcher({.lease = seconds(30)});
  // No timeout for the hung POST: the node is gone, not slow.
  WebhookClient patient(
      {.timeout = std::chrono::milliseconds(0), .ca_file = ca_file});
  WebhookDispatcher dead(&h.vault->control, &h.clock, &h.vault->outbox,
                         &h.vault->webhooks, &patient, {.lease = seconds(30)});
  std::thread hung([&] { (void)dead.DeliverDue(); });
  ASSERT_TRUE(receiver->WaitForRequests(1, std::chrono::seconds(10)));
  auto other = Dispatcher({.lease = seconds(30)});
  // While the lease holds, the other node keeps off.
  EXPECT_EQ(Deliver(*other).busy, 1);
  EXPECT_EQ(receiver->requests().size(), 1u);
  h.clock.now += seconds(31);
  EXPECT_EQ(Deliver(*other).delivered, 1);
  EXPECT_TRUE(Notice(admin_key, id).contains("delivered_at"));
  // The dead node's request completes late; its lease is gone, so it
  // records nothing, and the receiver de-duplicates by idempotency id.
  release.count_down();
  hung.join();
  auto ids = Ids(*receiver);
  EXPECT_EQ(ids.count(id), 2u);
  EXPECT_EQ(Deliver(*other).delivered, 0);
  (void)dying;
}

TEST_F(AppWebhookTest, ADeadReceiverDoesNotHoldUpAnotherTenant) {
  auto other_admin = OtherTenantAdminKey();
  std::latch release(1);
  auto stuck = Receiver([&](const HttpsReceiver::Request&) {
    release.wait();
    return HttpsReceiver::Answer{};
  });
  auto fine = Receiver();
  WebhookClient patient(
      {.timeout = std::chrono::milliseconds(0), .ca_file = ca_file});
  WebhookDispatcher dispatcher(&h.vault->control, &h.clock, &h.vault->outbox,
                               &h.vault->webhooks, &patient,
                               {.lease = seconds(30), .workers = 2});
  ASSERT_EQ(PutWebhook("acme", admin_key, Url(*stuck)).status, 200);
  ASSERT_EQ(PutWebhook("other", other_admin, Url(*fine)).status, 200);
  Notify("acme", 1);
  for (int i = 0; i < 5; ++i) Notify("other", i);
  dispatcher.Start(std::chrono::milliseconds(10), [](const Status&) {});
  // The other tenant's notices all arrive while acme's receiver hangs.
  EXPECT_TRUE(fine->WaitForRequests(5, std::chrono::seconds(20)));
  EXPECT_TRUE(stuck->WaitForRequests(1, std::chrono::seconds(20)));
  release.count_down();
  dispatcher.Stop();
}

}  // namespace
}  // namespace piivault::api
