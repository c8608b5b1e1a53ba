// Webhook delivery throughput (issue 13): notices delivered per second from
// the outbox to a local HTTPS receiver, against plain HTTPS POSTs of bodies
// of the same size from the same client code (api::ClientConnection, one
// kept-alive connection) in the same run; and one tenant's delivery rate
// with another tenant's receiver dead (accepting connections, never
// answering) against the same rate alone.
//
//   build/bin/webhook_bench [--notices N]   (default 20,000)
//
// The control store is SQLite on disk (synchronous=FULL), so every recorded
// batch of deliveries is durable as in a deployment.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "api/client.h"
#include "api/webhook_client.h"
#include "bench_util.h"
#include "compliance/webhook_dispatcher.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "services/vault.h"
#include "support/https_receiver.h"

namespace piivault {
namespace {

using SteadyClock = std::chrono::steady_clock;
using piivault::testing::HttpsReceiver;

using bench::Die;
using bench::Must;

double Since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// A payload shaped like an incident notice.
boost::json::object Payload(int64_t i) {
  return {{"incident", "inc_" + std::to_string(i)},
          {"title", "Unauthorized access to a storage node"},
          {"detected_at", "2026-12-03T10:00:00Z"},
          {"deadline", "2026-12-06T10:00:00Z"},
          {"pii_breach", true}};
}

void AddNotices(services::Vault& vault, const std::string& tenant,
                int64_t count) {
  for (int64_t done = 0; done < count;) {
    storage::WriteBatch batch;
    for (int i = 0; i < 1000 && done < count; ++i, ++done)
      vault.outbox.Add(batch, tenant, compliance::NotificationType::kIncident,
                       Payload(done));
    Must(vault.control.Write(vault::RequestContext(), batch), "add notices");
  }
}

// Plain HTTPS POSTs of `count` bodies the size of a delivery's.
double BaselineRate(const HttpsReceiver& receiver, const std::string& ca_file,
                    int64_t count) {
  api::ClientConnection connection(
      {.origin = Must(
           ParseHttpUrl("https://localhost:" + std::to_string(receiver.port())),
           "url"),
       .ca_file = ca_file,
       .timeout = std::chrono::seconds(10),
       .user_agent = "bench",
       .token = {}});
  const std::string body = boost::json::serialize(boost::json::object{
      {"id", "ntf_0006651728988000_376b4820b55ad073"},
      {"idempotency_id", "ntf_0006651728988000_376b4820b55ad073"},
      {"tenant", "fast"},
      {"type", "incident"},
      {"created_at", "2026-12-03T10:00:00Z"},
      {"payload", Payload(0)}});
  const auto start = SteadyClock::now();
  for (int64_t i = 0; i < count; ++i) {
    auto r = connection.Send(
        "POST", "/hook", body,
        {{"X-Piivault-Signature", "sha256=" + std::string(64, '0')}});
    if (!r || r->status != 200) Die("baseline POST failed");
  }
  return static_cast<double>(count) / Since(start);
}

// Delivers `count` notices of "fast" with the background loop (and `dead`
// notices of "dead", whose receiver never answers): notices of "fast" per
// second, until its receiver has them all.
double LoopRate(services::Vault& vault, const Clock& clock,
                api::WebhookClient& client, const HttpsReceiver& fast,
                int64_t count, int64_t dead) {
  AddNotices(vault, "fast", count);
  if (dead > 0) AddNotices(vault, "dead", dead);
  compliance::WebhookDispatcher dispatcher(
      &vault.control, &clock, &vault.outbox, &vault.webhooks, &client,
      {.max_attempts = 10,
       .retry_backoff = std::chrono::seconds(1),
       .max_backoff = std::chrono::seconds(1),
       .lease = std::chrono::seconds(60),
       .workers = 4});
  const std::size_t before = fast.requests().size();
  const auto start = SteadyClock::now();
  dispatcher.Start(std::chrono::milliseconds(10), [](const Status& s) {
    std::fprintf(stderr, "delivery error: %s\n", s.ToString().c_str());
  });
  if (!fast.WaitForRequests(before + count, std::chrono::minutes(10)))
    Die("the notices did not all arrive");
  const double seconds = Since(start);
  dispatcher.Stop();
  return static_cast<double>(count) / seconds;
}

int Run(int64_t notices) {
  const char* base = std::getenv("PIIVAULT_BENCH_DIR");
  if (!base || !*base) base = std::getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  std::string dir = std::string(base) + "/piivault-webhook-XXXXXX";
  if (!::mkdtemp(dir.data())) Die("mkdtemp");

  std::map<std::string, std::unique_ptr<storage::Backend>> backends;
  backends["eu"] = Must(storage::OpenBackend("sqlite://eu.db", dir), "eu");
  std::vector<RegionConfig> regions{{"eu", {"DE"}, "sqlite://eu.db"}};
  storage::RegionRouter router(
      Must(storage::OpenBackend("sqlite://control.db", dir), "control"),
      regions, std::move(backends));
  crypto::Keyring keyring(crypto::RandomSecret(32), &router.control());
  Must(keyring.InitializeOrVerify(), "keyring");
  SystemClock clock;
  services::Vault vault(&router, &keyring, &clock);

  auto pair = Must(crypto::MakeSelfSignedLocalhostCertificate(1), "cert");
  const std::string ca_file = dir + "/receiver.pem";
  std::ofstream(ca_file) << pair.certificate_pem;
  HttpsReceiver fast(pair.certificate_pem, pair.private_key_pem);

  // A dead receiver: connections are accepted (by the kernel's backlog) and
  // never answered, so each try waits for the client's timeout.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor dead_listener(
      ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const std::string dead_url =
      "https://localhost:" +
      std::to_string(dead_listener.local_endpoint().port()) + "/hook";

  const std::string fast_url =
      "https://localhost:" + std::to_string(fast.port()) + "/hook";
  Must(vault.webhooks.Put(vault::RequestContext(), "fast", fast_url,
                          "bench-secret-0123456789"),
       "webhook");
  Must(vault.webhooks.Put(vault::RequestContext(), "dead", dead_url,
                          "bench-secret-0123456789"),
       "webhook");
  api::WebhookClient client(
      {.timeout = std::chrono::seconds(2), .ca_file = ca_file});

  // Three rounds, each phase in turn, and the median of each: the machine's
  // other load moves all three alike within a round.
  constexpr int kRounds = 3;
  std::vector<double> baseline, alone, with_dead;
  for (int round = 0; round < kRounds; ++round) {
    std::fprintf(stderr, "round %d: baseline, outbox, outbox + dead...\n",
                 round + 1);
    baseline.push_back(BaselineRate(fast, ca_file, notices));
    alone.push_back(LoopRate(vault, clock, client, fast, notices, 0));
    with_dead.push_back(LoopRate(vault, clock, client, fast, notices, notices));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "webhook delivery of %lld notices, SQLite control store, "
      "median of %d rounds\n",
      static_cast<long long>(notices), kRounds);
  for (int round = 0; round < kRounds; ++round)
    std::printf(
        "  round %d: baseline %.0f/s, outbox %.0f/s, with a dead "
        "receiver %.0f/s\n",
        round + 1, baseline[round], alone[round], with_dead[round]);
  const double b = median(baseline), a = median(alone), d = median(with_dead);
  std::printf("  plain HTTPS POSTs (baseline)         %9.0f /s\n", b);
  std::printf("  outbox -> webhook, delivered         %9.0f /s  (%.2fx)\n", a,
              a / b);
  std::printf(
      "  same, another tenant's receiver dead %9.0f /s  (%.2fx alone)\n", d,
      d / a);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace piivault

int main(int argc, char** argv) {
  int64_t notices = 20000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--notices") == 0 && i + 1 < argc)
      notices = std::atoll(argv[++i]);
    else
      piivault::bench::Die("usage: webhook_bench [--notices N]");
  }
  return piivault::Run(notices);
}
