// The principal directory on its own: placing a principal (once, where the
// stored tenant allows it, counted and noted for audit), where it lives, and
// its pseudonym.
#include "vault/principal_directory.h"

#include <gtest/gtest.h>

#include "vault/storage_keys.h"
#include "vault_fixture.h"

namespace piivault::vault {
namespace {

using testing::VaultHarness;

class PrincipalDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenant = h.CreateAcme();
    ASSERT_EQ(tenant.id, "acme");
  }

  std::string PseudonymOf(std::string_view principal) {
    auto p = directory.Pseudonym(tenant, principal);
    EXPECT_TRUE(p.has_value()) << p.error().ToString();
    return p.value_or("");
  }

  // Principals counted into each region of the tenant as stored.
  std::map<std::string, int64_t> Placed() {
    auto current = h.vault->tenants.Get(vault::RequestContext(), "acme");
    EXPECT_TRUE(current.has_value());
    auto locations = h.vault->tenants.Locations(current.value_or(tenant));
    EXPECT_TRUE(locations.has_value()) << locations.error().ToString();
    std::map<std::string, int64_t> out;
    for (auto& l : locations.value_or(std::vector<RegionLocation>{}))
      out[l.region.id] = l.principals;
    return out;
  }

  VaultHarness h;
  PrincipalDirectory directory{h.router.get(), &h.vault->control, &h.clock};
  Tenant tenant;
};

TEST_F(PrincipalDirectoryTest, ThePseudonymIsStableAndNamesNoId) {
  std::string p = PseudonymOf("alice@example.org");
  EXPECT_EQ(PseudonymOf("alice@example.org"), p);
  EXPECT_NE(PseudonymOf("bob@example.org"), p);
  EXPECT_EQ(p.size(), 64u);  // hex of an HMAC-SHA-256
  EXPECT_EQ(p.find("alice"), std::string::npos);
}

TEST_F(PrincipalDirectoryTest, PlacingTwiceGivesTheSameRegion) {
  std::string p = PseudonymOf("p1");
  auto before = directory.HomeOf(vault::RequestContext(), tenant, p);
  ASSERT_TRUE(before.has_value());
  EXPECT_FALSE(before->has_value());  // never placed

  auto first = directory.Place(vault::RequestContext(), tenant, p, "us");
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(*first, "us");
  // Again without a region, and naming the same one: where it lives.
  EXPECT_EQ(
      directory.Place(vault::RequestContext(), tenant, p, std::nullopt).value(),
      "us");
  EXPECT_EQ(directory.Place(vault::RequestContext(), tenant, p, "us").value(),
            "us");
  // Another region is a conflict, not a second home.
  auto elsewhere = directory.Place(vault::RequestContext(), tenant, p, "eu");
  ASSERT_FALSE(elsewhere.has_value());
  EXPECT_EQ(elsewhere.error().code(), StatusCode::kAborted);
  EXPECT_EQ(elsewhere.error().reason(), "conflict");

  auto home = directory.HomeOf(vault::RequestContext(), tenant, p);
  ASSERT_TRUE(home.has_value() && home->has_value());
  EXPECT_EQ((*home)->region, "us");
  EXPECT_FALSE((*home)->erasing);
  EXPECT_EQ(Placed(), (std::map<std::string, int64_t>{{"eu", 0}, {"us", 1}}));
}

TEST_F(PrincipalDirectoryTest, WithoutARegionTheTenantsDefaultIsUsed) {
  std::string p = PseudonymOf("p1");
  EXPECT_EQ(
      directory.Place(vault::RequestContext(), tenant, p, std::nullopt).value(),
      "eu");
  EXPECT_EQ(Placed(), (std::map<std::string, int64_t>{{"eu", 1}, {"us", 0}}));
}

// The stored tenant decides, not the caller's copy: a region closed since is
// refused, and nothing is placed or counted.
TEST_F(PrincipalDirectoryTest, ARegionNotAllowedIsRefused) {
  TenantPatch only_eu;
  only_eu.regions = std::vector<std::string>{"eu"};
  ASSERT_TRUE(
      h.vault->tenants.Update(vault::RequestContext(), "acme", only_eu));
  std::string p = PseudonymOf("p1");
  for (std::string region : {"us", "mars"}) {
    auto placed = directory.Place(vault::RequestContext(), tenant, p, region);
    ASSERT_FALSE(placed.has_value()) << region;
    EXPECT_EQ(placed.error().reason(), "region_not_allowed") << region;
  }
  auto home = directory.HomeOf(vault::RequestContext(), tenant, p);
  ASSERT_TRUE(home.has_value());
  EXPECT_FALSE(home->has_value());
  EXPECT_EQ(Placed(), (std::map<std::string, int64_t>{{"eu", 0}}));
}

// Nothing is placed where it could not be written next.
TEST_F(PrincipalDirectoryTest, AnUnreachableRegionPlacesNothing) {
  h.faults.down.insert(h.us_store);
  std::string p = PseudonymOf("p1");
  auto placed = directory.Place(vault::RequestContext(), tenant, p, "us");
  ASSERT_FALSE(placed.has_value());
  EXPECT_EQ(placed.error().code(), StatusCode::kUnavailable);
  h.faults.down.clear();
  auto home = directory.HomeOf(vault::RequestContext(), tenant, p);
  ASSERT_TRUE(home.has_value());
  EXPECT_FALSE(home->has_value());
}

TEST_F(PrincipalDirectoryTest, APrincipalBeingErasedIsNotPlacedAgain) {
  std::string p = PseudonymOf("p1");
  storage::WriteBatch batch;
  h.vault->control.Put(batch, keys::PrincipalDirectory("acme", p),
                       ToJson(Placement{"eu", h.clock.Now(), true}));
  ASSERT_TRUE(h.vault->control.Write(vault::RequestContext(), batch).ok());
  auto placed =
      directory.Place(vault::RequestContext(), tenant, p, std::nullopt);
  ASSERT_FALSE(placed.has_value());
  EXPECT_EQ(placed.error().code(), StatusCode::kAborted);
  EXPECT_EQ(placed.error().message(), BeingErased().message());
}

TEST_F(PrincipalDirectoryTest, PlacingIsNotedForTheAuditEvent) {
  audit::Event event;
  vault::RequestContext context(&event, nullptr, nullptr);
  std::string p = PseudonymOf("p1");
  ASSERT_TRUE(directory.Place(context, tenant, p, "us").has_value());
  EXPECT_EQ(event.principal_pseudonyms, std::vector<std::string>{p});
  EXPECT_EQ(event.region, "us");
  EXPECT_TRUE(event.records.empty());
}

}  // namespace
}  // namespace piivault::vault
