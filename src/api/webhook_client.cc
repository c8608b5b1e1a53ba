#include "api/webhook_client.h"

#include "api/client.h"

namespace piivault::api {
namespace {

class Connection final : public compliance::WebhookConnection {
 public:
  Connection(const HttpUrl& endpoint, ClientConnection::Options options)
      : target_(endpoint.target), connection_(std::move(options)) {}

  Result<int> Post(std::string_view body, const HeaderList& headers) override {
    PV_ASSIGN_OR_RETURN(auto response,
                        connection_.Send("POST", target_, body, headers));
    return response.status;
  }

 private:
  const std::string target_;
  ClientConnection connection_;
};

}  // namespace

std::unique_ptr<compliance::WebhookConnection> WebhookClient::Connect(
    const HttpUrl& endpoint) {
  return std::make_unique<Connection>(
      endpoint, ClientConnection::Options{.origin = endpoint,
                                          .ca_file = options_.ca_file,
                                          .timeout = options_.timeout,
                                          .user_agent = "piivault-webhook",
                                          .token = {}});
}

}  // namespace piivault::api
