// The recipient's side of an encrypted tenant export, offline (no server):
// `piivault export keygen` and `piivault export decrypt`. The stream format
// is docs/formats/transfer-stream.md.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/secret.h"
#include "crypto/transfer_stream.h"

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

// Writes what `produce` hands its writer into the new file `out_path`
// (mode 0600: it may hold personal data; an existing file is never
// overwritten: kAlreadyExists), then fsyncs it. On any error the partial
// file is removed, so no file is ever left that looks like a whole one.
using FileWriter = std::function<Status(std::string_view bytes)>;
Status WriteNewPrivateFile(
    const std::string& out_path,
    const std::function<Status(const FileWriter&)>& produce);

// The private key file `keygen` wrote: the base64 of 32 bytes, and mode
// 0600 (kFailedPrecondition when group or others may read it).
Result<crypto::SecretBytes> LoadTransferPrivateKey(const std::string& path);

// Reads the file `in_path` to its end about a chunk at a time, handing each
// piece as read to `raw`; with `key`, the file is a transfer stream and its
// authenticated plaintext goes to `plaintext` (checked to the final chunk:
// kDataLoss for a wrong key or a damaged or cut stream), without one the
// pieces themselves do. Nothing is written anywhere else.
Status ReadTransferFile(const std::string& in_path,
                        const crypto::SecretBytes* key,
                        const crypto::ByteSink& raw,
                        const crypto::ByteSink& plaintext);

}  // namespace piivault::cli
