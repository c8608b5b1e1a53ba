#include "api/server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "base/http_url.h"

namespace piivault::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto kShutdownGrace = std::chrono::seconds(10);
constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr auto kDrainTimeout = std::chrono::seconds(2);
constexpr std::size_t kDrainLimit = 64 * 1024 * 1024;
// After a failed accept (EMFILE, ENFILE, ENOBUFS, ENOMEM...): the pending
// connection stays in the backlog, so accepting again at once fails at once
// and spins a core until a descriptor frees up.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);
// TLS 1.2: forward-secret AEAD suites only (no CBC, no SHA-1 MAC, no RSA key
// exchange). TLS 1.3 keeps OpenSSL's defaults, which are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// State shared by every connection.
struct Shared {
  Handler handler;
  Offload offload;  // posts to the handler pool
  std::size_t body_limit;
  std::chrono::seconds read_timeout;
  int max_connections;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};    // dispatched, response not yet written
  std::atomic<int> unanswered{0};   // dispatched, handler not yet responded
  std::atomic<int> connections{0};  // accepted and not yet destroyed
  // The listener stopped accepting at max_connections; the next connection
  // to close calls resume_accept.
  std::atomic<bool> accept_paused{false};
  std::function<void()> resume_accept = nullptr;

  void ConnectionClosed() {
    connections.fetch_sub(1);
    // Both flags are seq_cst, paired with Listener::AcceptIfRoom: either it
    // sees this decrement or this sees its pause.
    if (accept_paused.load() && !stopping.load()) resume_accept();
  }
};

// Beast's parse errors for a malformed request (as opposed to the peer
// closing, a timeout or a limit).
bool IsMalformed(const beast::error_code& ec) {
  for (http::error e :
       {http::error::bad_line_ending, http::error::bad_method,
        http::error::bad_target, http::error::bad_version,
        http::error::bad_field, http::error::bad_value,
        http::error::bad_content_length, http::error::bad_transfer_encoding,
        http::error::bad_chunk, http::error::bad_chunk_extension,
        http::error::bad_obs_fold, http::error::multiple_content_length})
    if (ec == e) return true;
  return false;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// What Beast accepts but RFC 9112 makes a 400 (§3.2, §6.1, §6.3): Beast
// frames the body by Content-Length whenever Transfer-Encoding is anything
// but one final "chunked", and the bytes it did not count as body would run
// as a second, smuggled request. The one transfer coding accepted is
// "chunked" alone. Returns the reason, or empty when the header is fine.
std::string_view FramingProblem(const http::request_header<>& header) {
  int hosts = 0;
  int codings = 0;
  bool chunked = false;
  bool transfer_encoding = false;
  for (auto& field : header) {
    if (field.name() == http::field::host) ++hosts;
    if (field.name() != http::field::transfer_encoding) continue;
    transfer_encoding = true;
    std::string_view rest = field.value();
    while (true) {
      auto comma = rest.find(',');
      std::string_view coding = TrimOws(rest.substr(0, comma));
      ++codings;
      chunked = beast::iequals(coding, "chunked");
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (transfer_encoding) {
    if (codings != 1 || !chunked)
      return "Transfer-Encoding must be \"chunked\" alone";
    if (header.count(http::field::content_length) > 0)
      return "Transfer-Encoding and Content-Length must not come together";
  }
  if (hosts > 1) return "a request has at most one Host header";
  if (hosts == 0 && header.version() >= 11)
    return "an HTTP/1.1 request needs a Host header";
  return {};
}

// A request body must be JSON: "application/json", parameters allowed, the
// media type case-insensitive (RFC 9110 §8.3.1).
bool IsJsonContentType(std::string_view content_type) {
  return beast::iequals(TrimOws(content_type.substr(0, content_type.find(';'))),
                        "application/json");
}

// Method, target and headers; the body is moved in separately.
HttpRequest FromHeader(const http::request_header<>& header) {
  HttpRequest out;
  out.method = std::string(header.method_string());
  std::string_view target = header.target();
  auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos)
    out.query = std::string(target.substr(q + 1));
  for (auto& field : header) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(c));
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  return out;
}

http::response<http::string_body> ToBeast(HttpResponse&& r, unsigned version,
                                          bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status),
                                        version};
  res.set(http::field::server, "piivault");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  for (auto& [k, v] : r.headers) res.set(k, v);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// One connection. Stream is beast::tcp_stream or ssl::stream<tcp_stream>.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  // The listener counted the connection in shared->connections.
  Session(Stream stream, Shared* shared)
      : stream_(std::move(stream)), shared_(shared) {
    // The client's address, for the failed-authentication limit.
    beast::error_code ec;
    auto remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_address_ = remote.address().to_string();
  }
  ~Session() { shared_->ConnectionClosed(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      ReadHeader();
    } else {
      beast::get_lowest_layer(stream_).expires_after(shared_->read_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) {
            if (!ec) self->ReadHeader();
          });
    }
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(shared_->body_limit);
    beast::get_lowest_layer(stream_).expires_after(shared_->read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          self->OnHeader(ec);
        });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return Reject(413, "payload_too_large", "the request body is too large");
    if (ec == http::error::header_limit)
      return Reject(400, "invalid_argument",
                    "the request headers are too large");
    if (IsMalformed(ec)) return RejectMalformed();
    if (ec) return Close(ec != http::error::end_of_stream);
    auto& req = parser_->get();
    if (auto problem = FramingProblem(req); !problem.empty())
      return Reject(400, "invalid_argument", problem);
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(
          http::status::continue_, req.version());
      http::async_write(stream_, *cont,
                        [self = this->shared_from_this(), cont](
                            beast::error_code ec, std::size_t) {
                          if (ec) return self->Close(true);
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          self->OnRequest(ec);
        });
  }

  void OnRequest(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return Reject(413, "payload_too_large", "the request body is too large");
    if (IsMalformed(ec)) return RejectMalformed();
    if (ec) return Close(true);
    auto req = parser_->release();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    HttpRequest request = FromHeader(req);
    request.body = std::move(req.body());
    // The body was read whole, so the connection stays usable.
    if (!request.body.empty() &&
        (req.count(http::field::content_type) != 1 ||
         !IsJsonContentType(req[http::field::content_type])))
      request.rejection = {415, "unsupported_media_type",
                           "the request body must be application/json"};
    Dispatch(std::move(request), false);
  }

  // The framing cannot be trusted past the error, so nothing after it is
  // read as a request: answer 400 and close.
  void RejectMalformed() {
    Reject(400, "invalid_argument", "the request is not valid HTTP/1.1");
  }

  // Answers a request we will not read fully, then closes the connection.
  // It still goes through the handler, so it gets a request id, an access
  // log line and a metric like any other.
  void Reject(int status, std::string_view code, std::string_view message) {
    HttpRequest request;
    // Whatever part of the header was parsed (a too-large Content-Length is
    // refused before the parser marks the header done).
    if (parser_) {
      version_ = parser_->get().version() == 10 ? 10 : 11;
      request = FromHeader(parser_->get());
    }
    request.rejection = {status, std::string(code), std::string(message)};
    Dispatch(std::move(request), true);
  }

  void Dispatch(HttpRequest&& request, bool close) {
    request.remote_address = remote_address_;
    shared_->in_flight.fetch_add(1);
    shared_->unanswered.fetch_add(1);
    // The answer may come from another thread (the audit log's committer):
    // it is written on this connection's strand.
    Respond respond = [self = this->shared_from_this(),
                       close](HttpResponse res) {
      asio::dispatch(self->stream_.get_executor(),
                     [self, res = std::move(res), close]() mutable {
                       self->Write(std::move(res), close);
                     });
      self->shared_->unanswered.fetch_sub(1);
    };
    // The handler decides, per route, what runs here and what on the pool.
    shared_->handler(std::move(request), std::move(respond), shared_->offload);
  }

  void Write(HttpResponse&& res, bool close) {
    bool keep = keep_alive_ && !close && !shared_->stopping.load();
    if (res.next_chunk) return WriteStreamed(std::move(res), keep);
    auto msg = std::make_shared<http::response<http::string_body>>(
        ToBeast(std::move(res), version_, keep));
    beast::get_lowest_layer(stream_).expires_after(shared_->read_timeout);
    http::async_write(stream_, *msg,
                      [self = this->shared_from_this(), msg, keep](
                          beast::error_code ec, std::size_t) {
                        self->shared_->in_flight.fetch_sub(1);
                        if (ec) return self->Close(false);
                        if (!keep) return self->CloseAfterDrain();
                        self->ReadHeader();
                      });
  }

  // A streamed body: the header (chunked), then each piece as one chunk,
  // pulled from the producer on the handler pool while nothing else of this
  // connection runs, then the last chunk. A producer error closes the
  // connection without the last chunk: the client sees the body cut short.
  void WriteStreamed(HttpResponse&& res, bool keep) {
    auto header = std::make_shared<http::response<http::empty_body>>(
        static_cast<http::status>(res.status), version_);
    header->set(http::field::server, "piivault");
    header->set(http::field::content_type, res.content_type);
    header->set(http::field::cache_control, "no-store");
    for (auto& [k, v] : res.headers) header->set(k, v);
    header->keep_alive(keep);
    header->chunked(true);
    auto serializer =
        std::make_shared<http::response_serializer<http::empty_body>>(*header);
    beast::get_lowest_layer(stream_).expires_after(shared_->read_timeout);
    http::async_write_header(
        stream_, *serializer,
        [self = this->shared_from_this(), header, serializer, keep,
         next = std::move(res.next_chunk)](beast::error_code ec,
                                           std::size_t) mutable {
          if (ec) return self->EndStreamed(false, keep);
          self->PullChunk(std::move(next), keep);
        });
  }

  void PullChunk(NextChunk next, bool keep) {
    shared_->offload([self = this->shared_from_this(), next = std::move(next),
                      keep]() mutable {
      auto piece = next();
      asio::dispatch(self->stream_.get_executor(),
                     [self, next = std::move(next), piece = std::move(piece),
                      keep]() mutable {
                       self->WriteChunk(std::move(next), std::move(piece),
                                        keep);
                     });
    });
  }

  void WriteChunk(NextChunk next, Result<std::optional<std::string>> piece,
                  bool keep) {
    if (!piece) return EndStreamed(false, keep);
    beast::get_lowest_layer(stream_).expires_after(shared_->read_timeout);
    auto done = [self = this->shared_from_this(), keep](beast::error_code ec,
                                                        std::size_t) {
      self->EndStreamed(!ec, keep);
    };
    if (!*piece)
      return asio::async_write(stream_, http::make_chunk_last(), done);
    if ((*piece)->empty()) return PullChunk(std::move(next), keep);
    auto data = std::make_shared<std::string>(std::move(**piece));
    asio::async_write(
        stream_, http::make_chunk(asio::buffer(*data)),
        [self = this->shared_from_this(), data, next = std::move(next), keep](
            beast::error_code ec, std::size_t) mutable {
          if (ec) return self->EndStreamed(false, keep);
          self->PullChunk(std::move(next), keep);
        });
  }

  // After the last chunk (`complete`) or a failure mid-body.
  void EndStreamed(bool complete, bool keep) {
    shared_->in_flight.fetch_sub(1);
    if (!complete) return Close(false);
    if (!keep) return CloseAfterDrain();
    ReadHeader();
  }

  // Half-closes, then reads and discards what the client is still sending
  // (an oversized body, say) for a short while: closing a socket with unread
  // input resets the connection and the client may never see our response.
  void CloseAfterDrain() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    beast::get_lowest_layer(stream_).expires_after(kDrainTimeout);
    Drain();
  }

  void Drain() {
    drain_buffer_.resize(16 * 1024);
    stream_.async_read_some(
        asio::buffer(drain_buffer_),
        [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
          self->drained_ += n;
          if (ec || self->drained_ > kDrainLimit) return self->Close(false);
          self->Drain();
        });
  }

  void Close(bool graceful) {
    beast::error_code ignored;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      if (graceful)
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.socket().close(ignored);
    } else {
      beast::get_lowest_layer(stream_).close();
    }
  }

  Stream stream_;
  Shared* shared_;
  std::string remote_address_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  std::vector<char> drain_buffer_;
  std::size_t drained_ = 0;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, tcp::acceptor acceptor, Shared* shared,
           ssl::context* tls)
      : ioc_(ioc),
        acceptor_(std::move(acceptor)),
        backoff_(acceptor_.get_executor()),
        shared_(shared),
        tls_(tls) {}

  // Starts the next accept, on the acceptor's strand (or before the loop
  // runs). At any time exactly one of these is pending: an accept, the
  // back-off timer after a failed one, or a pause at max_connections.
  void Accept() {
    acceptor_.async_accept(
        asio::make_strand(ioc_),
        [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
          self->OnAccept(ec, std::move(socket));
        });
  }

  // Any thread: a connection closed while accepting was paused.
  void Resume() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      if (self->shared_->accept_paused.exchange(false)) self->AcceptIfRoom();
    });
  }

  // Called from the signal handler's thread: closing runs on the acceptor's
  // strand, so it never races an accept completion that is about to start
  // the next accept (which crashed the reactor at shutdown).
  void Stop() {
    asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
      self->backoff_.cancel();
    });
  }

 private:
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (ec) {
      backoff_.expires_after(kAcceptBackoff);
      backoff_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->AcceptIfRoom();
      });
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    shared_->connections.fetch_add(1);
    if (tls_) {
      std::make_shared<Session<ssl::stream<beast::tcp_stream>>>(
          ssl::stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)),
                                         *tls_),
          shared_)
          ->Start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(
          beast::tcp_stream(std::move(socket)), shared_)
          ->Start();
    }
    AcceptIfRoom();
  }

  // On the acceptor's strand. At the cap, connections wait in the kernel's
  // backlog until one of ours closes.
  void AcceptIfRoom() {
    if (!acceptor_.is_open()) return;
    if (shared_->connections.load() < shared_->max_connections) return Accept();
    shared_->accept_paused.store(true);
    // A connection that closed before the pause was visible did not resume.
    if (shared_->connections.load() < shared_->max_connections &&
        shared_->accept_paused.exchange(false))
      Accept();
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer backoff_;
  Shared* shared_;
  ssl::context* tls_;
};

Result<std::unique_ptr<ssl::context>> MakeTlsContext(const ServerConfig& cfg) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  beast::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                   ec);
  // No renegotiation: a client could otherwise make the server redo
  // handshakes on one connection (CPU) at will.
  SSL_CTX_set_options(
      ctx->native_handle(),
      SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!ec && SSL_CTX_set_cipher_list(ctx->native_handle(), kTls12Ciphers) != 1)
    return Err(Internal("the TLS 1.2 cipher list is not supported"));
  if (!ec) ctx->use_certificate_chain_file(cfg.tls_cert, ec);
  if (ec)
    return Err(
        FailedPrecondition("cannot load the TLS certificate " + cfg.tls_cert));
  ctx->use_private_key_file(cfg.tls_key, ssl::context::pem, ec);
  if (ec)
    return Err(
        FailedPrecondition("cannot load the TLS private key " + cfg.tls_key));
  return ctx;
}

}  // namespace

Status RunServer(const ServerOptions& options, Handler handler) {
  const ServerConfig& cfg = options.config;
  bool tls = !cfg.tls_cert.empty();
  if (!tls && !IsLoopbackHost(cfg.host))
    return FailedPrecondition(
        "refusing to serve plain HTTP on a non-loopback address; configure "
        "server.tls_cert and server.tls_key");
  std::unique_ptr<ssl::context> tls_ctx;
  if (tls) {
    PV_ASSIGN_OR_RETURN(tls_ctx, MakeTlsContext(cfg));
  }

  int io_threads =
      cfg.threads > 0
          ? cfg.threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Declared before the io_context: sessions its destructor frees still
  // report to `shared`.
  asio::thread_pool pool(static_cast<std::size_t>(cfg.handler_threads));
  Shared shared{std::move(handler),
                [&pool](std::function<void()> work) {
                  asio::post(pool, std::move(work));
                },
                cfg.body_limit, cfg.read_timeout, cfg.max_connections};
  asio::io_context ioc(io_threads);

  beast::error_code ec;
  std::string host = cfg.host == "localhost" ? "127.0.0.1" : cfg.host;
  auto address = asio::ip::make_address(host, ec);
  if (ec)
    return FailedPrecondition(
        "server.listen host must be an IP address or localhost");
  // On a strand of its own: accept completions and Stop() are serialized.
  tcp::acceptor acceptor(asio::make_strand(ioc));
  tcp::endpoint endpoint(address, cfg.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Unavailable("cannot listen on " + cfg.host + ":" +
                       std::to_string(cfg.port) + ": " + ec.message());
  uint16_t bound_port = acceptor.local_endpoint().port();

  auto listener = std::make_shared<Listener>(ioc, std::move(acceptor), &shared,
                                             tls_ctx.get());
  shared.resume_accept = [weak = std::weak_ptr<Listener>(listener)] {
    if (auto l = weak.lock()) l->Resume();
  };
  listener->Accept();

  // Graceful shutdown: stop accepting, wait for in-flight requests (bounded),
  // then stop the loop. Idle keep-alive connections are simply closed.
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer drain(ioc);
  auto deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  std::function<void()> wait_drained = [&] {
    if (shared.in_flight.load() == 0 ||
        std::chrono::steady_clock::now() >= *deadline) {
      ioc.stop();
      return;
    }
    drain.expires_after(std::chrono::milliseconds(20));
    drain.async_wait([&](beast::error_code) { wait_drained(); });
  };
  signals.async_wait([&](beast::error_code, int) {
    shared.stopping.store(true);
    listener->Stop();
    *deadline = std::chrono::steady_clock::now() + kShutdownGrace;
    wait_drained();
  });

  if (options.on_listening) options.on_listening(bound_port);
  std::vector<std::thread> threads;
  for (int i = 1; i < io_threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  pool.join();
  // A request past the grace period may still be waiting for its audit event;
  // its answer is posted to this io_context, which must outlive the post.
  while (shared.unanswered.load() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return Status::Ok();
}

}  // namespace piivault::api
