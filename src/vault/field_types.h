// The field types of a collection schema: parsing, validation and
// normalization of values, and the canonical text that is encrypted and
// blind-indexed.
//
// Validation errors never echo the offending value (it is PII): messages say
// what rule failed ("not a valid e-mail address"), never what was given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/status.h"

namespace piivault::vault {

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
// where equality should ignore case/whitespace (names and free strings are
// case-folded and whitespace-collapsed; other types are already canonical).
std::string SearchKey(FieldType type, std::string_view canonical);

}  // namespace piivault::vault
