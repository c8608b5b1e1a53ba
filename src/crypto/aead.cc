#include "crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "crypto/openssl_util.h"

namespace piivault::crypto {
namespace {

constexpr uint8_t kGcmVersion = 1;
constexpr uint8_t kSivVersion = 1;
constexpr std::size_t kHeaderSize = 1 + 4;  // version | key_version
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kSivTagSize = 16;
constexpr std::size_t kBlockSize = 16;
static_assert(kAeadOverhead == kHeaderSize + kNonceSize + kTagSize);

// Largest chunk handed to one EVP_*Update call (its length is an int).
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

using internal::Fatal;
using internal::GetBigEndian32;
using internal::Ptr;
using internal::PutBigEndian32;

unsigned char* Mut(std::string& s, std::size_t offset) {
  return reinterpret_cast<unsigned char*>(s.data()) + offset;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const EVP_CIPHER* FetchOnce(const char* name) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (c == nullptr) Fatal("cipher is unavailable");
  return c;
}

const EVP_CIPHER* Gcm() {
  static const EVP_CIPHER* cipher = FetchOnce("AES-256-GCM");
  return cipher;
}

const EVP_CIPHER* Siv() {
  static const EVP_CIPHER* cipher = FetchOnce("AES-256-SIV");
  return cipher;
}

CipherCtxPtr NewCtx(const EVP_CIPHER* cipher, int enc) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr || EVP_CipherInit_ex2(ctx.get(), cipher, nullptr, nullptr,
                                           enc, nullptr) != 1) {
    Fatal("cannot create cipher context");
  }
  return ctx;
}

// A per-thread AES-256-GCM context with the cipher already bound. It
// remembers the last key so that sealing or opening many values under one key
// only sets a new IV (the key schedule and GHASH tables are reused); the copy
// of the key is wiped when the thread exits.
class GcmContext {
 public:
  explicit GcmContext(int enc) : ctx_(NewCtx(Gcm(), enc)) {}
  ~GcmContext() { OPENSSL_cleanse(key_, sizeof(key_)); }
  GcmContext(const GcmContext&) = delete;
  GcmContext& operator=(const GcmContext&) = delete;

  // Prepares for one operation under `key` (kAeadKeySize bytes) and `iv`.
  EVP_CIPHER_CTX* Start(const SecretBytes& key, const unsigned char* iv) {
    const bool same_key =
        keyed_ && CRYPTO_memcmp(key_, key.data(), kAeadKeySize) == 0;
    // Forget the cached key until the new one is installed, so that a failed
    // init never leaves a stale key marked as current.
    keyed_ = false;
    if (EVP_CipherInit_ex2(ctx_.get(), nullptr, same_key ? nullptr : key.data(),
                           iv, -1, nullptr) != 1) {
      return nullptr;
    }
    if (!same_key) std::memcpy(key_, key.data(), kAeadKeySize);
    keyed_ = true;
    return ctx_.get();
  }

 private:
  CipherCtxPtr ctx_;
  unsigned char key_[kAeadKeySize] = {};
  bool keyed_ = false;
};

GcmContext& GcmCtx(bool encrypt) {
  thread_local GcmContext enc(1);
  thread_local GcmContext dec(0);
  return encrypt ? enc : dec;
}

// Nonces come from a per-thread buffer filled by RAND_bytes: one RAND_bytes
// call per 12-byte nonce costs several times the whole AES-GCM operation in
// OpenSSL 3.0. Nonces are public, so buffering them exposes nothing secret.
// A forked child must never reuse the parent's buffered nonces: a fork
// handler bumps a generation that invalidates every buffer.
std::atomic<uint64_t> g_fork_generation{0};

void OnForkChild() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
}

class NonceSource {
 public:
  NonceSource() {
    static const bool registered = [] {
      if (pthread_atfork(nullptr, nullptr, &OnForkChild) != 0) {
        Fatal("pthread_atfork failed");
      }
      return true;
    }();
    (void)registered;
  }
  ~NonceSource() { OPENSSL_cleanse(buf_, sizeof(buf_)); }
  NonceSource(const NonceSource&) = delete;
  NonceSource& operator=(const NonceSource&) = delete;

  void Next(unsigned char* out) {
    const uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
    if (pos_ + kNonceSize > sizeof(buf_) || gen != generation_) {
      if (RAND_bytes(buf_, sizeof(buf_)) != 1) Fatal("RAND_bytes failed");
      pos_ = 0;
      generation_ = gen;
    }
    std::memcpy(out, buf_ + pos_, kNonceSize);
    // Each buffered byte is handed out once.
    OPENSSL_cleanse(buf_ + pos_, kNonceSize);
    pos_ += kNonceSize;
  }

 private:
  unsigned char buf_[kNonceSize * 128];
  std::size_t pos_ = sizeof(buf_);  // empty: filled on first use
  uint64_t generation_ = 0;
};

void NewNonce(unsigned char* out) {
  thread_local NonceSource source;
  source.Next(out);
}

EVP_CIPHER_CTX* SivCtx(bool encrypt) {
  thread_local CipherCtxPtr enc = NewCtx(Siv(), 1);
  thread_local CipherCtxPtr dec = NewCtx(Siv(), 0);
  return encrypt ? enc.get() : dec.get();
}

// Feeds `in` (AAD when out == nullptr) to a streaming cipher in int-sized
// chunks. Returns false on failure.
bool UpdateChunked(EVP_CIPHER_CTX* ctx, bool encrypt, unsigned char* out,
                   std::string_view in) {
  const unsigned char* p = Ptr(in);
  std::size_t left = in.size();
  do {
    std::size_t n = left < kMaxChunk ? left : kMaxChunk;
    int outl = 0;
    int ok = encrypt
                 ? EVP_EncryptUpdate(ctx, out, &outl, p, static_cast<int>(n))
                 : EVP_DecryptUpdate(ctx, out, &outl, p, static_cast<int>(n));
    if (ok != 1) return false;
    if (out != nullptr) {
      if (static_cast<std::size_t>(outl) != n) return false;
      out += n;
    }
    p += n;
    left -= n;
  } while (left > 0);
  return true;
}

Status OpenFailed() {
  ERR_clear_error();
  return DataLoss("sealed value failed to authenticate");
}

// ---- AES-SIV helpers for the empty plaintext ----
//
// OpenSSL 3.0's AES-SIV refuses an empty plaintext (openssl/openssl#26580),
// so for that case we compute the synthetic IV ourselves. With no plaintext
// there is nothing to encrypt and the output is just
//   V = S2V(K1, aad, "") = CMAC(K1, dbl(dbl(CMAC(K1, 0^128)) ^ CMAC(K1, aad))
//                                    ^ 10*)
// (RFC 5297 §2.4; K1 is the first half of the 64-byte key).

using Block = std::array<unsigned char, kBlockSize>;

void Dbl(Block& b) {
  const unsigned char carry = b[0] >> 7;
  for (std::size_t i = 0; i + 1 < b.size(); ++i) {
    b[i] = static_cast<unsigned char>((b[i] << 1) | (b[i + 1] >> 7));
  }
  b[b.size() - 1] = static_cast<unsigned char>(b[b.size() - 1] << 1);
  // Constant time: xor in 0x87 when the top bit was set.
  b[b.size() - 1] ^= static_cast<unsigned char>(0x87 & (0 - carry));
}

void XorInto(Block& a, const Block& b) {
  for (std::size_t i = 0; i < a.size(); ++i) a[i] ^= b[i];
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

EVP_MAC* CmacAlgorithm() {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
    if (m == nullptr) Fatal("CMAC is unavailable");
    return m;
  }();
  return mac;
}

bool Cmac(EVP_MAC_CTX* ctx, const unsigned char* key, std::string_view data,
          Block& out) {
  char cipher[] = "AES-256-CBC";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("cipher", cipher, 0),
                         OSSL_PARAM_construct_end()};
  std::size_t len = 0;
  return EVP_MAC_init(ctx, key, kSivKeySize / 2, params) == 1 &&
         EVP_MAC_update(ctx, Ptr(data), data.size()) == 1 &&
         EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 &&
         len == out.size();
}

// The SIV of an empty plaintext under `key` (64 bytes) and one AAD string.
Block SivOfEmpty(const SecretBytes& key, std::string_view aad) {
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(
      EVP_MAC_CTX_new(CmacAlgorithm()));
  if (ctx == nullptr) Fatal("EVP_MAC_CTX_new failed");
  static constexpr char kZero[kBlockSize] = {};
  Block d, mac_aad, v;
  if (!Cmac(ctx.get(), key.data(), std::string_view(kZero, kBlockSize), d) ||
      !Cmac(ctx.get(), key.data(), aad, mac_aad)) {
    Fatal("AES-CMAC failed");
  }
  Dbl(d);
  XorInto(d, mac_aad);
  Dbl(d);
  d[0] ^= 0x80;  // pad(""): a single 1 bit followed by zeros
  if (!Cmac(ctx.get(), key.data(),
            std::string_view(reinterpret_cast<const char*>(d.data()), d.size()),
            v)) {
    Fatal("AES-CMAC failed");
  }
  OPENSSL_cleanse(d.data(), d.size());
  OPENSSL_cleanse(mac_aad.data(), mac_aad.size());
  return v;
}

}  // namespace

std::string AeadSeal(const SecretBytes& key, uint32_t key_version,
                     std::string_view plaintext, std::string_view aad) {
  if (key.size() != kAeadKeySize) Fatal("AeadSeal: key must be 32 bytes");
  std::string out(plaintext.size() + kAeadOverhead, '\0');
  unsigned char* header = Mut(out, 0);
  unsigned char* nonce = header + kHeaderSize;
  unsigned char* ct = nonce + kNonceSize;
  unsigned char* tag = ct + plaintext.size();

  header[0] = kGcmVersion;
  PutBigEndian32(header + 1, key_version);
  NewNonce(nonce);

  EVP_CIPHER_CTX* ctx = GcmCtx(/*encrypt=*/true).Start(key, nonce);
  int outl = 0;
  // The header is authenticated too (as the first AAD bytes), so a changed
  // key version does not open.
  if (ctx == nullptr ||
      EVP_EncryptUpdate(ctx, nullptr, &outl, header, kHeaderSize) != 1 ||
      !UpdateChunked(ctx, true, nullptr, aad) ||
      !UpdateChunked(ctx, true, ct, plaintext) ||
      EVP_EncryptFinal_ex(ctx, tag, &outl) != 1 || outl != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagSize, tag) != 1) {
    Fatal("AES-256-GCM seal failed");
  }
  return out;
}

Result<std::string> AeadOpen(const SecretBytes& key, std::string_view sealed,
                             std::string_view aad) {
  if (key.size() != kAeadKeySize) {
    return Err(Internal("AEAD key has the wrong size"));
  }
  if (sealed.size() < kAeadOverhead) {
    return Err(DataLoss("sealed value is truncated"));
  }
  const auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
  if (in[0] != kGcmVersion) {
    return Err(DataLoss("sealed value has an unsupported version"));
  }
  const unsigned char* nonce = in + kHeaderSize;
  std::string_view ciphertext =
      sealed.substr(kHeaderSize + kNonceSize, sealed.size() - kAeadOverhead);
  unsigned char tag[kTagSize];
  std::memcpy(tag, in + sealed.size() - kTagSize, kTagSize);

  std::string out(ciphertext.size(), '\0');
  EVP_CIPHER_CTX* ctx = GcmCtx(/*encrypt=*/false).Start(key, nonce);
  int outl = 0;
  if (ctx == nullptr ||
      EVP_DecryptUpdate(ctx, nullptr, &outl, in, kHeaderSize) != 1 ||
      !UpdateChunked(ctx, false, nullptr, aad) ||
      !UpdateChunked(ctx, false, Mut(out, 0), ciphertext) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTagSize, tag) != 1 ||
      EVP_DecryptFinal_ex(ctx, Mut(out, out.size()), &outl) != 1) {
    // Unauthenticated plaintext must not linger.
    OPENSSL_cleanse(out.data(), out.size());
    return Err(OpenFailed());
  }
  return out;
}

Result<uint32_t> AeadKeyVersion(std::string_view sealed) {
  if (sealed.size() < kAeadOverhead) {
    return Err(DataLoss("sealed value is truncated"));
  }
  const auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
  if (in[0] != kGcmVersion) {
    return Err(DataLoss("sealed value has an unsupported version"));
  }
  return GetBigEndian32(in + 1);
}

std::string SivSeal(const SecretBytes& key, std::string_view plaintext,
                    std::string_view aad) {
  if (key.size() != kSivKeySize) Fatal("SivSeal: key must be 64 bytes");
  if (plaintext.size() > INT_MAX || aad.size() > INT_MAX) {
    Fatal("SivSeal: input too large");
  }
  std::string out(1 + kSivTagSize + plaintext.size(), '\0');
  out[0] = static_cast<char>(kSivVersion);
  unsigned char* tag = Mut(out, 1);
  unsigned char* ct = tag + kSivTagSize;

  if (plaintext.empty()) {
    Block v = SivOfEmpty(key, aad);
    std::memcpy(tag, v.data(), v.size());
    return out;
  }

  // AES-SIV takes each AAD string as one Update with a null output, then the
  // whole plaintext in a single Update.
  EVP_CIPHER_CTX* ctx = SivCtx(/*encrypt=*/true);
  int outl = 0;
  if (EVP_EncryptInit_ex2(ctx, nullptr, key.data(), nullptr, nullptr) != 1 ||
      EVP_EncryptUpdate(ctx, nullptr, &outl, Ptr(aad),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx, ct, &outl, Ptr(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      static_cast<std::size_t>(outl) != plaintext.size() ||
      EVP_EncryptFinal_ex(ctx, ct + plaintext.size(), &outl) != 1 ||
      outl != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kSivTagSize, tag) != 1) {
    Fatal("AES-256-SIV seal failed");
  }
  return out;
}

Result<std::string> SivOpen(const SecretBytes& key, std::string_view sealed,
                            std::string_view aad) {
  if (key.size() != kSivKeySize) {
    return Err(Internal("SIV key has the wrong size"));
  }
  if (sealed.size() < 1 + kSivTagSize) {
    return Err(DataLoss("sealed value is truncated"));
  }
  if (static_cast<uint8_t>(sealed[0]) != kSivVersion) {
    return Err(DataLoss("sealed value has an unsupported version"));
  }
  if (sealed.size() > INT_MAX || aad.size() > INT_MAX) {
    return Err(DataLoss("sealed value is too large"));
  }
  unsigned char tag[kSivTagSize];
  std::memcpy(tag, sealed.data() + 1, kSivTagSize);
  std::string_view ciphertext = sealed.substr(1 + kSivTagSize);

  if (ciphertext.empty()) {
    Block v = SivOfEmpty(key, aad);
    if (CRYPTO_memcmp(v.data(), tag, kSivTagSize) != 0) {
      return Err(OpenFailed());
    }
    return std::string();
  }

  std::string out(ciphertext.size(), '\0');
  EVP_CIPHER_CTX* ctx = SivCtx(/*encrypt=*/false);
  int outl = 0;
  if (EVP_DecryptInit_ex2(ctx, nullptr, key.data(), nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kSivTagSize, tag) != 1 ||
      EVP_DecryptUpdate(ctx, nullptr, &outl, Ptr(aad),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx, Mut(out, 0), &outl, Ptr(ciphertext),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx, Mut(out, out.size()), &outl) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return Err(OpenFailed());
  }
  return out;
}

}  // namespace piivault::crypto
