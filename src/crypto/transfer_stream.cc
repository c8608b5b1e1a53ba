#include "crypto/transfer_stream.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "crypto/hash.h"
#include "crypto/openssl_util.h"
#include "crypto/random.h"

namespace piivault::crypto {
namespace {

using internal::Fatal;
using internal::GetBigEndian32;
using internal::Ptr;
using internal::PutBigEndian32;

constexpr std::size_t kPrefixSize = 7;
constexpr std::size_t kNonceSize = kPrefixSize + 4 + 1;
constexpr std::size_t kOkmSize = 32 + kPrefixSize;
constexpr uint64_t kMaxChunks = uint64_t{1} << 32;  // the 4-byte counter
static_assert(kTransferHeaderSize == 41);
static_assert(kTransferMaxChunkSize + kTransferTagSize < (1u << 31));

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

const EVP_CIPHER* Gcm() {
  static EVP_CIPHER* cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) Fatal("AES-256-GCM is unavailable");
    return c;
  }();
  return cipher;
}

PkeyPtr PrivateKey(const SecretBytes& raw) {
  PkeyPtr key(EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr,
                                              raw.data(), raw.size()));
  if (key == nullptr) Fatal("cannot load an X25519 private key");
  return key;
}

std::string PublicKeyOf(const SecretBytes& private_key) {
  PkeyPtr key = PrivateKey(private_key);
  std::string out(kX25519KeySize, '\0');
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(
          key.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kX25519KeySize) {
    Fatal("cannot derive an X25519 public key");
  }
  return out;
}

std::string Header(std::string_view ephemeral_public_key,
                   std::size_t chunk_size) {
  std::string header(kTransferMagic);
  header.push_back(static_cast<char>(kTransferVersion));
  unsigned char size[4];
  PutBigEndian32(size, static_cast<uint32_t>(chunk_size));
  header.append(reinterpret_cast<const char*>(size), sizeof size);
  header.append(ephemeral_public_key);
  return header;
}

// AES-256-GCM over the chunks of one stream: the key schedule is set up once,
// each chunk sets only its nonce. The header is every chunk's AAD.
class ChunkCipher {
 public:
  // `okm` is the HKDF output: key (32) | nonce prefix (7).
  ChunkCipher(const SecretBytes& okm, std::string header, bool encrypt)
      : ctx_(EVP_CIPHER_CTX_new()), header_(std::move(header)) {
    if (ctx_ == nullptr ||
        EVP_CipherInit_ex2(ctx_.get(), Gcm(), okm.data(), nullptr,
                           encrypt ? 1 : 0, nullptr) != 1) {
      Fatal("cannot create the transfer stream cipher");
    }
    std::memcpy(nonce_.data(), okm.data() + 32, kPrefixSize);
  }
  ~ChunkCipher() { OPENSSL_cleanse(nonce_.data(), nonce_.size()); }

  // Writes ciphertext | tag of chunk `index` to `out` (resized).
  void Seal(uint32_t index, bool final, std::string_view plaintext,
            std::string& out) {
    out.resize(plaintext.size() + kTransferTagSize);
    auto* ct = reinterpret_cast<unsigned char*>(out.data());
    int outl = 0;
    if (!Start(index, final) ||
        (!plaintext.empty() &&
         EVP_EncryptUpdate(ctx_.get(), ct, &outl, Ptr(plaintext),
                           static_cast<int>(plaintext.size())) != 1) ||
        EVP_EncryptFinal_ex(ctx_.get(), ct + plaintext.size(), &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_GET_TAG, kTransferTagSize,
                            ct + plaintext.size()) != 1) {
      Fatal("AES-256-GCM seal failed");
    }
  }

  // Decrypts `sealed` (ciphertext | tag, at least the tag) into `out` if it
  // authenticates as chunk `index` with the given final flag. On failure
  // `out` is wiped and emptied: nothing unauthenticated is left behind.
  bool Open(uint32_t index, bool final, std::string_view sealed,
            std::string& out) {
    const std::size_t n = sealed.size() - kTransferTagSize;
    out.resize(n);
    auto* pt = reinterpret_cast<unsigned char*>(out.data());
    unsigned char tag[kTransferTagSize];
    std::memcpy(tag, sealed.data() + n, kTransferTagSize);
    int outl = 0;
    const bool ok =
        Start(index, final) &&
        (n == 0 || EVP_DecryptUpdate(ctx_.get(), pt, &outl, Ptr(sealed),
                                     static_cast<int>(n)) == 1) &&
        EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_SET_TAG, kTransferTagSize,
                            tag) == 1 &&
        EVP_DecryptFinal_ex(ctx_.get(), pt + n, &outl) == 1;
    if (!ok) {
      OPENSSL_cleanse(out.data(), out.size());
      out.clear();
      ERR_clear_error();
    }
    return ok;
  }

  const std::string& header() const { return header_; }

 private:
  bool Start(uint32_t index, bool final) {
    PutBigEndian32(nonce_.data() + kPrefixSize, index);
    nonce_[kNonceSize - 1] = final ? 1 : 0;
    int outl = 0;
    return EVP_CipherInit_ex2(ctx_.get(), nullptr, nullptr, nonce_.data(), -1,
                              nullptr) == 1 &&
           EVP_CipherUpdate(ctx_.get(), nullptr, &outl, Ptr(header_),
                            static_cast<int>(header_.size())) == 1;
  }

  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx_;
  std::string header_;
  std::array<unsigned char, kNonceSize> nonce_{};
};

// key | nonce prefix of a stream, from the X25519 shared secret and both
// public keys.
SecretBytes DeriveStreamKeys(const SecretBytes& shared,
                             std::string_view ephemeral_public_key,
                             std::string_view recipient_public_key) {
  std::string info(kTransferInfo);
  info.append(ephemeral_public_key);
  info.append(recipient_public_key);
  return HkdfSha256(shared, kTransferSalt, info, kOkmSize);
}

bool ChunkSizeValid(std::size_t chunk_size) {
  return chunk_size >= 1 && chunk_size <= kTransferMaxChunkSize;
}

// The first error of a writer or reader, after which every call returns it,
// and whether the stream is finished.
class StreamState {
 public:
  // OK while the stream takes more calls.
  Status Usable() const {
    if (!error_.ok()) return error_;
    if (finished_) {
      return FailedPrecondition("the transfer stream is already finished");
    }
    return Status::Ok();
  }
  Status Fail(Status status) {
    error_ = status;
    return status;
  }
  void Finished() { finished_ = true; }

 private:
  Status error_;
  bool finished_ = false;
};

// The buffered plaintext is personal data: wipe it, keeping the capacity.
void Wipe(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

// ---------------------------------------------------------------------------
// Keys

X25519KeyPair X25519KeyPair::Generate() {
  Result<X25519KeyPair> pair = FromPrivateKey(RandomSecret(kX25519KeySize));
  if (!pair) Fatal("cannot create an X25519 key");
  return *std::move(pair);
}

Result<X25519KeyPair> X25519KeyPair::FromPrivateKey(
    const SecretBytes& private_key) {
  if (private_key.size() != kX25519KeySize) {
    return Err(InvalidArgument("an X25519 private key must be 32 bytes"));
  }
  return X25519KeyPair{PublicKeyOf(private_key), private_key.Clone()};
}

Result<SecretBytes> X25519(const SecretBytes& private_key,
                           std::string_view peer_public_key) {
  if (private_key.size() != kX25519KeySize ||
      peer_public_key.size() != kX25519KeySize) {
    return Err(InvalidArgument("X25519 keys must be 32 bytes"));
  }
  PkeyPtr key = PrivateKey(private_key);
  PkeyPtr peer(EVP_PKEY_new_raw_public_key_ex(
      nullptr, "X25519", nullptr, Ptr(peer_public_key), kX25519KeySize));
  if (peer == nullptr) Fatal("cannot load an X25519 public key");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (ctx == nullptr) Fatal("EVP_PKEY_CTX_new_from_pkey failed");
  SecretBytes shared(kX25519KeySize);
  std::size_t len = shared.size();
  // OpenSSL refuses an all-zero result itself; the explicit check below
  // keeps the rule independent of the library version.
  if (EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 0) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 ||
      len != kX25519KeySize ||
      ConstantTimeEquals(shared.view(), std::string(kX25519KeySize, '\0'))) {
    ERR_clear_error();
    return Err(InvalidArgument("the X25519 public key is a low-order point"));
  }
  return shared;
}

ByteSink AppendTo(std::string* out) {
  return [out](std::string_view bytes) {
    out->append(bytes);
    return Status::Ok();
  };
}

// ---------------------------------------------------------------------------
// Writer

struct TransferStreamWriter::State {
  State(const SecretBytes& okm, std::string header, ByteSink sink,
        std::size_t chunk_size)
      : cipher(okm, std::move(header), /*encrypt=*/true),
        sink(std::move(sink)),
        chunk_size(chunk_size) {
    pending.reserve(chunk_size);
  }
  ~State() { Wipe(pending); }

  // Seals one chunk and hands it to the sink.
  Status Emit(std::string_view plaintext, bool final) {
    if (next_index >= kMaxChunks) {
      return FailedPrecondition(
          "the transfer stream has too many chunks for its chunk size");
    }
    cipher.Seal(static_cast<uint32_t>(next_index), final, plaintext, sealed);
    ++next_index;
    return sink(sealed);
  }

  ChunkCipher cipher;
  ByteSink sink;
  std::size_t chunk_size;
  std::string pending;  // plaintext of the chunk being filled
  std::string sealed;   // scratch: the last sealed chunk
  uint64_t next_index = 0;
  StreamState stream;
};

Result<TransferStreamWriter> TransferStreamWriter::Create(
    std::string_view recipient_public_key, ByteSink sink,
    std::size_t chunk_size) {
  return CreateWithEphemeralKeyForTesting(recipient_public_key,
                                          RandomSecret(kX25519KeySize),
                                          std::move(sink), chunk_size);
}

Result<TransferStreamWriter>
TransferStreamWriter::CreateWithEphemeralKeyForTesting(
    std::string_view recipient_public_key,
    const SecretBytes& ephemeral_private_key, ByteSink sink,
    std::size_t chunk_size) {
  if (!ChunkSizeValid(chunk_size)) {
    return Err(InvalidArgument("the transfer stream chunk size is invalid"));
  }
  if (recipient_public_key.size() != kX25519KeySize) {
    return Err(InvalidArgument("the recipient key must be 32 bytes"));
  }
  PV_ASSIGN_OR_RETURN(X25519KeyPair ephemeral,
                      X25519KeyPair::FromPrivateKey(ephemeral_private_key));
  PV_ASSIGN_OR_RETURN(SecretBytes shared,
                      X25519(ephemeral.private_key, recipient_public_key));
  SecretBytes okm =
      DeriveStreamKeys(shared, ephemeral.public_key, recipient_public_key);
  std::string header = Header(ephemeral.public_key, chunk_size);
  PV_RETURN_IF_ERROR(sink(header));
  return TransferStreamWriter(std::make_unique<State>(
      okm, std::move(header), std::move(sink), chunk_size));
}

TransferStreamWriter::TransferStreamWriter(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
TransferStreamWriter::TransferStreamWriter(TransferStreamWriter&&) noexcept =
    default;
TransferStreamWriter& TransferStreamWriter::operator=(
    TransferStreamWriter&&) noexcept = default;
TransferStreamWriter::~TransferStreamWriter() = default;

std::size_t TransferStreamWriter::chunk_size() const {
  return state_->chunk_size;
}

Status TransferStreamWriter::Write(std::string_view plaintext) {
  State& s = *state_;
  PV_RETURN_IF_ERROR(s.stream.Usable());
  auto fail = [&s](Status status) {
    Wipe(s.pending);
    return s.stream.Fail(std::move(status));
  };
  while (!plaintext.empty()) {
    // A full chunk held back is not the final one: more bytes follow.
    if (s.pending.size() == s.chunk_size) {
      if (Status st = s.Emit(s.pending, false); !st.ok()) return fail(st);
      Wipe(s.pending);
    }
    // Whole chunks straight from the input, without copying, as long as
    // more bytes follow them.
    if (s.pending.empty()) {
      while (plaintext.size() > s.chunk_size) {
        if (Status st = s.Emit(plaintext.substr(0, s.chunk_size), false);
            !st.ok()) {
          return fail(st);
        }
        plaintext.remove_prefix(s.chunk_size);
      }
    }
    const std::size_t take =
        std::min(s.chunk_size - s.pending.size(), plaintext.size());
    s.pending.append(plaintext.substr(0, take));
    plaintext.remove_prefix(take);
  }
  return Status::Ok();
}

Status TransferStreamWriter::Finish() {
  State& s = *state_;
  PV_RETURN_IF_ERROR(s.stream.Usable());
  Status st = s.Emit(s.pending, /*final=*/true);
  Wipe(s.pending);
  if (!st.ok()) return s.stream.Fail(std::move(st));
  s.stream.Finished();
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Reader

struct TransferStreamReader::State {
  State(SecretBytes private_key, std::string public_key, ByteSink sink)
      : private_key(std::move(private_key)),
        public_key(std::move(public_key)),
        sink(std::move(sink)) {}
  ~State() { Wipe(plaintext); }

  // Parses the complete header in `header_bytes` and derives the keys.
  Status StartStream() {
    const auto* h = reinterpret_cast<const unsigned char*>(header_bytes.data());
    if (header_bytes.substr(0, kTransferMagic.size()) != kTransferMagic) {
      return DataLoss("not a piivault transfer stream (bad magic)");
    }
    if (h[4] != kTransferVersion) {
      return DataLoss("unsupported transfer stream version " +
                      std::to_string(h[4]));
    }
    chunk_size = GetBigEndian32(h + 5);
    if (!ChunkSizeValid(chunk_size)) {
      return DataLoss("the transfer stream header has an invalid chunk size");
    }
    const std::string_view ephemeral =
        std::string_view(header_bytes).substr(9, kX25519KeySize);
    Result<SecretBytes> shared = X25519(private_key, ephemeral);
    if (!shared) {
      return DataLoss(
          "the transfer stream header has an invalid ephemeral key");
    }
    SecretBytes okm = DeriveStreamKeys(*shared, ephemeral, public_key);
    cipher = std::make_unique<ChunkCipher>(okm, header_bytes, false);
    buffer.reserve(chunk_size + kTransferTagSize);
    return Status::Ok();
  }

  // Opens `sealed` as the next chunk and hands its plaintext on.
  Status OpenNext(std::string_view sealed, bool final) {
    if (next_index >= kMaxChunks) {
      return DataLoss("the transfer stream has too many chunks");
    }
    if (!cipher->Open(static_cast<uint32_t>(next_index), final, sealed,
                      plaintext)) {
      return ChunkFailed(sealed, final);
    }
    ++next_index;
    released += plaintext.size();
    Status st = sink(plaintext);
    Wipe(plaintext);
    return st;
  }

  // Says why `sealed` did not open as chunk next_index. The diagnosis only
  // chooses the message: nothing of a chunk that failed is released.
  Status ChunkFailed(std::string_view sealed, bool final) {
    const auto index = static_cast<uint32_t>(next_index);
    if (final && sealed.size() == chunk_size + kTransferTagSize &&
        cipher->Open(index, /*final=*/false, sealed, plaintext)) {
      Wipe(plaintext);
      return DataLoss("the transfer stream is truncated: it ends after chunk " +
                      std::to_string(index) + " without its final chunk");
    }
    if (!final && cipher->Open(index, /*final=*/true, sealed, plaintext)) {
      Wipe(plaintext);
      return DataLoss("the transfer stream has data after its final chunk");
    }
    if (index == 0) {
      return DataLoss(
          "the transfer stream does not decrypt with this key (a wrong "
          "private key, or a damaged header or first chunk)");
    }
    return DataLoss("chunk " + std::to_string(index) +
                    " of the transfer stream failed to authenticate (damaged, "
                    "reordered, duplicated or cut)");
  }

  std::size_t wire_size() const { return chunk_size + kTransferTagSize; }

  SecretBytes private_key;
  std::string public_key;
  ByteSink sink;
  std::string header_bytes;
  std::size_t chunk_size = 0;
  std::unique_ptr<ChunkCipher> cipher;  // set once the header is complete
  std::string buffer;     // ciphertext of a chunk not yet known to be whole
  std::string plaintext;  // scratch: one opened chunk
  uint64_t next_index = 0;
  uint64_t released = 0;
  StreamState stream;
};

Result<TransferStreamReader> TransferStreamReader::Create(
    const SecretBytes& recipient_private_key, ByteSink plaintext_sink) {
  PV_ASSIGN_OR_RETURN(X25519KeyPair pair,
                      X25519KeyPair::FromPrivateKey(recipient_private_key));
  return TransferStreamReader(std::make_unique<State>(
      std::move(pair.private_key), std::move(pair.public_key),
      std::move(plaintext_sink)));
}

TransferStreamReader::TransferStreamReader(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
TransferStreamReader::TransferStreamReader(TransferStreamReader&&) noexcept =
    default;
TransferStreamReader& TransferStreamReader::operator=(
    TransferStreamReader&&) noexcept = default;
TransferStreamReader::~TransferStreamReader() = default;

uint64_t TransferStreamReader::plaintext_bytes() const {
  return state_->released;
}

Status TransferStreamReader::Write(std::string_view ciphertext) {
  State& s = *state_;
  PV_RETURN_IF_ERROR(s.stream.Usable());
  auto fail = [&s](Status status) { return s.stream.Fail(std::move(status)); };
  if (s.cipher == nullptr) {
    const std::size_t take = std::min(
        kTransferHeaderSize - s.header_bytes.size(), ciphertext.size());
    s.header_bytes.append(ciphertext.substr(0, take));
    ciphertext.remove_prefix(take);
    if (s.header_bytes.size() < kTransferHeaderSize) return Status::Ok();
    if (Status st = s.StartStream(); !st.ok()) return fail(st);
  }
  // A whole chunk is opened as a non-final one only once a byte after it has
  // arrived; the last chunk waits for Finish.
  const std::size_t wire = s.wire_size();
  while (!ciphertext.empty()) {
    if (s.buffer.empty()) {
      while (ciphertext.size() > wire) {
        if (Status st = s.OpenNext(ciphertext.substr(0, wire), false);
            !st.ok()) {
          return fail(st);
        }
        ciphertext.remove_prefix(wire);
      }
      s.buffer.assign(ciphertext);
      return Status::Ok();
    }
    const std::size_t take =
        std::min(wire - s.buffer.size(), ciphertext.size());
    s.buffer.append(ciphertext.substr(0, take));
    ciphertext.remove_prefix(take);
    if (s.buffer.size() < wire || ciphertext.empty()) return Status::Ok();
    if (Status st = s.OpenNext(s.buffer, false); !st.ok()) return fail(st);
    s.buffer.clear();
  }
  return Status::Ok();
}

Status TransferStreamReader::Finish() {
  State& s = *state_;
  PV_RETURN_IF_ERROR(s.stream.Usable());
  Status st;
  if (s.cipher == nullptr) {
    st = DataLoss("the transfer stream is truncated: its header is incomplete");
  } else if (s.buffer.size() < kTransferTagSize) {
    st = DataLoss(
        s.next_index == 0 && s.buffer.empty()
            ? "the transfer stream is truncated: it has no chunk"
            : "the transfer stream is truncated in the middle of a chunk");
  } else {
    st = s.OpenNext(s.buffer, /*final=*/true);
  }
  s.buffer.clear();
  if (!st.ok()) return s.stream.Fail(std::move(st));
  s.stream.Finished();
  return Status::Ok();
}

}  // namespace piivault::crypto
