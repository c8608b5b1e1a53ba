// The recipient's side of an encrypted tenant export, offline (no server):
// `piivault export keygen` and `piivault export decrypt`. The stream format
// is docs/formats/transfer-stream.md.
#pragma once

#include <string>

#include "base/status.h"

namespace piivault::cli {

// Makes an X25519 key pair, writes the private key to the new file
// `private_key_path` (its base64 and a newline, mode 0600; an existing file
// is never overwritten: kAlreadyExists) and returns the base64 public key,
// the `recipient_public_key` of POST …/exports.
Result<std::string> TransferKeygen(const std::string& private_key_path);

// Decrypts the transfer stream in `in_path` with the private key file
// `key_path` into the new file `out_path` (mode 0600, never overwritten),
// streaming: memory stays at about one chunk. On any error — a bad key
// file, a wrong key, a damaged, truncated or reordered stream (kDataLoss),
// a read or write failure — the partial output is removed, so no file is
// ever left that looks like a whole export.
Status TransferDecrypt(const std::string& key_path, const std::string& in_path,
                       const std::string& out_path);

}  // namespace piivault::cli
