// The field types of a collection schema: parsing, validation and
// normalization of values, and the canonical text that is encrypted and
// blind-indexed.
//
// Validation errors never echo the offending value (it is PII): messages say
// what rule failed ("not a valid e-mail address"), never what was given.
//
// Rules shared by every string-valued type (all but integer and boolean):
//  - the JSON value must be a string ("expected a string" otherwise);
//  - it must be valid UTF-8 (no overlong forms, surrogates or code points
//    above U+10FFFF);
//  - kString: stored exactly as given (no trimming, may be empty, at most
//    kMaxTextBytes bytes). It may contain TAB, LF and CR; NUL, the other C0
//    controls, DEL and the C1 controls (U+0080..U+009F) are rejected.
//  - every other type: surrounding whitespace (ASCII space, TAB, LF, CR, VT,
//    FF and the Unicode spaces U+00A0, U+1680, U+2000..U+200A, U+202F,
//    U+205F, U+3000) is trimmed; the rest must not be empty and must not
//    contain any control character (C0, DEL, C1). Input longer than
//    kMaxTextBytes bytes is rejected before any other check (for kName the
//    limit applies to the collapsed value instead).
//
// Per type (after trimming):
//  - kName: internal whitespace runs become one ASCII space; case is kept.
//    Must contain at least one letter (an ASCII letter or a non-symbol,
//    non-punctuation code point at or above U+00C0) and be at most
//    kMaxTextBytes bytes after collapsing. No Unicode normalization (NFC) is
//    applied: precomposed and decomposed accents are different names.
//  - kEmail: exactly one '@'. Local part: 1..64 bytes, an RFC 5322 dot-atom
//    (letters, digits and !#$%&'*+-/=?^_`{|}~, dots not first/last/doubled;
//    UTF-8 non-ASCII allowed as in RFC 6531; quoted local parts are not
//    accepted) and kept as given. Domain: at most 253 bytes, at least two
//    dot-separated labels of 1..63 ASCII letters/digits/hyphens without a
//    leading or trailing hyphen, the last one not all digits (no IP
//    literals; internationalized domains must be given in punycode);
//    lowercased. Whole address at most 254 bytes.
//  - kPhone: international form only, starting with '+' or '00'; spaces,
//    '-', '.' and non-nested parentheses may separate digits, and a "(0)"
//    trunk prefix right after the country code is dropped. The country
//    calling code must be an ITU-assigned one; 8..15 digits in total
//    (E.164); +1 (NANP) needs 10 national digits with area code and exchange
//    starting 2-9, +7 needs 10 national digits. Stored "+<digits>".
//  - kDate: exactly YYYY-MM-DD, years 0001..9999, a real Gregorian date.
//  - kSsn: "AAA-GG-SSSS" or 9 digits; area not 000, 666 or 900-999, group not
//    00, serial not 0000. Stored "AAA-GG-SSSS".
//  - kCreditCard: digits, optionally grouped by single spaces or dashes;
//    12..19 digits, not starting with 0, passing the Luhn check. Stored as
//    digits only.
//  - kIban: spaces removed, uppercased; country code of the SWIFT IBAN
//    registry with that country's exact length, check digits 02..98 and
//    ISO 7064 mod-97 == 1. The BBAN's per-country structure is not checked.
//  - kIpAddress: dotted-quad IPv4 (no leading zeros in octets, they are
//    ambiguous: octal in some parsers) or IPv6 text as inet_pton(3) accepts
//    it (no zone ids, no brackets). Stored as RFC 5952 text: lowercase,
//    leading zeros dropped, the longest run (>= 2) of zero groups as "::",
//    dotted-quad tail only for IPv4-mapped addresses (::ffff:a.b.c.d).
//  - kInteger: a JSON integer (a string of digits is rejected); stored as
//    decimal text.
//  - kBoolean: a JSON bool; stored "true" / "false".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/status.h"

namespace piivault::vault {

// The longest text value accepted (bytes of UTF-8), see above.
inline constexpr std::size_t kMaxTextBytes = 4096;

enum class FieldType {
  kString,
  kName,
  kEmail,
  kPhone,       // stored as E.164, e.g. "+4915112345678"
  kDate,        // YYYY-MM-DD, a real calendar date
  kSsn,         // US SSN, stored "AAA-GG-SSSS"
  kCreditCard,  // digits only, Luhn-checked
  kIban,        // uppercase, no spaces, mod-97 checked
  kIpAddress,   // canonical IPv4 dotted quad or RFC 5952 IPv6 text
  kInteger,
  kBoolean,
};

std::optional<FieldType> ParseFieldType(std::string_view name);
std::string_view FieldTypeName(FieldType type);

// A value as it arrives from (and returns to) JSON.
using FieldValue = std::variant<std::string, std::int64_t, bool>;

// Validates `value` for `type` and returns its canonical text form.
// kInvalidArgument (reason "validation_failed") when the value is of the wrong
// JSON kind or breaks the type's rules; the caller fills in the field name.
Result<std::string> NormalizeFieldValue(FieldType type,
                                        const FieldValue& value);

// Converts canonical text back to the JSON-facing value (integers and booleans
// become numbers and bools again).
// REQUIRES: `canonical` came from NormalizeFieldValue for the same type.
FieldValue CanonicalToFieldValue(FieldType type, std::string_view canonical);

// The text that equality search compares: the canonical form, further folded
// where equality should ignore case/whitespace:
//  - kName: case-folded (ASCII, Latin-1, Latin Extended-A, basic Greek and
//    Cyrillic; "ß"/"ẞ" fold to "ss") and whitespace-collapsed, so "Anna
//    MÜLLER" and "anna müller" match;
//  - kEmail: the whole address ASCII-lowercased: the domain is already
//    lowercase, and virtually every provider treats the local part
//    case-insensitively, so "Jane.Doe@x.org" and "jane.doe@x.org" should find
//    the same person even though the stored value keeps its case;
//  - kString: exact (the canonical text itself): free text has no reliable
//    notion of case or spacing equivalence;
//  - all other types: the canonical form, which is already normalized.
std::string SearchKey(FieldType type, std::string_view canonical);

}  // namespace piivault::vault
