// Text encodings for binary data (no OpenSSL: plain, branch-light C++).
#pragma once

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

}  // namespace piivault
