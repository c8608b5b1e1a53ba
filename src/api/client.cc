#include "api/client.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace piivault::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxBufferedBody = 256 * 1024 * 1024;

// Thrown when the connection failed before any of the response arrived: the
// request may be sent again on a new connection.
struct NothingReceived : beast::system_error {
  using beast::system_error::system_error;
};

}  // namespace

struct ClientConnection::Impl {
  explicit Impl(Options o) : options(std::move(o)) {}

  Options options;
  asio::io_context ioc;
  std::optional<ssl::context> tls_context;
  // One of these while connected.
  std::optional<beast::tcp_stream> plain;
  std::optional<ssl::stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() {
    return plain ? *plain : beast::get_lowest_layer(*secure);
  }
  bool connected() const { return plain || secure; }

  // Runs one asynchronous step to its end: Beast applies a stream's
  // timeout to asynchronous operations only, so every step is one, run
  // here on this thread. The step's error, if any.
  template <typename Initiate>
  beast::error_code Step(Initiate initiate) {
    if (options.timeout.count() > 0)
      lowest().expires_after(options.timeout);
    else
      lowest().expires_never();
    beast::error_code result;
    initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }
  void StepOrThrow(beast::error_code ec) {
    if (ec) throw beast::system_error(ec);
  }

  void Disconnect() {
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  void Connect() {
    Disconnect();
    const HttpUrl& origin = options.origin;
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(origin.host, origin.port);
    if (!origin.tls) {
      plain.emplace(ioc);
      StepOrThrow(
          Step([&](auto done) { plain->async_connect(endpoints, done); }));
      return;
    }
    if (!tls_context) {
      tls_context.emplace(ssl::context::tls_client);
      tls_context->set_options(ssl::context::no_tlsv1 |
                               ssl::context::no_tlsv1_1);
      if (!options.ca_file.empty())
        tls_context->load_verify_file(options.ca_file);
      else
        tls_context->set_default_verify_paths();
      tls_context->set_verify_mode(ssl::verify_peer);
    }
    secure.emplace(ioc, *tls_context);
    if (!SSL_set_tlsext_host_name(secure->native_handle(), origin.host.c_str()))
      throw beast::system_error(
          beast::error_code(static_cast<int>(::ERR_get_error()),
                            asio::error::get_ssl_category()));
    secure->set_verify_callback(ssl::host_name_verification(origin.host));
    StepOrThrow(Step([&](auto done) {
      beast::get_lowest_layer(*secure).async_connect(endpoints, done);
    }));
    StepOrThrow(Step([&](auto done) {
      secure->async_handshake(ssl::stream_base::client, done);
    }));
  }

  template <typename Stream>
  Result<HttpResponse> Exchange(Stream& stream,
                                const http::request<http::string_body>& req,
                                const BodySink* sink) {
    if (auto ec =
            Step([&](auto done) { http::async_write(stream, req, done); }))
      throw NothingReceived(ec);
    // The body is read in pieces: into `body` (bounded) or, for a 2xx with
    // a sink, to the sink (unbounded).
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    if (auto ec = Step([&](auto done) {
          http::async_read_header(stream, buffer, parser, done);
        })) {
      if (parser.got_some()) throw beast::system_error(ec);
      throw NothingReceived(ec);
    }
    auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[http::field::content_type]);
    for (auto& f : res)
      out.headers.emplace_back(std::string(f.name_string()),
                               std::string(f.value()));
    const bool to_sink = sink && out.status >= 200 && out.status < 300;
    std::string piece(64 * 1024, '\0');
    while (!parser.is_done()) {
      res.body().data = piece.data();
      res.body().size = piece.size();
      auto ec = Step(
          [&](auto done) { http::async_read(stream, buffer, parser, done); });
      if (ec == http::error::need_buffer) ec = {};
      StepOrThrow(ec);
      std::string_view got(piece.data(), piece.size() - res.body().size);
      if (to_sink) {
        PV_RETURN_IF_ERROR((*sink)(got));
      } else {
        if (out.body.size() + got.size() > kMaxBufferedBody)
          return Err(Unavailable("the response body is too large"));
        out.body.append(got);
      }
    }
    if (!parser.keep_alive()) Disconnect();
    return out;
  }

  Result<HttpResponse> ExchangeOnce(const http::request<http::string_body>& req,
                                    const BodySink* sink) {
    if (!connected()) Connect();
    return plain ? Exchange(*plain, req, sink) : Exchange(*secure, req, sink);
  }
};

ClientConnection::ClientConnection(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
ClientConnection::~ClientConnection() = default;

Result<HttpResponse> ClientConnection::Send(std::string_view method,
                                            std::string_view target,
                                            std::string_view body,
                                            const HeaderList& headers,
                                            const BodySink* sink) {
  const Options& options = impl_->options;
  http::request<http::string_body> req;
  req.method(http::string_to_verb(method));
  req.target(std::string(target));
  req.version(11);
  req.set(http::field::host, options.origin.host);
  req.set(http::field::user_agent, options.user_agent);
  if (!options.token.empty())
    req.set(http::field::authorization, "Bearer " + options.token);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = std::string(body);
  req.keep_alive(true);
  req.prepare_payload();

  const bool reused = impl_->connected();
  try {
    try {
      return impl_->ExchangeOnce(req, sink);
    } catch (const NothingReceived&) {
      if (!reused) throw;
      impl_->Disconnect();  // the server closed the idle connection
      return impl_->ExchangeOnce(req, sink);
    }
  } catch (const beast::system_error& e) {
    // The code's text ("Connection refused", "certificate verify failed"),
    // without what() 's source location.
    impl_->Disconnect();
    return Err(Unavailable("cannot reach the server: " + e.code().message()));
  } catch (const std::exception& e) {
    impl_->Disconnect();
    return Err(
        Unavailable(std::string("cannot reach the server: ") + e.what()));
  }
}

namespace {

Result<ClientConnection::Options> ConnectionOptions(
    const ClientOptions& options) {
  PV_ASSIGN_OR_RETURN(HttpUrl origin, ParseHttpUrl(options.address));
  return ClientConnection::Options{.origin = std::move(origin),
                                   .ca_file = options.ca_file,
                                   .user_agent = "piivault-cli",
                                   .token = options.token};
}

}  // namespace

Result<HttpResponse> SendRequest(const ClientOptions& options,
                                 std::string_view method,
                                 std::string_view target, std::string_view body,
                                 const HeaderList& headers) {
  PV_ASSIGN_OR_RETURN(auto connection_options, ConnectionOptions(options));
  ClientConnection connection(std::move(connection_options));
  return connection.Send(method, target, body, headers);
}

Result<HttpResponse> SendRequest(const ClientOptions& options,
                                 std::string_view method,
                                 std::string_view target, std::string_view body,
                                 const HeaderList& headers,
                                 const BodySink& sink) {
  PV_ASSIGN_OR_RETURN(auto connection_options, ConnectionOptions(options));
  ClientConnection connection(std::move(connection_options));
  return connection.Send(method, target, body, headers, sink ? &sink : nullptr);
}

}  // namespace piivault::api
