// Streamed responses (HttpResponse::next_chunk) through the real server and
// client over a socket: the body arrives intact and chunked, the producer
// runs off the I/O threads, and a producer error cuts the body short.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <signal.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "api/client.h"
#include "api/server.h"

namespace piivault::api {
namespace {

constexpr std::size_t kBody = 20 * 1024 * 1024;

// Byte i of the test body: not periodic at any chunk size used here.
char BodyByte(std::size_t i) {
  return static_cast<char>((i * 2654435761u) >> 13);
}

// A server on a free port, answering every request with `handler`'s
// response, in its own thread until the fixture ends.
class StreamingTest : public ::testing::Test {
 protected:
  void Start(std::function<HttpResponse(const HttpRequest&)> handler) {
    std::promise<uint16_t> listening;
    auto port = listening.get_future();
    server_ = std::thread([this, handler, &listening] {
      ServerOptions options;
      options.config.port = 0;
      options.config.threads = 2;
      options.config.handler_threads = 2;
      options.on_listening = [&](uint16_t p) { listening.set_value(p); };
      Status ran = RunServer(
          options,
          [this, handler](HttpRequest req, Respond respond, const Offload&) {
            {
              std::lock_guard lock(mu_);
              io_threads_.insert(std::this_thread::get_id());
            }
            respond(handler(req));
          });
      EXPECT_TRUE(ran.ok()) << ran.ToString();
    });
    options_.address = "http://127.0.0.1:" + std::to_string(port.get());
  }

  void TearDown() override {
    if (!server_.joinable()) return;
    // The server's signal set catches it and shuts down gracefully.
    ::kill(::getpid(), SIGTERM);
    server_.join();
  }

  // A producer of `total` bytes in pieces of varying size, noting the
  // threads it ran on; fails after `fail_after` bytes when set.
  NextChunk Producer(std::size_t total,
                     std::optional<std::size_t> fail_after = {}) {
    auto sent = std::make_shared<std::size_t>(0);
    auto calls = std::make_shared<std::size_t>(0);
    return [this, sent, calls, total,
            fail_after]() -> Result<std::optional<std::string>> {
      {
        std::lock_guard lock(mu_);
        producer_threads_.insert(std::this_thread::get_id());
      }
      if (fail_after && *sent >= *fail_after)
        return Err(Internal("the producer failed"));
      if (*sent >= total) return std::optional<std::string>();
      // Pieces of 0 B to 1 MiB.
      constexpr std::size_t kSizes[] = {4093, 0, 1, 1048576, 65536, 77777};
      std::size_t size =
          std::min(total - *sent, kSizes[(*calls)++ % std::size(kSizes)]);
      std::string piece(size, '\0');
      for (std::size_t i = 0; i < size; ++i) piece[i] = BodyByte(*sent + i);
      *sent += size;
      return std::optional<std::string>(std::move(piece));
    };
  }

  ClientOptions options_;
  std::thread server_;
  std::mutex mu_;
  std::set<std::thread::id> io_threads_;
  std::set<std::thread::id> producer_threads_;
};

TEST_F(StreamingTest, TwentyMebibytesArriveIntactAndChunked) {
  Start([this](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "application/x-ndjson";
    r.next_chunk = Producer(kBody);
    return r;
  });
  std::size_t received = 0;
  std::size_t largest_piece = 0;
  bool intact = true;
  auto res = SendRequest(
      options_, "GET", "/stream", "", {}, [&](std::string_view piece) {
        for (std::size_t i = 0; i < piece.size(); ++i)
          intact &= piece[i] == BodyByte(received + i);
        received += piece.size();
        largest_piece = std::max(largest_piece, piece.size());
        return Status::Ok();
      });
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->Header("transfer-encoding"), "chunked");
  EXPECT_EQ(res->Header("content-length"), "");
  EXPECT_EQ(res->content_type, "application/x-ndjson");
  EXPECT_TRUE(res->body.empty());
  EXPECT_EQ(received, kBody);
  EXPECT_TRUE(intact);
  // The client hands the body on in bounded pieces, never whole.
  EXPECT_LE(largest_piece, 64u * 1024);
  // The producer ran on the handler pool, never on an I/O thread.
  std::lock_guard lock(mu_);
  ASSERT_FALSE(producer_threads_.empty());
  for (auto& id : producer_threads_) EXPECT_FALSE(io_threads_.contains(id));
}

TEST_F(StreamingTest, WithoutASinkAStreamedBodyIsReadWhole) {
  Start([this](const HttpRequest& req) {
    HttpResponse r;
    if (req.path == "/small") {
      r.body = "{}";
      return r;
    }
    r.next_chunk = Producer(100000);
    return r;
  });
  std::string body;
  auto streamed = SendRequest(options_, "GET", "/stream", "", {},
                              [&](std::string_view piece) {
                                body.append(piece);
                                return Status::Ok();
                              });
  ASSERT_TRUE(streamed.has_value());
  EXPECT_EQ(body.size(), 100000u);
  // Without a sink, a streamed body is read into the response.
  auto whole = SendRequest(options_, "GET", "/stream", "");
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->body, body);
}

TEST_F(StreamingTest, AProducerErrorCutsTheBodyShort) {
  Start([this](const HttpRequest&) {
    HttpResponse r;
    r.next_chunk = Producer(kBody, 3 * 1024 * 1024);
    return r;
  });
  std::size_t received = 0;
  auto res = SendRequest(options_, "GET", "/stream", "", {},
                         [&](std::string_view piece) {
                           received += piece.size();
                           return Status::Ok();
                         });
  ASSERT_FALSE(res.has_value()) << "a truncated body is not a response";
  EXPECT_EQ(res.error().code(), StatusCode::kUnavailable);
  EXPECT_LT(received, kBody);
}

TEST_F(StreamingTest, ASinkErrorStopsTheDownload) {
  Start([this](const HttpRequest&) {
    HttpResponse r;
    r.next_chunk = Producer(kBody);
    return r;
  });
  auto res = SendRequest(
      options_, "GET", "/stream", "", {},
      [&](std::string_view) { return Unavailable("the disk is full"); });
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().message(), "the disk is full");
}

}  // namespace
}  // namespace piivault::api
