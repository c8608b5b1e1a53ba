// The CSPRNG (OpenSSL RAND_bytes). Failure of the system RNG is fatal: we
// abort rather than hand out predictable keys or ids.
// Thread safety: all functions are thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "crypto/secret.h"

namespace piivault::crypto {

std::string RandomBytes(std::size_t n);
SecretBytes RandomSecret(std::size_t n);
// A 128-bit random id as 26 lowercase base32 characters ([a-z2-7]) behind
// `prefix`, e.g. RandomId("rec_") -> "rec_k3j...". Ids are never reused.
std::string RandomId(std::string_view prefix);
// Whether `id` has the exact shape RandomId(prefix) gives (the prefix, 26
// characters of the alphabet, the final one's two padding bits zero).
bool IsRandomId(std::string_view prefix, std::string_view id);

}  // namespace piivault::crypto
