#include "support/https_receiver.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

namespace piivault::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct HttpsReceiver::Impl {
  Responder responder;
  asio::io_context ioc;
  ssl::context tls{ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  std::thread accept_thread;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<Request> received;
  int in_flight = 0;
  int max_in_flight = 0;
  std::list<std::thread> connections;
  std::list<std::shared_ptr<tcp::socket>> sockets;  // to close on stop

  void Serve(std::shared_ptr<tcp::socket> socket) {
    try {
      ssl::stream<tcp::socket&> stream(*socket, tls);
      stream.handshake(ssl::stream_base::server);
      beast::flat_buffer buffer;
      for (;;) {
        http::request<http::string_body> req;
        http::read(stream, buffer, req);
        Request got;
        got.target = std::string(req.target());
        for (auto& f : req) {
          std::string name(f.name_string());
          for (char& c : name) c = static_cast<char>(std::tolower(c));
          got.headers[name] = std::string(f.value());
        }
        got.body = req.body();
        {
          std::lock_guard lock(mu);
          received.push_back(got);
          max_in_flight = std::max(max_in_flight, ++in_flight);
        }
        cv.notify_all();
        Answer answer = responder ? responder(got) : Answer{};
        if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
        {
          std::lock_guard lock(mu);
          --in_flight;
        }
        http::response<http::string_body> res{
            static_cast<http::status>(answer.status), req.version()};
        res.set(http::field::content_type, "application/json");
        res.body() = "{}";
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        http::write(stream, res);
        if (!req.keep_alive() || stopping) break;
      }
    } catch (const std::exception&) {
      // The client went away, or the receiver is stopping.
    }
  }

  void Accept() {
    while (!stopping) {
      auto socket = std::make_shared<tcp::socket>(ioc);
      beast::error_code ec;
      acceptor.accept(*socket, ec);
      if (ec || stopping) break;
      std::lock_guard lock(mu);
      sockets.push_back(socket);
      connections.emplace_back([this, socket] { Serve(socket); });
    }
  }
};

HttpsReceiver::HttpsReceiver(const std::string& cert_pem,
                             const std::string& key_pem, Responder responder)
    : impl_(std::make_unique<Impl>()) {
  impl_->responder = std::move(responder);
  impl_->tls.use_certificate_chain(asio::buffer(cert_pem));
  impl_->tls.use_private_key(asio::buffer(key_pem), ssl::context::pem);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->accept_thread = std::thread([this] { impl_->Accept(); });
}

HttpsReceiver::~HttpsReceiver() {
  impl_->stopping = true;
  beast::error_code ec;
  // Wakes the blocked accept: a connection to ourselves.
  {
    tcp::socket poke(impl_->ioc);
    poke.connect(impl_->acceptor.local_endpoint(), ec);
  }
  impl_->accept_thread.join();
  impl_->acceptor.close(ec);
  {
    std::lock_guard lock(impl_->mu);
    for (auto& s : impl_->sockets) s->shutdown(tcp::socket::shutdown_both, ec);
  }
  for (auto& t : impl_->connections) t.join();
}

uint16_t HttpsReceiver::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::vector<HttpsReceiver::Request> HttpsReceiver::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received;
}

bool HttpsReceiver::WaitForRequests(std::size_t n,
                                    std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout,
                            [&] { return impl_->received.size() >= n; });
}

int HttpsReceiver::max_in_flight() const {
  std::lock_guard lock(impl_->mu);
  return impl_->max_in_flight;
}

}  // namespace piivault::testing
