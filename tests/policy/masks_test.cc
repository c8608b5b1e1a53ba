#include "policy/masks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vault/field_types.h"

namespace piivault::policy {
namespace {

using vault::FieldType;
using vault::FieldTypeName;
using vault::FieldValue;

constexpr FieldType kAllTypes[] = {
    FieldType::kString,     FieldType::kName,    FieldType::kEmail,
    FieldType::kPhone,      FieldType::kDate,    FieldType::kSsn,
    FieldType::kCreditCard, FieldType::kIban,    FieldType::kIpAddress,
    FieldType::kInteger,    FieldType::kBoolean,
};

TEST(MaskFieldValue, Email) {
  EXPECT_EQ(MaskFieldValue(FieldType::kEmail, "jane.doe@example.com"),
            "j***@example.com");
  EXPECT_EQ(MaskFieldValue(FieldType::kEmail, "Jane.Doe@mail.example.co.uk"),
            "J***@mail.example.co.uk");
  // A one-character local part still gets the "***".
  EXPECT_EQ(MaskFieldValue(FieldType::kEmail, "x@example.org"),
            "x***@example.org");
  // UTF-8 local part (RFC 6531): the whole first code point.
  EXPECT_EQ(MaskFieldValue(FieldType::kEmail, "\xC3\xA9va@example.com"),
            "\xC3\xA9***@example.com");
}

TEST(MaskFieldValue, Phone) {
  EXPECT_EQ(MaskFieldValue(FieldType::kPhone, "+15551234567"), "+*******4567");
  EXPECT_EQ(MaskFieldValue(FieldType::kPhone, "+4915112345678"),
            "+*********5678");
  EXPECT_EQ(MaskFieldValue(FieldType::kPhone, "+12345"), "+*2345");
}

TEST(MaskFieldValue, Ssn) {
  EXPECT_EQ(MaskFieldValue(FieldType::kSsn, "219-09-9999"), "***-**-9999");
  EXPECT_EQ(MaskFieldValue(FieldType::kSsn, "078-05-1120"), "***-**-1120");
}

TEST(MaskFieldValue, CreditCard) {
  EXPECT_EQ(MaskFieldValue(FieldType::kCreditCard, "4242424242424242"),
            "************4242");
  EXPECT_EQ(MaskFieldValue(FieldType::kCreditCard, "378282246310005"),
            "***********0005");
  EXPECT_EQ(MaskFieldValue(FieldType::kCreditCard, "12345"), "*2345");
}

TEST(MaskFieldValue, Iban) {
  EXPECT_EQ(MaskFieldValue(FieldType::kIban, "DE89370400440532013000"),
            "DE****************3000");
  EXPECT_EQ(MaskFieldValue(FieldType::kIban, "GB82WEST12345698765432"),
            "GB****************5432");
  EXPECT_EQ(MaskFieldValue(FieldType::kIban, "NO9386011117947"),
            "NO*********7947");
  EXPECT_EQ(MaskFieldValue(FieldType::kIban, "DE12345"), "DE*2345");
}

TEST(MaskFieldValue, Name) {
  EXPECT_EQ(MaskFieldValue(FieldType::kName, "Anna Maria Muller"), "A***");
  EXPECT_EQ(MaskFieldValue(FieldType::kName, "A"), "A***");
  EXPECT_EQ(MaskFieldValue(FieldType::kName, "o'Brien"), "o***");
}

TEST(MaskFieldValue, NameKeepsWholeMultiByteCharacter) {
  // U+00C9 (2 bytes).
  EXPECT_EQ(MaskFieldValue(FieldType::kName, "\xC3\x89lodie"), "\xC3\x89***");
  EXPECT_EQ(MaskFieldValue(FieldType::kName, "Élodie"), "É***");
  // U+00D6 followed by more non-ASCII.
  EXPECT_EQ(MaskFieldValue(FieldType::kName, "Ömer Çelik"), "Ö***");
  // U+5C71 (3 bytes).
  EXPECT_EQ(MaskFieldValue(FieldType::kName, "山田 太郎"), "山***");
  // U+1D49C MATHEMATICAL SCRIPT CAPITAL A (4 bytes).
  EXPECT_EQ(MaskFieldValue(FieldType::kName,
                           "\xF0\x9D\x92\x9C"
                           "lice"),
            "\xF0\x9D\x92\x9C***");
  // Decomposed "E" + U+0301: names are not NFC-normalized, the first code
  // point is the base letter.
  EXPECT_EQ(MaskFieldValue(FieldType::kName, "E\xCC\x81lodie"), "E***");
}

TEST(MaskFieldValue, Date) {
  EXPECT_EQ(MaskFieldValue(FieldType::kDate, "1987-04-12"), "1987");
  EXPECT_EQ(MaskFieldValue(FieldType::kDate, "0001-01-01"), "0001");
}

TEST(MaskFieldValue, IpAddress) {
  EXPECT_EQ(MaskFieldValue(FieldType::kIpAddress, "192.168.1.20"), "192.*.*.*");
  EXPECT_EQ(MaskFieldValue(FieldType::kIpAddress, "8.8.8.8"), "8.*.*.*");
  EXPECT_EQ(MaskFieldValue(FieldType::kIpAddress, "0.0.0.0"), "0.*.*.*");
  EXPECT_EQ(MaskFieldValue(FieldType::kIpAddress, "2001:db8::1"), "2001:*");
  EXPECT_EQ(MaskFieldValue(FieldType::kIpAddress, "fe80::1:2"), "fe80:*");
  EXPECT_EQ(MaskFieldValue(FieldType::kIpAddress, "1:2:3:4:5:6:7:8"), "1:*");
  // A leading run of zero groups is written "::": the first group is 0.
  EXPECT_EQ(MaskFieldValue(FieldType::kIpAddress, "::1"), "0:*");
  EXPECT_EQ(MaskFieldValue(FieldType::kIpAddress, "::"), "0:*");
  // IPv4-mapped: the IPv4 part stays hidden.
  EXPECT_EQ(MaskFieldValue(FieldType::kIpAddress, "::ffff:192.168.1.20"),
            "0:*");
}

TEST(MaskFieldValue, OpaqueTypesAreFullyMasked) {
  EXPECT_EQ(MaskFieldValue(FieldType::kString, "hello world"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kString, "x"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kString, ""), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kInteger, "1234567890"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kInteger, "-42"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kBoolean, "true"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kBoolean, "false"), "***");
}

TEST(MaskFieldValue, UnknownTypeIsFullyMasked) {
  EXPECT_EQ(MaskFieldValue(static_cast<FieldType>(999), "jane@example.com"),
            "***");
}

TEST(MaskFieldValue, TooShortValuesAreFullyMasked) {
  // Phone: fewer than 5 digits.
  EXPECT_EQ(MaskFieldValue(FieldType::kPhone, "+1234"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kPhone, "+1"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kPhone, "+"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kPhone, ""), "***");
  // Card: fewer than 5 digits.
  EXPECT_EQ(MaskFieldValue(FieldType::kCreditCard, "4242"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kCreditCard, "1"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kCreditCard, ""), "***");
  // IBAN: shorter than 7 characters.
  EXPECT_EQ(MaskFieldValue(FieldType::kIban, "DE1234"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kIban, "DE"), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kIban, ""), "***");
  // Empty values of every type.
  EXPECT_EQ(MaskFieldValue(FieldType::kName, ""), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kEmail, ""), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kSsn, ""), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kDate, ""), "***");
  EXPECT_EQ(MaskFieldValue(FieldType::kIpAddress, ""), "***");
}

TEST(MaskFieldValue, MalformedValuesAreFullyMasked) {
  struct Case {
    FieldType type;
    std::string_view value;
  };
  const std::vector<Case> cases = {
      // E-mail: no '@', two '@', empty local part, non-canonical domain.
      {FieldType::kEmail, "jane.doe.example.com"},
      {FieldType::kEmail, "jane@doe@example.com"},
      {FieldType::kEmail, "@example.com"},
      {FieldType::kEmail, "jane@"},
      {FieldType::kEmail, "jane@localhost"},
      {FieldType::kEmail, "jane@Example.com"},
      {FieldType::kEmail, "jane@example..com"},
      {FieldType::kEmail, "jane@.example.com"},
      {FieldType::kEmail, "ja ne@example.com"},
      {FieldType::kEmail, " jane@example.com"},
      {FieldType::kEmail, "\xC3@example.com"},  // truncated UTF-8
      // Phone: not "+<digits>".
      {FieldType::kPhone, "15551234567"},
      {FieldType::kPhone, "004915112345678"},
      {FieldType::kPhone, "+1 555 123 4567"},
      {FieldType::kPhone, "+1555123456x"},
      {FieldType::kPhone, "++15551234567"},
      // SSN: not "AAA-GG-SSSS".
      {FieldType::kSsn, "219099999"},
      {FieldType::kSsn, "219-09-999"},
      {FieldType::kSsn, "219-09-99999"},
      {FieldType::kSsn, "219 09 9999"},
      {FieldType::kSsn, "2l9-09-9999"},
      {FieldType::kSsn, "219-0-99999"},
      // Card: not digits only.
      {FieldType::kCreditCard, "4242 4242 4242 4242"},
      {FieldType::kCreditCard, "4242-4242-4242-4242"},
      {FieldType::kCreditCard, "424242424242424x"},
      // IBAN: lowercase, spaces, no letter country code, punctuation.
      {FieldType::kIban, "de89370400440532013000"},
      {FieldType::kIban, "DE89 3704 0044 0532 0130 00"},
      {FieldType::kIban, "1289370400440532013000"},
      {FieldType::kIban, "D189370400440532013000"},
      {FieldType::kIban, "DE89370400440532013-00"},
      // Name: surrounding/leading whitespace, control characters, bad UTF-8.
      {FieldType::kName, " Anna"},
      {FieldType::kName, "Anna "},
      {FieldType::kName, "\tAnna"},
      {FieldType::kName, "An\nna"},
      {FieldType::kName, "\xC3"},              // truncated sequence
      {FieldType::kName, "\xC3lodie"},         // lead byte without continuation
      {FieldType::kName, "\x89lodie"},         // lone continuation byte
      {FieldType::kName, "\xC0\x81lodie"},     // overlong
      {FieldType::kName, "\xED\xA0\x80xyz"},   // surrogate
      {FieldType::kName, "\xF4\x90\x80\x80"},  // above U+10FFFF
      {FieldType::kName, "Anna\xFF"},          // invalid later in the value
      // Date: not "YYYY-MM-DD".
      {FieldType::kDate, "12.04.1987"},
      {FieldType::kDate, "1987-4-12"},
      {FieldType::kDate, "1987/04/12"},
      {FieldType::kDate, "19870412"},
      {FieldType::kDate, "1987-04-12T00:00:00"},
      {FieldType::kDate, "abcd-04-12"},
      // IP address: leading zeros, out of range, wrong group count,
      // uppercase, zone ids, brackets, garbage.
      {FieldType::kIpAddress, "192.168.01.20"},
      {FieldType::kIpAddress, "192.168.1.256"},
      {FieldType::kIpAddress, "192.168.1"},
      {FieldType::kIpAddress, "192.168.1.20.5"},
      {FieldType::kIpAddress, "192.168..20"},
      {FieldType::kIpAddress, "192.168.1.20."},
      {FieldType::kIpAddress, "1921.68.1.20"},
      {FieldType::kIpAddress, "hello"},
      {FieldType::kIpAddress, "2001:DB8::1"},
      {FieldType::kIpAddress, "02001:db8::1"},
      {FieldType::kIpAddress, "0db8:1::1"},
      {FieldType::kIpAddress, "2001:db8::1::2"},
      {FieldType::kIpAddress, "2001:db8:1"},
      {FieldType::kIpAddress, "fe80::1%eth0"},
      {FieldType::kIpAddress, "[2001:db8::1]"},
      {FieldType::kIpAddress, "::ffff:192.168.01.20"},
      {FieldType::kIpAddress, ":"},
      {FieldType::kIpAddress, "2001:db8:zz::1"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MaskFieldValue(c.type, c.value), "***")
        << FieldTypeName(c.type) << " \"" << c.value << "\"";
  }
}

// Realistic raw inputs, normalized by NormalizeFieldValue so the masked
// values are genuinely canonical.
struct Sample {
  FieldType type;
  FieldValue raw;
};

std::vector<Sample> RealisticSamples() {
  return {
      {FieldType::kEmail, std::string(" Jane.Doe@Example.COM ")},
      {FieldType::kEmail, std::string("bob+newsletter@mail.example.org")},
      {FieldType::kEmail, std::string("\xC3\xA9lodie@exemple.fr")},
      {FieldType::kPhone, std::string("+49 (0)151 1234 5678")},
      {FieldType::kPhone, std::string("+1 (212) 555-0142")},
      {FieldType::kPhone, std::string("0044 20 7946 0958")},
      {FieldType::kSsn, std::string("219-09-9999")},
      {FieldType::kSsn, std::string("078051120")},
      {FieldType::kCreditCard, std::string("4242 4242 4242 4242")},
      {FieldType::kCreditCard, std::string("3782-822463-10005")},
      {FieldType::kCreditCard, std::string("5555555555554444")},
      {FieldType::kIban, std::string("de89 3704 0044 0532 0130 00")},
      {FieldType::kIban, std::string("GB82 WEST 1234 5698 7654 32")},
      {FieldType::kIban, std::string("NO9386011117947")},
      {FieldType::kName, std::string("  Anna   Maria Muller ")},
      {FieldType::kName, std::string("\xC3\x89lodie Durand")},
      {FieldType::kName, std::string("\xE5\xB1\xB1\xE7\x94\xB0 "
                                     "\xE5\xA4\xAA\xE9\x83\x8E")},
      {FieldType::kDate, std::string("1987-04-12")},
      {FieldType::kDate, std::string(" 2000-02-29 ")},
      {FieldType::kIpAddress, std::string("192.168.1.20")},
      {FieldType::kIpAddress, std::string("203.0.113.254")},
      {FieldType::kIpAddress,
       std::string("2001:0DB8:0000:0000:0000:0000:0000:0001")},
      {FieldType::kIpAddress, std::string("::FFFF:10.20.30.40")},
      {FieldType::kIpAddress, std::string("fe80:0:0:0:abcd:0:0:1")},
      {FieldType::kString, std::string("Allergic to penicillin")},
      {FieldType::kInteger, std::int64_t{1234567890123}},
      {FieldType::kInteger, std::int64_t{-98765432}},
  };
}

TEST(MaskFieldValue, NeverContainsTheWholeCanonicalValue) {
  for (const Sample& sample : RealisticSamples()) {
    Result<std::string> canonical =
        NormalizeFieldValue(sample.type, sample.raw);
    ASSERT_TRUE(canonical.has_value())
        << FieldTypeName(sample.type) << ": " << canonical.error().ToString();
    ASSERT_GE(canonical->size(), 8u)
        << FieldTypeName(sample.type) << " \"" << *canonical << "\"";
    const std::string masked = MaskFieldValue(sample.type, *canonical);
    EXPECT_EQ(masked.find(*canonical), std::string::npos)
        << FieldTypeName(sample.type) << " \"" << *canonical << "\" -> \""
        << masked << "\"";
    // Fewer characters of the value are shown than it has.
    const auto stars =
        static_cast<std::size_t>(std::count(masked.begin(), masked.end(), '*'));
    EXPECT_LT(masked.size() - stars, canonical->size())
        << FieldTypeName(sample.type) << " \"" << *canonical << "\" -> \""
        << masked << "\"";
  }
}

// The shape checks must accept everything NormalizeFieldValue produces:
// a canonical value of a type with a partial mask never falls back to "***".
TEST(MaskFieldValue, CanonicalValuesGetTheirPartialMask) {
  for (const Sample& sample : RealisticSamples()) {
    Result<std::string> canonical =
        NormalizeFieldValue(sample.type, sample.raw);
    ASSERT_TRUE(canonical.has_value())
        << FieldTypeName(sample.type) << ": " << canonical.error().ToString();
    const std::string masked = MaskFieldValue(sample.type, *canonical);
    const bool opaque = sample.type == FieldType::kString ||
                        sample.type == FieldType::kInteger ||
                        sample.type == FieldType::kBoolean;
    if (opaque) {
      EXPECT_EQ(masked, "***") << FieldTypeName(sample.type);
    } else {
      EXPECT_NE(masked, "***")
          << FieldTypeName(sample.type) << " \"" << *canonical << "\"";
    }
  }
}

TEST(MaskFieldValue, NormalizedSamplesMaskExactly) {
  struct Case {
    FieldType type;
    FieldValue raw;
    std::string_view masked;
  };
  const std::vector<Case> cases = {
      {FieldType::kEmail, std::string(" Jane.Doe@Example.COM "),
       "J***@example.com"},
      {FieldType::kPhone, std::string("+49 (0)151 1234 5678"),
       "+*********5678"},
      {FieldType::kPhone, std::string("+1 (212) 555-0142"), "+*******0142"},
      {FieldType::kSsn, std::string("219099999"), "***-**-9999"},
      {FieldType::kCreditCard, std::string("4242 4242 4242 4242"),
       "************4242"},
      {FieldType::kIban, std::string("de89 3704 0044 0532 0130 00"),
       "DE****************3000"},
      {FieldType::kName, std::string("  Anna   Maria Muller "), "A***"},
      {FieldType::kName, std::string(" \xC3\x89lodie "), "\xC3\x89***"},
      {FieldType::kDate, std::string(" 1987-04-12 "), "1987"},
      {FieldType::kIpAddress, std::string("192.168.1.20"), "192.*.*.*"},
      {FieldType::kIpAddress,
       std::string("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:*"},
      {FieldType::kIpAddress, std::string("::FFFF:10.20.30.40"), "0:*"},
      {FieldType::kInteger, std::int64_t{1234567890123}, "***"},
      {FieldType::kBoolean, true, "***"},
      {FieldType::kString, std::string("Allergic to penicillin"), "***"},
  };
  for (const Case& c : cases) {
    Result<std::string> canonical = NormalizeFieldValue(c.type, c.raw);
    ASSERT_TRUE(canonical.has_value())
        << FieldTypeName(c.type) << ": " << canonical.error().ToString();
    EXPECT_EQ(MaskFieldValue(c.type, *canonical), c.masked)
        << FieldTypeName(c.type) << " \"" << *canonical << "\"";
  }
}

// Whatever text is passed, no type's mask echoes it whole.
TEST(MaskFieldValue, ArbitraryTextIsNeverEchoed) {
  const std::vector<std::string> values = {
      "not a canonical value at all", "DROP TABLE records;",
      "\xFF\xFE\xFD garbage bytes", std::string("nul\0byte inside", 16)};
  for (FieldType type : kAllTypes) {
    for (const std::string& value : values) {
      const std::string masked = MaskFieldValue(type, value);
      EXPECT_EQ(masked.find(value), std::string::npos)
          << FieldTypeName(type) << " -> \"" << masked << "\"";
    }
  }
}

}  // namespace
}  // namespace piivault::policy
