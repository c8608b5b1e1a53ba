// The principal's key entry and the consent state sealed in it: every form
// round-trips, an entry without consents stays the bare wrapped key, and the
// consent state opens only for its own tenant and principal.
#include "vault/principal_key_state.h"

#include <gtest/gtest.h>

#include "crypto/keyring.h"
#include "vault/consent_state.h"

namespace piivault::vault {
namespace {

using Phase = PrincipalKeyState::Phase;

PrincipalKeyState RoundTrip(const PrincipalKeyState& in) {
  auto out = PrincipalKeyState::Decode(in.Encode());
  EXPECT_TRUE(out.has_value()) << out.error().ToString();
  return out.value_or(PrincipalKeyState{});
}

void ExpectSame(const PrincipalKeyState& a, const PrincipalKeyState& b) {
  EXPECT_EQ(a.phase, b.phase);
  EXPECT_EQ(a.peer_region, b.peer_region);
  EXPECT_EQ(a.wrapped, b.wrapped);
  EXPECT_EQ(a.consents, b.consents);
}

TEST(PrincipalKeyStateTest, EveryFormRoundTrips) {
  const std::string wrapped = std::string(1, '\x01') + std::string(64, 'w');
  PrincipalKeyState active;
  active.wrapped = wrapped;
  EXPECT_EQ(active.Encode(), wrapped);  // the bare wrapped key
  ExpectSame(RoundTrip(active), active);

  active.consents = "sealed-consents";
  EXPECT_NE(active.Encode(), wrapped);
  ExpectSame(RoundTrip(active), active);

  for (Phase phase : {Phase::kOutgoing, Phase::kIncoming}) {
    for (std::string consents : {"", "sealed-consents"}) {
      PrincipalKeyState moving;
      moving.phase = phase;
      moving.peer_region = "us";
      moving.wrapped = wrapped;
      moving.consents = consents;
      ExpectSame(RoundTrip(moving), moving);
    }
  }
}

TEST(PrincipalKeyStateTest, MalformedEntriesAreDataLoss) {
  PrincipalKeyState moving;
  moving.phase = Phase::kOutgoing;
  moving.peer_region = "us";
  moving.wrapped = "w";
  moving.consents = "c";
  std::string good = moving.Encode();
  for (std::string bad :
       {std::string(), good.substr(0, good.size() - 1), good + "x",
        std::string("\xFD\x05w", 3), std::string("\xFE\x07\x00", 3)})
    EXPECT_EQ(PrincipalKeyState::Decode(bad).error().code(),
              StatusCode::kDataLoss);
}

TEST(ConsentStateTest, SealsAndOpensOnlyForItsPrincipal) {
  const crypto::SecretBytes key = crypto::Keyring::NewPrincipalKey();
  ConsentState state;
  state.events = 3;
  state.current = {{"marketing", true}, {"advertising", false}};
  std::string sealed = state.Seal(key, "acme", "pseudo-1");
  EXPECT_EQ(sealed.find("marketing"), std::string::npos);

  auto opened = ConsentState::Open(key, "acme", "pseudo-1", sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->events, 3u);
  EXPECT_EQ(opened->current, state.current);
  EXPECT_TRUE(opened->Allows("marketing"));
  EXPECT_FALSE(opened->Allows("advertising"));
  EXPECT_FALSE(opened->Allows("analytics"));

  // Moved to another principal or tenant, or under another key: refused.
  EXPECT_EQ(ConsentState::Open(key, "acme", "pseudo-2", sealed).error().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(ConsentState::Open(key, "other", "pseudo-1", sealed).error().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(ConsentState::Open(crypto::Keyring::NewPrincipalKey(), "acme",
                               "pseudo-1", sealed)
                .error()
                .code(),
            StatusCode::kDataLoss);
  // Nothing sealed yet: no consents.
  auto empty = ConsentState::Open(key, "acme", "pseudo-1", "");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->events, 0u);
  EXPECT_TRUE(empty->current.empty());
}

}  // namespace
}  // namespace piivault::vault
