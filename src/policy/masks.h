// The built-in masks of field values: the display form returned instead of a
// stored value to identities whose policy rule says "transform":"mask".
//
// A mask is a function of the canonical text only (as NormalizeFieldValue in
// vault/field_types.h stores it), so the same stored value always masks the
// same way. The rules are a product contract:
//
//  - kEmail: the first character (UTF-8 code point) of the local part, "***",
//    then "@" and the whole domain: "jane.doe@example.com" ->
//    "j***@example.com".
//  - kPhone: "+", one '*' per digit except the last 4, then the last 4
//    digits: "+15551234567" -> "+*******4567".
//  - kSsn: "***-**-" and the serial (last 4 digits): "219-09-9999" ->
//    "***-**-9999".
//  - kCreditCard: one '*' per digit except the last 4, then the last 4:
//    "4242424242424242" -> "************4242".
//  - kIban: the 2-letter country code, one '*' per character except the
//    country code and the last 4, then the last 4: "DE89370400440532013000"
//    -> "DE****************3000".
//  - kName: the first Unicode code point (whole, never a partial UTF-8
//    sequence) followed by "***": "Anna Maria Muller" -> "A***",
//    "Élodie" -> "É***". Names are not NFC-normalized, so for a decomposed
//    "E" + U+0301 only the base letter "E" is shown.
//  - kDate: the year only: "1987-04-12" -> "1987".
//  - kIpAddress: IPv4 keeps the first octet ("192.168.1.20" -> "192.*.*.*");
//    IPv6 keeps the first group ("2001:db8::1" -> "2001:*"). When the
//    canonical text starts with "::" the first group is zero and is shown as
//    "0:*" (this covers IPv4-mapped addresses, whose IPv4 part stays hidden).
//  - kString, kInteger, kBoolean and any other type: "***". Free text and
//    numbers have no part that is safe to show.
//
// Fail closed: a value too short for its rule (a phone or card with fewer
// than 5 digits, an IBAN shorter than 7 characters, an empty name or e-mail
// local part) or not of the type's canonical shape (wrong characters,
// invalid UTF-8, surrounding whitespace, uppercase where canonical text is
// lowercase, ...) masks to "***", never to the input or a part of it. Only
// the shape is checked, not the full validation of NormalizeFieldValue (no
// Luhn, mod-97 or calendar checks): a value stored under older rules still
// masks normally.
#pragma once

#include <string>
#include <string_view>

#include "vault/field_types.h"

namespace piivault::policy {

// The masked form of a stored value of `type`, as returned to identities
// whose policy rule says "transform":"mask". `canonical` is the value as
// NormalizeFieldValue (vault/field_types.h) stores it. Never returns more of
// the value than documented above; for a value that does not have the
// expected canonical shape it returns "***" (never the input).
std::string MaskFieldValue(vault::FieldType type, std::string_view canonical);

}  // namespace piivault::policy
