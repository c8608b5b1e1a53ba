// The transfer stream: a byte stream encrypted to one recipient's X25519
// public key, for handing a tenant's export to another provider (issue 12,
// API.md "Return, transfer, disposal"). The byte format is specified in
// docs/formats/transfer-stream.md; in short:
//
//   header  = "PVTS" | version (1 byte, =1) | chunk size (4, big endian)
//             | ephemeral X25519 public key (32)
//   shared  = X25519(ephemeral private, recipient public)
//   okm     = HKDF-SHA256(ikm = shared, salt = kTransferSalt,
//                         info = kTransferInfo | ephemeral pub | recipient pub,
//                         L = 39)
//   key     = okm[0..32)  (AES-256-GCM), prefix = okm[32..39)
//   chunk i = AES-256-GCM(key, nonce = prefix | i (4, big endian) | final,
//                         aad = header, plaintext chunk i) | tag (16)
//
// Every chunk but the last holds exactly `chunk size` plaintext bytes; the
// last (final = 1) holds 0..chunk size bytes. Truncation (no final chunk),
// reordering, duplication, dropping a chunk, data after the final chunk and
// any changed byte fail authentication.
//
// Neither side materializes the stream: the writer holds at most one chunk of
// plaintext, the reader at most one chunk of ciphertext, and the reader
// releases a chunk's plaintext only after its tag has been checked.
//
// Thread safety: a writer or reader is used by one thread at a time; distinct
// objects are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/secret.h"

namespace piivault::crypto {

inline constexpr std::size_t kX25519KeySize = 32;

// Format constants (docs/formats/transfer-stream.md).
inline constexpr std::string_view kTransferMagic = "PVTS";
inline constexpr uint8_t kTransferVersion = 1;
inline constexpr std::size_t kTransferHeaderSize = 4 + 1 + 4 + kX25519KeySize;
inline constexpr std::size_t kTransferTagSize = 16;
inline constexpr std::string_view kTransferSalt =
    "piivault transfer-stream v1 salt";
inline constexpr std::string_view kTransferInfo =
    "piivault transfer-stream v1 aes-256-gcm key and nonce prefix";
inline constexpr std::size_t kTransferDefaultChunkSize = 64 * 1024;
// Readers accept any chunk size in [1, kTransferMaxChunkSize]; the bound
// caps what a reader buffers for a stream it has not authenticated yet.
inline constexpr std::size_t kTransferMaxChunkSize = 16 * 1024 * 1024;

// A raw X25519 key pair (RFC 7748): 32-byte public key (the u-coordinate)
// and 32-byte private scalar (before clamping, as RFC 7748 keys are kept).
struct X25519KeyPair {
  std::string public_key;
  SecretBytes private_key;

  // A fresh pair from the CSPRNG.
  static X25519KeyPair Generate();
  // The pair of a given private key; kInvalidArgument unless 32 bytes.
  static Result<X25519KeyPair> FromPrivateKey(const SecretBytes& private_key);
};

// X25519(private_key, peer_public_key), the raw 32-byte shared secret.
// kInvalidArgument when a key is not 32 bytes or when the result is all
// zeros (the peer key is a low-order point, RFC 7748 §6.1).
Result<SecretBytes> X25519(const SecretBytes& private_key,
                           std::string_view peer_public_key);

// Where the bytes a writer or reader produces go. A non-OK status stops the
// stream and is returned from the Write/Finish that produced the bytes.
using ByteSink = std::function<Status(std::string_view)>;
// A sink that appends to *out (which must outlive it).
ByteSink AppendTo(std::string* out);

// Encrypts a plaintext stream to one recipient.
class TransferStreamWriter {
 public:
  // Emits the header to `sink`. kInvalidArgument for a recipient key that is
  // not 32 bytes or is a low-order point, or a chunk size outside
  // [1, kTransferMaxChunkSize]; the sink's error if it fails.
  static Result<TransferStreamWriter> Create(
      std::string_view recipient_public_key, ByteSink sink,
      std::size_t chunk_size = kTransferDefaultChunkSize);
  // The same with a given ephemeral private key instead of a fresh one. Only
  // for reproducible test vectors: reusing an ephemeral key for two streams
  // to the same recipient reuses key and nonces.
  static Result<TransferStreamWriter> CreateWithEphemeralKeyForTesting(
      std::string_view recipient_public_key,
      const SecretBytes& ephemeral_private_key, ByteSink sink,
      std::size_t chunk_size);

  TransferStreamWriter(TransferStreamWriter&&) noexcept;
  TransferStreamWriter& operator=(TransferStreamWriter&&) noexcept;
  ~TransferStreamWriter();  // wipes buffered plaintext

  // Appends plaintext; whole chunks are sealed and emitted as they fill (the
  // last full chunk is held back until it is known not to be the final one).
  // After an error, or after Finish, every call returns kFailedPrecondition
  // (or the first error).
  Status Write(std::string_view plaintext);
  // Seals and emits the final chunk. Without it the stream is truncated and
  // no reader accepts it.
  Status Finish();

  std::size_t chunk_size() const;

 private:
  struct State;
  explicit TransferStreamWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Decrypts a transfer stream with the recipient's private key.
class TransferStreamReader {
 public:
  // kInvalidArgument unless the private key is 32 bytes.
  static Result<TransferStreamReader> Create(
      const SecretBytes& recipient_private_key, ByteSink plaintext_sink);

  TransferStreamReader(TransferStreamReader&&) noexcept;
  TransferStreamReader& operator=(TransferStreamReader&&) noexcept;
  ~TransferStreamReader();

  // Consumes the next ciphertext bytes, in pieces of any size. Plaintext is
  // handed to the sink only chunk by chunk, after the chunk authenticated.
  // kDataLoss (message says what: not a transfer stream, unsupported
  // version, wrong key or damaged first chunk, chunk N failed to
  // authenticate) when the stream is bad; the sink's error when it fails.
  // After an error every call returns that error again.
  Status Write(std::string_view ciphertext);
  // At the end of the input: checks and emits the final chunk. kDataLoss
  // when the stream is truncated (header, mid-chunk, or no final chunk) or
  // the last chunk does not authenticate as the final one.
  Status Finish();

  // Plaintext bytes released so far.
  uint64_t plaintext_bytes() const;

 private:
  struct State;
  explicit TransferStreamReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace piivault::crypto
