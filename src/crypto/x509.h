// Self-signed TLS certificate for `piivault init`, so that TLS is one config
// line away.
#pragma once

#include <string>

#include "base/status.h"

namespace piivault::crypto {

struct PemKeyPair {
  std::string certificate_pem;
  std::string private_key_pem;  // secret: write with mode 0600
};

// ECDSA P-256 key, SHA-256 signature, CN=localhost, subjectAltName
// DNS:localhost, IP:127.0.0.1, IP:::1, valid for `days` days.
Result<PemKeyPair> MakeSelfSignedLocalhostCertificate(int days);

}  // namespace piivault::crypto
