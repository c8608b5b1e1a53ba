#include "vault/field_types.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace piivault::vault {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

std::string Describe(const FieldValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return "\"" + *s + "\"";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return std::get<bool>(v) ? "true" : "false";
}

// Expects `value` to be accepted as `type` with canonical form `expected`.
AssertionResult Normalizes(FieldType type, const FieldValue& value,
                           std::string_view expected) {
  Result<std::string> r = NormalizeFieldValue(type, value);
  if (!r.has_value()) {
    return AssertionFailure()
           << FieldTypeName(type) << " rejected " << Describe(value) << ": "
           << r.error().ToString();
  }
  if (*r != expected) {
    return AssertionFailure()
           << FieldTypeName(type) << " normalized " << Describe(value)
           << " to \"" << *r << "\", expected \"" << expected << "\"";
  }
  return AssertionSuccess();
}

AssertionResult Accepts(FieldType type, const std::string& value) {
  return Normalizes(type, value, value);
}

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Expects `value` to be rejected as a validation failure whose message
// contains `message_part` and does not echo the value.
AssertionResult Rejects(FieldType type, const FieldValue& value,
                        std::string_view message_part = {}) {
  Result<std::string> r = NormalizeFieldValue(type, value);
  if (r.has_value()) {
    return AssertionFailure() << FieldTypeName(type) << " accepted "
                              << Describe(value) << " as \"" << *r << "\"";
  }
  const Status& s = r.error();
  if (s.code() != StatusCode::kInvalidArgument ||
      s.reason() != "validation_failed" || !s.field().empty()) {
    return AssertionFailure() << "wrong status for " << Describe(value) << ": "
                              << s.ToString() << " field=" << s.field();
  }
  if (!message_part.empty() &&
      s.message().find(message_part) == std::string::npos) {
    return AssertionFailure()
           << "message for " << Describe(value) << " is \"" << s.message()
           << "\", expected it to contain \"" << message_part << "\"";
  }
  if (const auto* text = std::get_if<std::string>(&value)) {
    const std::string_view trimmed = TrimAscii(*text);
    if (trimmed.size() >= 4 &&
        s.ToString().find(trimmed) != std::string::npos) {
      return AssertionFailure() << "message echoes the value: " << s.ToString();
    }
  }
  return AssertionSuccess();
}

std::string Luhnify(std::string body) {
  // Appends the check digit that makes `body` + digit pass the Luhn check.
  int sum = 0;
  bool twice = true;
  for (auto it = body.rbegin(); it != body.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  body.push_back(static_cast<char>('0' + (10 - sum % 10) % 10));
  return body;
}

constexpr FieldType kAllTypes[] = {
    FieldType::kString,     FieldType::kName,    FieldType::kEmail,
    FieldType::kPhone,      FieldType::kDate,    FieldType::kSsn,
    FieldType::kCreditCard, FieldType::kIban,    FieldType::kIpAddress,
    FieldType::kInteger,    FieldType::kBoolean,
};

constexpr FieldType kStringTypes[] = {
    FieldType::kString,     FieldType::kName, FieldType::kEmail,
    FieldType::kPhone,      FieldType::kDate, FieldType::kSsn,
    FieldType::kCreditCard, FieldType::kIban, FieldType::kIpAddress,
};

// --------------------------------------------------------------------------
// Type names

TEST(FieldTypeNames, RoundTripEveryType) {
  for (FieldType t : kAllTypes) {
    const std::string_view name = FieldTypeName(t);
    ASSERT_EQ(ParseFieldType(name), t) << name;
  }
}

TEST(FieldTypeNames, SchemaSpellings) {
  EXPECT_EQ(ParseFieldType("string"), FieldType::kString);
  EXPECT_EQ(ParseFieldType("name"), FieldType::kName);
  EXPECT_EQ(ParseFieldType("email"), FieldType::kEmail);
  EXPECT_EQ(ParseFieldType("phone"), FieldType::kPhone);
  EXPECT_EQ(ParseFieldType("date"), FieldType::kDate);
  EXPECT_EQ(ParseFieldType("ssn"), FieldType::kSsn);
  EXPECT_EQ(ParseFieldType("credit_card"), FieldType::kCreditCard);
  EXPECT_EQ(ParseFieldType("iban"), FieldType::kIban);
  EXPECT_EQ(ParseFieldType("ip_address"), FieldType::kIpAddress);
  EXPECT_EQ(ParseFieldType("integer"), FieldType::kInteger);
  EXPECT_EQ(ParseFieldType("boolean"), FieldType::kBoolean);
}

TEST(FieldTypeNames, UnknownNamesAreRejected) {
  for (std::string_view bad :
       {"", "String", "EMAIL", "int", "bool", "number", "credit-card",
        "creditcard", "ip", " email", "email ", "text"}) {
    EXPECT_EQ(ParseFieldType(bad), std::nullopt) << bad;
  }
}

// --------------------------------------------------------------------------
// JSON kinds

TEST(FieldKinds, StringTypesRejectNumbersAndBools) {
  for (FieldType t : kStringTypes) {
    EXPECT_TRUE(Rejects(t, std::int64_t{42}, "expected a string"));
    EXPECT_TRUE(Rejects(t, true, "expected a string"));
    EXPECT_TRUE(Rejects(t, false, "expected a string"));
  }
}

TEST(FieldKinds, IntegerRejectsStringsAndBools) {
  EXPECT_TRUE(
      Rejects(FieldType::kInteger, std::string("42"), "expected an integer"));
  EXPECT_TRUE(
      Rejects(FieldType::kInteger, std::string(""), "expected an integer"));
  EXPECT_TRUE(Rejects(FieldType::kInteger, true, "expected an integer"));
}

TEST(FieldKinds, BooleanRejectsStringsAndNumbers) {
  EXPECT_TRUE(
      Rejects(FieldType::kBoolean, std::string("true"), "expected a boolean"));
  EXPECT_TRUE(
      Rejects(FieldType::kBoolean, std::int64_t{1}, "expected a boolean"));
  EXPECT_TRUE(
      Rejects(FieldType::kBoolean, std::int64_t{0}, "expected a boolean"));
}

// --------------------------------------------------------------------------
// Shared text rules

TEST(TextRules, InvalidUtf8IsRejectedByEveryStringType) {
  const std::vector<std::string> bad = {
      "\xff",              // never valid
      "ab\x80",            // stray continuation byte
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong '/'
      "\xed\xa0\x80",      // UTF-16 surrogate
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\xe2\x82",          // truncated
      "caf\xc3",           // truncated at the end
      "\xc3\x28",          // bad continuation
  };
  for (FieldType t : kStringTypes) {
    for (const std::string& s : bad) {
      EXPECT_TRUE(Rejects(t, s, "not valid UTF-8")) << FieldTypeName(t);
    }
  }
}

TEST(TextRules, EmptyOrBlankRejectedExceptForString) {
  for (FieldType t : kStringTypes) {
    if (t == FieldType::kString) continue;
    EXPECT_TRUE(Rejects(t, std::string(""), "must not be empty"))
        << FieldTypeName(t);
    EXPECT_TRUE(Rejects(t, std::string(" \t\n "), "must not be empty"))
        << FieldTypeName(t);
    EXPECT_TRUE(Rejects(t, std::string("\xc2\xa0\xe3\x80\x80"),  // NBSP, U+3000
                        "must not be empty"))
        << FieldTypeName(t);
  }
  EXPECT_TRUE(Normalizes(FieldType::kString, std::string(""), ""));
  EXPECT_TRUE(Normalizes(FieldType::kString, std::string("   "), "   "));
}

TEST(TextRules, ControlCharactersRejectedInTrimmedTypes) {
  EXPECT_TRUE(Rejects(FieldType::kEmail, std::string("a\x01@example.com"),
                      "control character"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+49\t151 12345678"),
                      "control character"));
  EXPECT_TRUE(Rejects(FieldType::kIban,
                      std::string("DE89 3704\n0044 0532 0130 00"),
                      "control character"));
  EXPECT_TRUE(Rejects(FieldType::kDate, std::string("2024-01-0\x7f"),
                      "control character"));
  EXPECT_TRUE(Rejects(FieldType::kSsn, std::string("123-45-6789\xc2\x85x"),
                      "control character"));  // U+0085 NEL (C1)
  EXPECT_TRUE(Rejects(FieldType::kName, std::string("Ann\x1b[31m"),
                      "control character"));
  EXPECT_TRUE(
      Rejects(FieldType::kName, std::string("Ann\0a", 5), "control character"));
}

TEST(TextRules, SurroundingWhitespaceIsTrimmed) {
  EXPECT_TRUE(Normalizes(FieldType::kDate, std::string(" \t2024-03-01\r\n"),
                         "2024-03-01"));
  EXPECT_TRUE(Normalizes(FieldType::kSsn,
                         std::string("\xc2\xa0"
                                     "123-45-6789\xe2\x80\x83"),
                         "123-45-6789"));  // NBSP and EM SPACE
  EXPECT_TRUE(
      Normalizes(FieldType::kIpAddress, std::string(" 10.0.0.1 "), "10.0.0.1"));
}

TEST(TextRules, OverlongInputRejected) {
  EXPECT_TRUE(Rejects(FieldType::kEmail,
                      std::string(5000, ' ') + "a@example.com",
                      "longer than 4096 bytes"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string(5000, '1'),
                      "longer than 4096 bytes"));
}

// --------------------------------------------------------------------------
// string

TEST(StringType, StoredExactlyAsGiven) {
  EXPECT_TRUE(Accepts(FieldType::kString, "  Hello   World  "));
  EXPECT_TRUE(Accepts(FieldType::kString, "line 1\nline 2\r\n\tindented"));
  EXPECT_TRUE(Accepts(FieldType::kString,
                      "Gr\xc3\xbc\xc3\x9f"
                      "e \xe6\x97\xa5\xe6\x9c\xac "
                      "\xf0\x9f\x98\x80"));  // Grüße 日本 😀
  EXPECT_TRUE(Accepts(FieldType::kString, "x"));
}

TEST(StringType, NulAndControlCharactersRejected) {
  EXPECT_TRUE(Rejects(FieldType::kString, std::string("ab\0cd", 5), "NUL"));
  EXPECT_TRUE(Rejects(FieldType::kString, std::string("\0", 1), "NUL"));
  EXPECT_TRUE(Rejects(FieldType::kString, std::string("bell\x07"),
                      "control character"));
  EXPECT_TRUE(
      Rejects(FieldType::kString, std::string("esc\x1b"), "control character"));
  EXPECT_TRUE(
      Rejects(FieldType::kString, std::string("del\x7f"), "control character"));
  EXPECT_TRUE(Rejects(FieldType::kString, std::string("c1\xc2\x9b"),
                      "control character"));
}

TEST(StringType, LengthLimitIs4096Bytes) {
  EXPECT_TRUE(Accepts(FieldType::kString, std::string(kMaxTextBytes, 'x')));
  EXPECT_TRUE(Rejects(FieldType::kString, std::string(kMaxTextBytes + 1, 'x'),
                      "longer than 4096 bytes"));
  // The limit counts bytes, not characters: 2049 two-byte characters.
  std::string umlauts;
  for (int i = 0; i < 2049; ++i) umlauts += "\xc3\xa4";
  EXPECT_TRUE(Rejects(FieldType::kString, umlauts, "longer than 4096 bytes"));
}

TEST(StringType, SearchKeyIsExact) {
  EXPECT_EQ(SearchKey(FieldType::kString, "Hello  World "), "Hello  World ");
  EXPECT_NE(SearchKey(FieldType::kString, "ABC"),
            SearchKey(FieldType::kString, "abc"));
}

// --------------------------------------------------------------------------
// name

TEST(NameType, TrimsAndCollapsesWhitespaceKeepingCase) {
  EXPECT_TRUE(Normalizes(FieldType::kName,
                         std::string("  Anna   Maria\tM\xc3\xbcller \n"),
                         "Anna Maria M\xc3\xbcller"));
  EXPECT_TRUE(Normalizes(FieldType::kName,
                         std::string("Jean\xc2\xa0\xc2\xa0Luc"),  // NBSPs
                         "Jean Luc"));
  EXPECT_TRUE(
      Normalizes(FieldType::kName, std::string("McDONALD"), "McDONALD"));
}

TEST(NameType, AcceptsRealWorldNames) {
  for (const char* name : {"O'Brien-Smith", "Zo\xc3\xab", "\xc5\x81ukasz",
                           "\xe6\x9d\x8e\xe5\xb0\x8f\xe9\xbe\x8d",  // 李小龍
                           "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd",      // Иван
                           "Henry VIII", "J. R. R. Tolkien", "X"}) {
    EXPECT_TRUE(Accepts(FieldType::kName, name));
  }
}

TEST(NameType, RequiresALetter) {
  for (const char* bad : {"12345", "-", "...", "+1 (555)", "\xe2\x80\x94",
                          "\xf0\x9f\x98\x80\xf0\x9f\x98\x80"}) {  // —, 😀😀
    EXPECT_TRUE(Rejects(FieldType::kName, std::string(bad), "letter")) << bad;
  }
}

TEST(NameType, LengthLimitAppliesAfterCollapsing) {
  const std::string max(kMaxTextBytes, 'a');
  EXPECT_TRUE(Normalizes(FieldType::kName, "   " + max + "   ", max));
  EXPECT_TRUE(Rejects(FieldType::kName, max + "b", "longer than 4096 bytes"));
  std::string spaced = "a";
  for (int i = 0; i < 2047; ++i) spaced += "     a";  // collapses to 4095
  EXPECT_TRUE(Normalizes(FieldType::kName, spaced, [] {
    std::string s = "a";
    for (int i = 0; i < 2047; ++i) s += " a";
    return s;
  }()));
}

TEST(NameType, SearchKeyFoldsCaseAndSpace) {
  EXPECT_EQ(SearchKey(FieldType::kName, "Anna MÜLLER"), "anna müller");
  EXPECT_EQ(SearchKey(FieldType::kName, "  Anna \t MÜLLER "), "anna müller");
  EXPECT_EQ(SearchKey(FieldType::kName, "ÉLODIE ÇÀ"), "élodie çà");
  EXPECT_EQ(SearchKey(FieldType::kName, "ŁUKASZ ŻÓŁĆ"), "łukasz żółć");
  EXPECT_EQ(SearchKey(FieldType::kName, "ŠTĚPÁN ŇŮ"), "štěpán ňů");
  EXPECT_EQ(SearchKey(FieldType::kName, "İSTANBUL ŸVES"), "istanbul ÿves");
  EXPECT_EQ(SearchKey(FieldType::kName, "Straße"),
            SearchKey(FieldType::kName, "STRASSE"));
  EXPECT_EQ(SearchKey(FieldType::kName, "ИВАН ЁЛКИН"), "иван ёлкин");
  EXPECT_EQ(SearchKey(FieldType::kName, "ΣΩΚΡΆΤΗΣ"),
            SearchKey(FieldType::kName, "σωκράτης"));
  EXPECT_EQ(SearchKey(FieldType::kName, "李小龍"), "李小龍");
  EXPECT_NE(SearchKey(FieldType::kName, "Anna Muller"),
            SearchKey(FieldType::kName, "Anna Müller"));
}

TEST(NameType, EqualNamesGetEqualSearchKeysThroughNormalization) {
  const auto key = [](const std::string& raw) {
    Result<std::string> c = NormalizeFieldValue(FieldType::kName, raw);
    EXPECT_TRUE(c.has_value()) << raw;
    return SearchKey(FieldType::kName, c.value_or(""));
  };
  EXPECT_EQ(key(" jean-luc  PICARD"), key("Jean-Luc Picard\n"));
  EXPECT_NE(key("Jean Luc Picard"), key("Jean-Luc Picard"));
}

// --------------------------------------------------------------------------
// email

TEST(EmailType, LowercasesDomainKeepsLocalPart) {
  EXPECT_TRUE(Normalizes(FieldType::kEmail,
                         std::string("  Jane.Doe@Example.COM "),
                         "Jane.Doe@example.com"));
  EXPECT_TRUE(Normalizes(FieldType::kEmail,
                         std::string("User+Tag@Mail.Sub.Example.ORG"),
                         "User+Tag@mail.sub.example.org"));
}

TEST(EmailType, AcceptsValidAddresses) {
  for (const char* ok :
       {"a@b.co", "o'reilly@example.ie", "first.last@example.com",
        "x_y-z@ex-ample.co.uk", "!#$%&'*+-/=?^_`{|}~@example.com",
        "user@xn--bcher-kva.example", "jos\xc3\xa9@example.com",
        "user@123.example.com", "user@example.c0m"}) {
    EXPECT_TRUE(Accepts(FieldType::kEmail, ok)) << ok;
  }
}

TEST(EmailType, RejectsMalformedAddresses) {
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string("plainaddress"), "exactly one @"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, std::string("jane@@example.com"),
                      "exactly one @"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, std::string("a@b@example.com"),
                      "exactly one @"));
  EXPECT_TRUE(Rejects(FieldType::kEmail,
                      std::string("\"john doe\"@example.com"), "local part"));
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string("@example.com"), "local part"));
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string(".jane@example.com"), "dot"));
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string("jane.@example.com"), "dot"));
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string("ja..ne@example.com"), "dot"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, std::string("ja ne@example.com"),
                      "local part"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, std::string("jane(x)@example.com"),
                      "local part"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, std::string("jane@"), "domain"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, std::string("jane@localhost"),
                      "domain must contain a dot"));
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string("jane@-example.com"), "hyphen"));
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string("jane@example-.com"), "hyphen"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, std::string("jane@exa_mple.com"),
                      "only letters"));
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string("jane@example..com"), "1 to 63"));
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string("jane@.example.com"), "1 to 63"));
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string("jane@example.com."), "1 to 63"));
  EXPECT_TRUE(
      Rejects(FieldType::kEmail, std::string("jane@192.168.1.1"), "numeric"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, std::string("jane@[192.168.1.1]"),
                      "only letters"));
  EXPECT_TRUE(Rejects(FieldType::kEmail,
                      std::string("jane@b\xc3\xbc"
                                  "cher.example"),
                      "only letters"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, std::string("jane@exa mple.com"),
                      "only letters"));
}

TEST(EmailType, LengthLimits) {
  const std::string l64(64, 'l');
  EXPECT_TRUE(Accepts(FieldType::kEmail, l64 + "@example.com"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, l64 + "l@example.com", "1 to 64"));

  const std::string label63(63, 'd');
  EXPECT_TRUE(Accepts(FieldType::kEmail, "a@" + label63 + ".com"));
  EXPECT_TRUE(Rejects(FieldType::kEmail, "a@" + label63 + "d.com", "1 to 63"));

  // 64 + 1 + 189 = 254 bytes: the maximum.
  const std::string domain189 = std::string(63, 'a') + "." +
                                std::string(63, 'b') + "." +
                                std::string(57, 'c') + ".com";
  ASSERT_EQ(domain189.size(), 189u);
  EXPECT_TRUE(Accepts(FieldType::kEmail, l64 + "@" + domain189));
  EXPECT_TRUE(Rejects(FieldType::kEmail, l64 + "@x" + domain189,
                      "longer than 254 bytes"));

  // A 254-byte domain is too long even with a short local part.
  std::string long_domain;
  for (int i = 0; i < 4; ++i) long_domain += std::string(62, 'e') + ".";
  long_domain += "comx";  // 4 * 63 + 4 = 256
  EXPECT_TRUE(Rejects(FieldType::kEmail, "a@" + long_domain));
}

TEST(EmailType, SearchKeyLowercasesWholeAddress) {
  EXPECT_EQ(SearchKey(FieldType::kEmail, "Jane.Doe@example.com"),
            "jane.doe@example.com");
  const auto key = [](const std::string& raw) {
    return SearchKey(FieldType::kEmail,
                     NormalizeFieldValue(FieldType::kEmail, raw).value_or(""));
  };
  EXPECT_EQ(key("JANE.DOE@EXAMPLE.COM"), key("jane.doe@example.com"));
  EXPECT_NE(key("jane.doe@example.com"), key("janedoe@example.com"));
}

// --------------------------------------------------------------------------
// phone

TEST(PhoneType, NormalizesToE164) {
  const std::pair<const char*, const char*> cases[] = {
      {"+49 151 12345678", "+4915112345678"},
      {"+49 (0)151 1234-5678", "+4915112345678"},
      {"0049 151 1234 5678", "+4915112345678"},
      {"00 49 151.1234.5678", "+4915112345678"},
      {"+44 (0)20 7946 0958", "+442079460958"},
      {"+1 (415) 555-2671", "+14155552671"},
      {"+1.415.555.2671", "+14155552671"},
      {"+33 1 23 45 67 89", "+33123456789"},
      {"+39 06 6982 1234", "+390669821234"},  // Italian numbers keep the 0
      {"+7 912 345-67-89", "+79123456789"},
      {"+86 138 0013 8000", "+8613800138000"},
      {"+353 1 234 5678", "+35312345678"},
      {"+354 551 2345", "+3545512345"},
      {"+800 1234 5678", "+80012345678"},
      {"  +41 44 668 18 00  ", "+41446681800"},
  };
  for (const auto& [in, out] : cases) {
    EXPECT_TRUE(Normalizes(FieldType::kPhone, std::string(in), out));
  }
}

TEST(PhoneType, RequiresInternationalForm) {
  for (const char* bad : {"015112345678", "(415) 555-2671", "4915112345678",
                          "0 049 151 12345678", "+-49 151 12345678x"}) {
    EXPECT_TRUE(Rejects(FieldType::kPhone, std::string(bad))) << bad;
  }
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("015112345678"),
                      "international form"));
}

TEST(PhoneType, RejectsBadCharactersAndParentheses) {
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+49 151 CALL-ME"),
                      "only digits"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+49 151 12345678 ext 12"),
                      "only digits"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+49 151 12345678#"),
                      "only digits"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("00+49 151 12345678"),
                      "only digits"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+49 ((151)) 12345678"),
                      "nested"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+49 (151 12345678"),
                      "unbalanced"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+49 151) 12345678"),
                      "unbalanced"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+49 () 15112345678"),
                      "unbalanced"));
}

TEST(PhoneType, RejectsBadCountryCodesAndLengths) {
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+"), "country"));
  EXPECT_TRUE(
      Rejects(FieldType::kPhone, std::string("+0 123 456 7890"), "country"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+28 123 456 789"),
                      "unknown country calling code"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+999 123 456 789"),
                      "unknown country calling code"));
  EXPECT_TRUE(
      Rejects(FieldType::kPhone, std::string("+49 1234"), "8 to 15 digits"));
  EXPECT_TRUE(Rejects(FieldType::kPhone,
                      std::string("+49 151 1234 5678 901"),  // 16 digits
                      "8 to 15 digits"));
  EXPECT_TRUE(Normalizes(FieldType::kPhone,
                         std::string("+49 151 1234 5678 90"),  // 15 digits
                         "+491511234567890"));
  EXPECT_TRUE(Normalizes(FieldType::kPhone, std::string("+49 30 123456"),
                         "+4930123456"));  // 10 digits
  EXPECT_TRUE(Normalizes(FieldType::kPhone, std::string("+49 30 1234"),
                         "+49301234"));  // 8 digits: the minimum
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+49 30 123"),
                      "8 to 15 digits"));  // 7 digits
}

TEST(PhoneType, NorthAmericanNumbersAreChecked) {
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+1 415 555 267"),
                      "North American"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+1 415 555 26711"),
                      "North American"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+1 015 555 2671"),
                      "North American"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+1 415 155 2671"),
                      "North American"));
  EXPECT_TRUE(Rejects(FieldType::kPhone, std::string("+7 912 345 67"),
                      "10 national digits"));
}

TEST(PhoneType, SearchKeyIsCanonical) {
  EXPECT_EQ(SearchKey(FieldType::kPhone, "+4915112345678"), "+4915112345678");
}

// --------------------------------------------------------------------------
// date

TEST(DateType, AcceptsRealDates) {
  for (const char* ok :
       {"2024-02-29", "2000-02-29", "2023-02-28", "0001-01-01", "9999-12-31",
        "2023-04-30", "1970-01-01", "2023-12-31"}) {
    EXPECT_TRUE(Accepts(FieldType::kDate, ok)) << ok;
  }
}

TEST(DateType, RejectsImpossibleDates) {
  for (const char* bad :
       {"2023-02-29", "1900-02-29", "2100-02-29", "2024-02-30", "2023-04-31",
        "2023-06-31", "2023-01-32", "2023-01-00"}) {
    EXPECT_TRUE(Rejects(FieldType::kDate, std::string(bad), "day out of range"))
        << bad;
  }
  EXPECT_TRUE(Rejects(FieldType::kDate, std::string("2023-13-01"),
                      "month out of range"));
  EXPECT_TRUE(Rejects(FieldType::kDate, std::string("2023-00-10"),
                      "month out of range"));
  EXPECT_TRUE(Rejects(FieldType::kDate, std::string("0000-01-01"),
                      "year must be 0001 to 9999"));
}

TEST(DateType, RejectsOtherFormats) {
  for (const char* bad :
       {"2023-1-05", "23-01-05", "2023/01/05", "20230105", "05.01.2023",
        "2023-01-05T00:00:00", "+2023-01-05", "2023-01-0a", "12023-01-05",
        "2023-01-5 ", "2023 -01-05",
        "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92"
        "\xef\xbc\x93-01-05"}) {  // full-width
    EXPECT_TRUE(Rejects(FieldType::kDate, std::string(bad), "YYYY-MM-DD"))
        << bad;
  }
}

// --------------------------------------------------------------------------
// ssn

TEST(SsnType, AcceptsBothFormsStoresDashed) {
  EXPECT_TRUE(
      Normalizes(FieldType::kSsn, std::string("123-45-6789"), "123-45-6789"));
  EXPECT_TRUE(
      Normalizes(FieldType::kSsn, std::string("123456789"), "123-45-6789"));
  EXPECT_TRUE(
      Normalizes(FieldType::kSsn, std::string(" 001010001 "), "001-01-0001"));
  EXPECT_TRUE(Accepts(FieldType::kSsn, "665-99-9999"));
  EXPECT_TRUE(Accepts(FieldType::kSsn, "667-01-0001"));
  EXPECT_TRUE(Accepts(FieldType::kSsn, "899-12-3456"));
}

TEST(SsnType, RejectsNeverAssignedNumbers) {
  for (const char* bad : {"000-12-3456", "666-12-3456", "900-12-3456",
                          "999-12-3456", "950123456"}) {
    EXPECT_TRUE(Rejects(FieldType::kSsn, std::string(bad), "area")) << bad;
  }
  EXPECT_TRUE(Rejects(FieldType::kSsn, std::string("123-00-4567"), "group"));
  EXPECT_TRUE(Rejects(FieldType::kSsn, std::string("123-45-0000"), "serial"));
  EXPECT_TRUE(Rejects(FieldType::kSsn, std::string("123450000"), "serial"));
}

TEST(SsnType, RejectsOtherShapes) {
  for (const char* bad :
       {"123-456-789", "12-345-6789", "1234567890", "12345678", "123 45 6789",
        "123-45-678a", "123-45-67890", "123_45_6789", "12345-6789",
        "123-456789"}) {
    EXPECT_TRUE(Rejects(FieldType::kSsn, std::string(bad), "AAA-GG-SSSS"))
        << bad;
  }
}

// --------------------------------------------------------------------------
// credit_card

TEST(CreditCardType, NormalizesToDigits) {
  EXPECT_TRUE(Normalizes(FieldType::kCreditCard,
                         std::string("4111 1111 1111 1111"),
                         "4111111111111111"));
  EXPECT_TRUE(Normalizes(FieldType::kCreditCard,
                         std::string("4111-1111-1111-1111"),
                         "4111111111111111"));
  EXPECT_TRUE(Normalizes(FieldType::kCreditCard,
                         std::string("3782 822463 10005"),
                         "378282246310005"));  // Amex, 15 digits
  for (const char* ok : {"5555555555554444", "6011111111111117",
                         "4222222222222", "3530111333300000"}) {
    EXPECT_TRUE(Accepts(FieldType::kCreditCard, ok)) << ok;
  }
}

TEST(CreditCardType, LengthBounds) {
  const std::string d12 = Luhnify("41111111111");
  const std::string d19 = Luhnify("622126000000000000");
  ASSERT_EQ(d12.size(), 12u);
  ASSERT_EQ(d19.size(), 19u);
  EXPECT_TRUE(Accepts(FieldType::kCreditCard, d12));
  EXPECT_TRUE(Accepts(FieldType::kCreditCard, d19));
  EXPECT_TRUE(Rejects(FieldType::kCreditCard, Luhnify("4111111111"),
                      "12 to 19 digits"));
  EXPECT_TRUE(Rejects(FieldType::kCreditCard, Luhnify("4111111111111111111"),
                      "12 to 19 digits"));
}

TEST(CreditCardType, RejectsLuhnFailures) {
  for (const char* bad : {"4111111111111112", "4111 1111 1111 1121",
                          "5555555555554445", "378282246310006"}) {
    EXPECT_TRUE(Rejects(FieldType::kCreditCard, std::string(bad),
                        "fails the Luhn check"))
        << bad;
  }
}

TEST(CreditCardType, RejectsBadSeparatorsAndCharacters) {
  EXPECT_TRUE(Rejects(FieldType::kCreditCard,
                      std::string("4111  1111 1111 1111"), "separator"));
  EXPECT_TRUE(Rejects(FieldType::kCreditCard,
                      std::string("4111 -1111-1111-1111"), "separator"));
  EXPECT_TRUE(Rejects(FieldType::kCreditCard, std::string("-4111111111111111"),
                      "separator"));
  EXPECT_TRUE(Rejects(FieldType::kCreditCard, std::string("4111111111111111-"),
                      "separator"));
  EXPECT_TRUE(Rejects(FieldType::kCreditCard,
                      std::string("4111.1111.1111.1111"), "only digits"));
  EXPECT_TRUE(Rejects(FieldType::kCreditCard,
                      std::string("4111 1111 1111 111X"), "only digits"));
  EXPECT_TRUE(Rejects(FieldType::kCreditCard,
                      std::string("0000 0000 0000 0000"), "start with 0"));
}

// --------------------------------------------------------------------------
// iban

TEST(IbanType, NormalizesSpacingAndCase) {
  EXPECT_TRUE(Normalizes(FieldType::kIban,
                         std::string("de89 3704 0044 0532 0130 00"),
                         "DE89370400440532013000"));
  EXPECT_TRUE(Normalizes(FieldType::kIban,
                         std::string("  GB82 WEST 1234 5698 7654 32 "),
                         "GB82WEST12345698765432"));
}

TEST(IbanType, AcceptsRegistryExamples) {
  for (const char* ok :
       {"DE89370400440532013000", "FR1420041010050500013M02606",
        "NL91ABNA0417164300", "BE68539007547034", "AT611904300234573201",
        "CH9300762011623852957", "ES9121000418450200051332",
        "IT60X0542811101000000123456", "NO9386011117947",
        "PL61109010140000071219812874", "SE4550000000058398257466",
        "MT84MALT011000012345MTLCAST001S", "LC55HEMM000100010012001200023015",
        "RU0304452522540817810538091310419", "IE29AIBK93115212345678",
        "PT50000201231234567890154", "DK5000400440116243", "FI2112345600000785",
        "LU280019400644750000"}) {
    EXPECT_TRUE(Accepts(FieldType::kIban, ok)) << ok;
  }
}

TEST(IbanType, RejectsChecksumFailures) {
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("DE89370400440532013001"),
                      "fails the mod-97 check"));
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("DE88370400440532013000"),
                      "fails the mod-97 check"));
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("GB82WEST12345698765423"),
                      "fails the mod-97 check"));  // transposed digits
  for (const char* check : {"00", "01", "99"}) {
    EXPECT_TRUE(Rejects(FieldType::kIban,
                        "DE" + std::string(check) + "370400440532013000",
                        "invalid check digits"));
  }
}

TEST(IbanType, RejectsWrongLengthOrCountry) {
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("DE8937040044053201300"),
                      "wrong length"));
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("DE893704004405320130000"),
                      "wrong length"));
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("NO93860111179470"),
                      "wrong length"));
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("US89370400440532013000"),
                      "country does not use IBANs"));
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("XX89370400440532013000"),
                      "country does not use IBANs"));
}

TEST(IbanType, RejectsMalformedInput) {
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("1E89370400440532013000"),
                      "country code and two check digits"));
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("DE8X370400440532013000"),
                      "country code and two check digits"));
  EXPECT_TRUE(Rejects(FieldType::kIban, std::string("DE8"),
                      "country code and two check digits"));
  EXPECT_TRUE(Rejects(FieldType::kIban,
                      std::string("DE89-3704-0044-0532-0130-00"),
                      "only letters, digits and spaces"));
  EXPECT_TRUE(Rejects(FieldType::kIban,
                      std::string("DE89 3704 0044 0532 0130 0\xc3\x84"),
                      "only letters, digits and spaces"));
}

// --------------------------------------------------------------------------
// ip_address

TEST(IpAddressType, CanonicalIpv4) {
  for (const char* ok :
       {"192.168.0.1", "0.0.0.0", "255.255.255.255", "10.0.0.10", "8.8.8.8"}) {
    EXPECT_TRUE(Accepts(FieldType::kIpAddress, ok)) << ok;
  }
}

TEST(IpAddressType, RejectsBadIpv4) {
  EXPECT_TRUE(
      Rejects(FieldType::kIpAddress, std::string("01.2.3.4"), "leading zeros"));
  EXPECT_TRUE(
      Rejects(FieldType::kIpAddress, std::string("1.2.3.04"), "leading zeros"));
  EXPECT_TRUE(Rejects(FieldType::kIpAddress, std::string("192.168.000.1"),
                      "leading zeros"));
  for (const char* bad :
       {"256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.4/24", "0x1.2.3.4", "1..2.3",
        "1.2.3.4.", ".1.2.3.4", "localhost", "1.2.3.-4", "1 .2.3.4",
        "4294967295", "1.2.3.4:80"}) {
    EXPECT_TRUE(Rejects(FieldType::kIpAddress, std::string(bad),
                        "not a valid IP address"))
        << bad;
  }
}

TEST(IpAddressType, CanonicalIpv6) {
  const std::pair<const char*, const char*> cases[] = {
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
      {"2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"},
      {"2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"::", "::"},
      {"fe80:0:0:0:0202:b3ff:fe1e:8329", "fe80::202:b3ff:fe1e:8329"},
      {"::FFFF:192.0.2.1", "::ffff:192.0.2.1"},
      {"::ffff:c000:0201", "::ffff:192.0.2.1"},
      {"::2:3", "::2:3"},
      {"::1.2.3.4", "::102:304"},
      {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
      {"  2001:db8::1\n", "2001:db8::1"},
  };
  for (const auto& [in, out] : cases) {
    EXPECT_TRUE(Normalizes(FieldType::kIpAddress, std::string(in), out));
  }
}

TEST(IpAddressType, RejectsBadIpv6) {
  for (const char* bad :
       {"fe80::1%eth0", "[::1]", "2001:db8::g", "1:2:3:4:5:6:7:8:9",
        "2001:db8:::1", "1::2::3", "12345::", "::ffff:1.2.3.256",
        ":::", "2001:db8::1/64"}) {
    EXPECT_TRUE(Rejects(FieldType::kIpAddress, std::string(bad),
                        "not a valid IP address"))
        << bad;
  }
  EXPECT_TRUE(Rejects(FieldType::kIpAddress, std::string("::ffff:01.2.3.4"),
                      "leading zeros"));
}

// --------------------------------------------------------------------------
// integer and boolean

TEST(IntegerType, DecimalText) {
  EXPECT_TRUE(Normalizes(FieldType::kInteger, std::int64_t{0}, "0"));
  EXPECT_TRUE(Normalizes(FieldType::kInteger, std::int64_t{-42}, "-42"));
  EXPECT_TRUE(Normalizes(FieldType::kInteger, std::int64_t{1234567890123},
                         "1234567890123"));
  EXPECT_TRUE(Normalizes(FieldType::kInteger,
                         std::numeric_limits<std::int64_t>::max(),
                         "9223372036854775807"));
  EXPECT_TRUE(Normalizes(FieldType::kInteger,
                         std::numeric_limits<std::int64_t>::min(),
                         "-9223372036854775808"));
}

TEST(BooleanType, TrueFalseText) {
  EXPECT_TRUE(Normalizes(FieldType::kBoolean, true, "true"));
  EXPECT_TRUE(Normalizes(FieldType::kBoolean, false, "false"));
}

TEST(CanonicalToFieldValue, InvertsIntegersAndBooleans) {
  EXPECT_EQ(CanonicalToFieldValue(FieldType::kInteger, "-42"),
            FieldValue(std::int64_t{-42}));
  EXPECT_EQ(CanonicalToFieldValue(FieldType::kInteger, "-9223372036854775808"),
            FieldValue(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(CanonicalToFieldValue(FieldType::kBoolean, "true"),
            FieldValue(true));
  EXPECT_EQ(CanonicalToFieldValue(FieldType::kBoolean, "false"),
            FieldValue(false));
  EXPECT_EQ(CanonicalToFieldValue(FieldType::kPhone, "+4915112345678"),
            FieldValue(std::string("+4915112345678")));
  EXPECT_EQ(CanonicalToFieldValue(FieldType::kString, "123"),
            FieldValue(std::string("123")));
  EXPECT_EQ(CanonicalToFieldValue(FieldType::kDate, "2024-02-29"),
            FieldValue(std::string("2024-02-29")));
}

// --------------------------------------------------------------------------
// Cross-type properties

// Valid inputs of every type, in non-canonical spellings where one exists.
std::vector<std::pair<FieldType, FieldValue>> ValidSamples() {
  return {
      {FieldType::kString, std::string(" free\ttext ")},
      {FieldType::kName, std::string("  Anna   M\xc3\xbcller ")},
      {FieldType::kEmail, std::string("Jane.Doe@EXAMPLE.com")},
      {FieldType::kPhone, std::string("0049 (0)151 1234-5678")},
      {FieldType::kDate, std::string(" 2024-02-29 ")},
      {FieldType::kSsn, std::string("123456789")},
      {FieldType::kCreditCard, std::string("4111 1111 1111 1111")},
      {FieldType::kIban, std::string("gb82 west 1234 5698 7654 32")},
      {FieldType::kIpAddress, std::string("2001:0DB8::0001")},
      {FieldType::kIpAddress, std::string("192.168.1.1")},
      {FieldType::kInteger, std::int64_t{-7}},
      {FieldType::kBoolean, true},
  };
}

TEST(FieldTypes, NormalizationIsIdempotentAndRoundTrips) {
  for (const auto& [type, value] : ValidSamples()) {
    Result<std::string> first = NormalizeFieldValue(type, value);
    ASSERT_TRUE(first.has_value()) << FieldTypeName(type);
    const FieldValue back = CanonicalToFieldValue(type, *first);
    Result<std::string> second = NormalizeFieldValue(type, back);
    ASSERT_TRUE(second.has_value()) << FieldTypeName(type);
    EXPECT_EQ(*second, *first) << FieldTypeName(type);
    // The search key of a canonical value is stable too.
    EXPECT_EQ(SearchKey(type, *second), SearchKey(type, *first));
  }
}

TEST(FieldTypes, SearchKeyIsCanonicalForStructuredTypes) {
  for (const auto& [type, value] : ValidSamples()) {
    if (type == FieldType::kName || type == FieldType::kEmail) continue;
    const std::string canonical =
        NormalizeFieldValue(type, value).value_or("?");
    EXPECT_EQ(SearchKey(type, canonical), canonical) << FieldTypeName(type);
  }
}

TEST(FieldTypes, ErrorMessagesNeverContainTheValue) {
  // PII-looking values that break a rule of their type; Rejects() checks the
  // value does not appear in the message. Here we also look for fragments.
  const std::vector<std::tuple<FieldType, std::string, std::string>> cases = {
      {FieldType::kEmail, "jane.doe@@example.com", "jane.doe"},
      {FieldType::kEmail, "jane.doe@example", "example"},
      {FieldType::kPhone, "+49 151 99887766 ext 5", "99887766"},
      {FieldType::kPhone, "015199887766", "99887766"},
      {FieldType::kSsn, "078-05-112", "078"},
      {FieldType::kSsn, "666-05-1120", "1120"},
      {FieldType::kCreditCard, "4929 1234 5678 9013", "4929"},
      {FieldType::kIban, "DE44500105175407324932", "5001"},
      {FieldType::kIban, "QQ44500105175407324932", "QQ"},
      {FieldType::kDate, "1987-02-30", "1987"},
      {FieldType::kIpAddress, "203.0.113.300", "203"},
      {FieldType::kName, "4242424242", "4242"},
      {FieldType::kString, std::string("secret\0value", 12), "secret"},
  };
  for (const auto& [type, value, fragment] : cases) {
    Result<std::string> r = NormalizeFieldValue(type, value);
    ASSERT_FALSE(r.has_value()) << FieldTypeName(type) << " " << value;
    EXPECT_TRUE(Rejects(type, value));
    EXPECT_EQ(r.error().ToString().find(fragment), std::string::npos)
        << r.error().ToString();
    EXPECT_TRUE(r.error().field().empty());
  }
}

}  // namespace
}  // namespace piivault::vault
