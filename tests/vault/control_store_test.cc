#include "vault/control_store.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "storage/forwarding_backend.h"
#include "vault/identities.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using testing::VaultHarness;

// Counts reads, so tests can see whether a document came from the cache.
class CountingBackend final : public storage::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  Result<std::optional<std::string>> Get(std::string_view key) override {
    ++gets;
    return ForwardingBackend::Get(key);
  }
  int gets = 0;
};

TEST(ControlStoreTest, CachedOnlyWhileEpochUnchangedAcrossNodes) {
  VaultHarness h;
  // Two "nodes" over the same control store.
  CountingBackend node_a_backend(h.control_backend);
  ControlStore node_a(&node_a_backend, h.keyring.get());
  ControlStore node_b(h.control_backend, h.keyring.get());
  IdentityService ids_a(&node_a, &h.clock);
  IdentityService ids_b(&node_b, &h.clock);

  auto issued =
      ids_b.Create(vault::RequestContext(), "app", Role::kOperatorAdmin, "");
  ASSERT_TRUE(issued.has_value());
  // Each request on node A reads the epoch once, as the API does.
  auto request_on_a = [&node_a](ControlEpoch& epoch) {
    epoch = node_a.ReadEpoch();
    return RequestContext(nullptr, nullptr, &epoch);
  };
  ControlEpoch epoch;
  ASSERT_TRUE(
      ids_a.Authenticate(request_on_a(epoch), issued->api_key).has_value());
  {
    auto request = request_on_a(epoch);
    int before = node_a_backend.gets;
    ASSERT_TRUE(ids_a.Authenticate(request, issued->api_key).has_value());
    EXPECT_EQ(node_a_backend.gets, before) << "expected a cache hit";
  }
  // Node B deactivates the key; node A's very next request refuses it.
  ASSERT_TRUE(
      ids_b.Deactivate(vault::RequestContext(), issued->identity.id, "").ok());
  {
    auto r = ids_a.Authenticate(request_on_a(epoch), issued->api_key);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kUnauthenticated);
  }
}

TEST(ControlStoreTest, NoCachingOutsideAScopeOrAfterOwnWrite) {
  VaultHarness h;
  CountingBackend counting(h.control_backend);
  ControlStore store(&counting, h.keyring.get());
  storage::WriteBatch batch;
  store.Put(batch, "tenant/acme", boost::json::object{{"v", 1}});
  ASSERT_TRUE(store.Write(RequestContext(), batch).ok());

  int before = counting.gets;
  ASSERT_TRUE(store.Get(vault::RequestContext(), "tenant/acme").has_value());
  ASSERT_TRUE(store.Get(vault::RequestContext(), "tenant/acme").has_value());
  EXPECT_EQ(counting.gets, before + 2);

  ControlEpoch epoch = store.ReadEpoch();
  const RequestContext request(nullptr, nullptr, &epoch);
  ASSERT_TRUE(store.Get(request, "tenant/acme").has_value());
  storage::WriteBatch update;
  store.Put(update, "tenant/acme", boost::json::object{{"v", 2}});
  ASSERT_TRUE(store.Write(request, update).ok());
  // The same request reads its own write, not the cached copy.
  auto doc = store.Get(request, "tenant/acme");
  ASSERT_TRUE(doc.has_value() && doc->has_value());
  EXPECT_EQ((**doc).at("v").as_int64(), 2);
  // Documents that change per record are never cached.
  storage::WriteBatch placement;
  store.Put(placement, "principal/acme/abc",
            boost::json::object{{"region", "eu"}});
  EXPECT_EQ(placement.ops().size(), 1u) << "no epoch bump for uncached keys";
}

}  // namespace
}  // namespace piivault::vault
