// For the tests of the registers that reach tenants by region: a vault with
// "acme" (regions eu and us), "euco" (eu only) and "usco" (us only).
#pragma once

#include <gtest/gtest.h>

#include "vault_fixture.h"

namespace piivault::vault::testing {

class RegionalTenantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h.CreateAcme();
    for (auto [id, region] : {std::pair{"euco", "eu"}, {"usco", "us"}})
      ASSERT_TRUE(
          h.vault->tenants.Create(RequestContext(), id, id, {region}, region)
              .has_value());
  }

  VaultHarness h;
};

}  // namespace piivault::vault::testing
