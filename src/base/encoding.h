// Text encodings for binary data (no OpenSSL: plain, branch-light C++).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace piivault {

std::string HexEncode(std::string_view bytes);  // lowercase
std::optional<std::string> HexDecode(std::string_view hex);

std::string Base64Encode(std::string_view bytes);  // RFC 4648 §4, padded
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);  // RFC 4648 §5, no pad
std::optional<std::string> Base64UrlDecode(std::string_view text);

// The strictly valid UTF-8 sequence at the start of `s` (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF): its byte length,
// with its code point in *cp; 0 when there is none.
std::size_t DecodeUtf8Char(std::string_view s, char32_t* cp);

}  // namespace piivault
