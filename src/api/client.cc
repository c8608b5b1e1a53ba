#include "api/client.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace piivault::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct Address {
  bool tls = false;
  std::string host;
  std::string port;
};

Result<Address> ParseAddress(std::string_view address) {
  Address a;
  if (address.starts_with("http://")) {
    address.remove_prefix(7);
  } else if (address.starts_with("https://")) {
    a.tls = true;
    address.remove_prefix(8);
  } else {
    return Err(InvalidArgument(
        "the server address must start with http:// or https://"));
  }
  while (address.ends_with('/')) address.remove_suffix(1);
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos || address.ends_with(']')) {
    a.host = std::string(address);
    a.port = a.tls ? "443" : "80";
  } else {
    a.host = std::string(address.substr(0, colon));
    a.port = std::string(address.substr(colon + 1));
  }
  if (a.host.size() > 2 && a.host.front() == '[')
    a.host = a.host.substr(1, a.host.size() - 2);
  if (a.host.empty())
    return Err(InvalidArgument("the server address has no host"));
  return a;
}

constexpr std::size_t kMaxBufferedBody = 256 * 1024 * 1024;

template <typename Stream>
Result<HttpResponse> Exchange(Stream& stream,
                              const http::request<http::string_body>& req,
                              const BodySink* sink) {
  http::write(stream, req);
  beast::flat_buffer buffer;
  // The body is read in pieces: into `body` (bounded) or, for a 2xx with a
  // sink, to the sink (unbounded).
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  http::read_header(stream, buffer, parser);
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
    beast::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw beast::system_error(ec);
    std::string_view got(piece.data(), piece.size() - res.body().size);
    if (to_sink) {
      PV_RETURN_IF_ERROR((*sink)(got));
    } else {
      if (out.body.size() + got.size() > kMaxBufferedBody)
        return Err(Unavailable("the response body is too large"));
      out.body.append(got);
    }
  }
  return out;
}

}  // namespace

Result<HttpResponse> SendRequest(
    const ClientOptions& options, std::string_view method,
    std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  return SendRequest(options, method, target, body, headers, nullptr);
}

Result<HttpResponse> SendRequest(
    const ClientOptions& options, std::string_view method,
    std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const BodySink& sink) {
  const BodySink* to = sink ? &sink : nullptr;
  PV_ASSIGN_OR_RETURN(Address addr, ParseAddress(options.address));
  http::request<http::string_body> req;
  req.method(http::string_to_verb(method));
  req.target(std::string(target));
  req.version(11);
  req.set(http::field::host, addr.host);
  req.set(http::field::user_agent, "piivault-cli");
  if (!options.token.empty())
    req.set(http::field::authorization, "Bearer " + options.token);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = std::string(body);
  req.keep_alive(false);
  req.prepare_payload();

  try {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(addr.host, addr.port);
    if (!addr.tls) {
      beast::tcp_stream stream(ioc);
      stream.connect(endpoints);
      return Exchange(stream, req, to);
    }
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_options(ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (!options.ca_file.empty())
      ctx.load_verify_file(options.ca_file);
    else
      ctx.set_default_verify_paths();
    ctx.set_verify_mode(ssl::verify_peer);
    ssl::stream<beast::tcp_stream> stream(ioc, ctx);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), addr.host.c_str()))
      return Err(Unavailable("cannot set the TLS server name"));
    stream.set_verify_callback(ssl::host_name_verification(addr.host));
    beast::get_lowest_layer(stream).connect(endpoints);
    stream.handshake(ssl::stream_base::client);
    return Exchange(stream, req, to);
  } catch (const std::exception& e) {
    return Err(
        Unavailable(std::string("cannot reach the server: ") + e.what()));
  }
}

}  // namespace piivault::api
