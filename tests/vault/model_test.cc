#include "vault/model.h"

#include <gtest/gtest.h>

#include <string>

namespace piivault::vault {
namespace {

// A valid text with `inserted` in its middle.
std::string With(std::string inserted) {
  return "Zoë " + inserted + "Müller GmbH";
}

void ExpectRefused(std::string_view text, const char* why) {
  Status s = ValidateFreeText("name", text, 1, 256);
  EXPECT_FALSE(s.ok()) << why;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << why;
  EXPECT_EQ(s.reason(), "validation_failed") << why;
  EXPECT_EQ(s.field(), "name") << why;
  // The message says which rule failed, never the text.
  EXPECT_EQ(s.message().find("Zo"), std::string::npos) << s.message();
}

TEST(FreeTextTest, AcceptsMultiByteLettersAndEmoji) {
  for (std::string ok :
       {"Zoë Müller GmbH", "株式会社テスト", "Ελληνικά ΑΕ", "שלום בע\"מ",
        "Acme 🚀 Ltd", "👩‍👩‍👧 family (ZWJ sequence)", "a"})
    EXPECT_TRUE(ValidateFreeText("name", ok, 1, 256).ok()) << ok;
  EXPECT_TRUE(ValidateFreeText("evidence", "", 0, 1024).ok());
}

TEST(FreeTextTest, RefusesNulAndC0ControlsAndDel) {
  ExpectRefused(With(std::string(1, '\0')), "NUL");
  for (char c = 0x01; c < 0x20; ++c)
    ExpectRefused(With(std::string(1, c)), "C0");
  ExpectRefused(With("\t"), "tab");
  ExpectRefused(With("\n"), "line feed");
  ExpectRefused(With("\r"), "carriage return");
  ExpectRefused(With("\x1b[31m"), "ANSI escape");
  ExpectRefused(With("\x7f"), "DEL");
  ExpectRefused(With("\u0085"), "C1 next line");
  ExpectRefused(With("\u009b"), "C1 control sequence introducer");
}

TEST(FreeTextTest, RefusesBidirectionalControls) {
  for (const char* bidi :
       {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  // embed, override
        "\u2066", "\u2067", "\u2068", "\u2069",            // isolates
        "\u200e", "\u200f", "\u061c"})                     // marks
    ExpectRefused(With(bidi), "bidi control");
  // The classic spoof: "deny" shown as "ynod" after a right-to-left override.
  ExpectRefused("approve \u202eynod", "override");
}

TEST(FreeTextTest, RefusesInvalidUtf8) {
  for (std::string bad : {
           std::string("\xc3"),              // truncated
           std::string("\xc3\x28"),          // bad continuation
           std::string("\x80"),              // lone continuation
           std::string("\xc0\xaf"),          // overlong '/'
           std::string("\xe0\x80\xaf"),      // overlong
           std::string("\xed\xa0\x80"),      // surrogate U+D800
           std::string("\xf4\x90\x80\x80"),  // above U+10FFFF
           std::string("\xff"),
       })
    ExpectRefused(With(bad), "invalid UTF-8");
}

TEST(FreeTextTest, CountsCharactersNotBytes) {
  EXPECT_TRUE(ValidateFreeText("name", std::string(256, 'a'), 1, 256).ok());
  ExpectRefused(std::string(257, 'a'), "too long");
  std::string umlauts;
  for (int i = 0; i < 256; ++i) umlauts += "ü";
  EXPECT_TRUE(ValidateFreeText("name", umlauts, 1, 256).ok());
  ExpectRefused(umlauts + "ü", "too long");
  ExpectRefused("", "empty");
  Status empty = ValidateFreeText("reason", "", 1, 1024);
  EXPECT_EQ(empty.field(), "reason");
}

}  // namespace
}  // namespace piivault::vault
