#include "crypto/transfer_stream.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace piivault::crypto {
namespace {

constexpr std::size_t kHeader = kTransferHeaderSize;
constexpr std::size_t kTag = kTransferTagSize;

std::string Unhex(std::string_view hex) {
  std::optional<std::string> bytes = HexDecode(hex);
  if (!bytes) ADD_FAILURE() << "bad test hex " << hex;
  return bytes.value_or("");
}

// RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret.
constexpr std::string_view kAlicePrivate =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr std::string_view kAlicePublic =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr std::string_view kBobPrivate =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr std::string_view kBobPublic =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr std::string_view kSharedSecret =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

std::string Plaintext(std::size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Encrypts `plaintext` to `recipient_public`, handing it to the writer in
// pieces of random size.
std::string Encrypt(std::string_view recipient_public,
                    std::string_view plaintext, std::size_t chunk_size,
                    uint32_t seed = 7) {
  std::string out;
  auto writer = TransferStreamWriter::Create(recipient_public, AppendTo(&out),
                                             chunk_size);
  EXPECT_TRUE(writer.has_value()) << writer.error().ToString();
  if (!writer) return out;
  std::mt19937 rng(seed);
  while (!plaintext.empty()) {
    const std::size_t n = std::min<std::size_t>(
        plaintext.size(), rng() % (3 * chunk_size + 2));  // 0 too
    EXPECT_TRUE(writer->Write(plaintext.substr(0, n)).ok());
    plaintext.remove_prefix(n);
  }
  EXPECT_TRUE(writer->Finish().ok());
  return out;
}

struct Decrypted {
  Status status;         // of the first failing call, or of Finish
  std::string released;  // what the sink received
};

// Feeds `stream` to a reader in pieces of random size (0 included).
Decrypted Decrypt(const SecretBytes& private_key, std::string_view stream,
                  uint32_t seed = 11) {
  Decrypted d;
  auto reader =
      TransferStreamReader::Create(private_key, AppendTo(&d.released));
  if (!reader) {
    d.status = reader.error();
    return d;
  }
  std::mt19937 rng(seed);
  while (!stream.empty()) {
    const std::size_t n =
        std::min<std::size_t>(stream.size(), rng() % (2 * 1024 + 64));
    d.status = reader->Write(stream.substr(0, n));
    if (!d.status.ok()) return d;
    stream.remove_prefix(n);
  }
  d.status = reader->Finish();
  EXPECT_EQ(reader->plaintext_bytes(), d.released.size());
  return d;
}

// The chunk boundaries of a stream from Encrypt: [header, c0, c1, ...].
std::vector<std::string> Split(std::string_view stream,
                               std::size_t chunk_size) {
  std::vector<std::string> parts{std::string(stream.substr(0, kHeader))};
  stream.remove_prefix(kHeader);
  while (!stream.empty()) {
    const std::size_t n = std::min(stream.size(), chunk_size + kTag);
    parts.emplace_back(stream.substr(0, n));
    stream.remove_prefix(n);
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (auto& p : parts) out += p;
  return out;
}

// An encoder written from docs/formats/transfer-stream.md with raw OpenSSL,
// sharing no code with the writer but X25519 and HKDF: it checks that the
// document describes what the writer does, and it makes streams the writer
// never makes (an empty final chunk, a final flag on a middle chunk).
SecretBytes SpecOkm(const SecretBytes& shared, std::string_view info) {
  return HkdfSha256(shared, "piivault transfer-stream v1 salt", info, 39);
}
struct SpecChunk {
  std::string plaintext;
  bool final;
};
std::string SpecEncode(std::string_view recipient_public,
                       const SecretBytes& ephemeral_private,
                       uint32_t chunk_size,
                       const std::vector<SpecChunk>& chunks) {
  auto ephemeral = X25519KeyPair::FromPrivateKey(ephemeral_private);
  auto shared = X25519(ephemeral_private, recipient_public);
  if (!ephemeral || !shared) {
    ADD_FAILURE() << "bad spec keys";
    return "";
  }
  std::string header = "PVTS";
  header += '\x01';
  for (int shift : {24, 16, 8, 0})
    header += static_cast<char>((chunk_size >> shift) & 0xff);
  header += ephemeral->public_key;
  const std::string info =
      "piivault transfer-stream v1 aes-256-gcm key and nonce prefix" +
      ephemeral->public_key + std::string(recipient_public);
  SecretBytes okm = SpecOkm(*shared, info);
  std::string out = header;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  for (uint32_t i = 0; i < chunks.size(); ++i) {
    unsigned char nonce[12];
    std::memcpy(nonce, okm.data() + 32, 7);
    for (int k = 0; k < 4; ++k)
      nonce[7 + k] = static_cast<unsigned char>(i >> (24 - 8 * k));
    nonce[11] = chunks[i].final ? 1 : 0;
    const std::string& pt = chunks[i].plaintext;
    std::string ct(pt.size() + 16, '\0');
    auto* c = reinterpret_cast<unsigned char*>(ct.data());
    int outl = 0;
    EXPECT_EQ(
        EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), okm.data(), nonce, nullptr),
        1);
    EXPECT_EQ(
        EVP_EncryptUpdate(ctx, nullptr, &outl,
                          reinterpret_cast<const unsigned char*>(header.data()),
                          static_cast<int>(header.size())),
        1);
    if (!pt.empty()) {
      EXPECT_EQ(
          EVP_EncryptUpdate(ctx, c, &outl,
                            reinterpret_cast<const unsigned char*>(pt.data()),
                            static_cast<int>(pt.size())),
          1);
    }
    EXPECT_EQ(EVP_EncryptFinal_ex(ctx, c + pt.size(), &outl), 1);
    EXPECT_EQ(
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, c + pt.size()), 1);
    out += ct;
  }
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

class TransferStreamTest : public ::testing::Test {
 protected:
  X25519KeyPair recipient_ = X25519KeyPair::Generate();
};

// ---------------------------------------------------------------------------
// Keys

TEST(X25519Test, Rfc7748KeyAgreementVector) {
  SecretBytes alice(Unhex(kAlicePrivate)), bob(Unhex(kBobPrivate));
  auto alice_pair = X25519KeyPair::FromPrivateKey(alice);
  auto bob_pair = X25519KeyPair::FromPrivateKey(bob);
  ASSERT_TRUE(alice_pair && bob_pair);
  EXPECT_EQ(HexEncode(alice_pair->public_key), kAlicePublic);
  EXPECT_EQ(HexEncode(bob_pair->public_key), kBobPublic);
  auto ab = X25519(alice, Unhex(kBobPublic));
  auto ba = X25519(bob, Unhex(kAlicePublic));
  ASSERT_TRUE(ab && ba);
  EXPECT_EQ(HexEncode(ab->view()), kSharedSecret);
  EXPECT_EQ(HexEncode(ba->view()), kSharedSecret);
}

TEST(X25519Test, GeneratedPairsAgree) {
  X25519KeyPair a = X25519KeyPair::Generate(), b = X25519KeyPair::Generate();
  EXPECT_EQ(a.public_key.size(), kX25519KeySize);
  EXPECT_EQ(a.private_key.size(), kX25519KeySize);
  EXPECT_NE(a.public_key, b.public_key);
  auto ab = X25519(a.private_key, b.public_key);
  auto ba = X25519(b.private_key, a.public_key);
  ASSERT_TRUE(ab && ba);
  EXPECT_EQ(ab->view(), ba->view());
}

TEST(X25519Test, RefusesLowOrderPointsAndWrongSizes) {
  X25519KeyPair a = X25519KeyPair::Generate();
  // The all-zero u-coordinate and u = 1 give an all-zero shared secret.
  std::string one(32, '\0');
  one[0] = 1;
  for (const std::string& bad : {std::string(32, '\0'), one}) {
    auto shared = X25519(a.private_key, bad);
    ASSERT_FALSE(shared);
    EXPECT_EQ(shared.error().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(X25519(a.private_key, std::string(31, 'x')));
  EXPECT_FALSE(X25519(SecretBytes(std::string(33, 'x')), a.public_key));
  EXPECT_FALSE(
      X25519KeyPair::FromPrivateKey(SecretBytes(std::string(31, 'x'))));
}

// ---------------------------------------------------------------------------
// Round trips

TEST_F(TransferStreamTest, RoundTripsEverySizeAroundTheChunkSize) {
  for (std::size_t chunk :
       {std::size_t{1}, std::size_t{64}, kTransferDefaultChunkSize}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, chunk - 1, chunk,
                          chunk + 1, 3 * chunk, 3 * chunk + 5}) {
      SCOPED_TRACE("chunk " + std::to_string(chunk) + ", size " +
                   std::to_string(n));
      const std::string plaintext = Plaintext(n, static_cast<uint32_t>(n));
      const std::string stream = Encrypt(recipient_.public_key, plaintext,
                                         chunk, static_cast<uint32_t>(n));
      // Full chunks, then a final one of 1..chunk bytes (0 only when empty).
      const std::size_t chunks = n == 0 ? 1 : (n + chunk - 1) / chunk;
      EXPECT_EQ(stream.size(), kHeader + n + chunks * kTag);
      for (uint32_t seed : {1u, 2u, 3u}) {
        Decrypted d = Decrypt(recipient_.private_key, stream, seed);
        ASSERT_TRUE(d.status.ok()) << d.status.ToString();
        EXPECT_TRUE(d.released == plaintext);
      }
    }
  }
}

TEST_F(TransferStreamTest, ReaderTakesTheStreamByteByByteAndWhole) {
  const std::string plaintext = Plaintext(5 * 16 + 3);
  const std::string stream = Encrypt(recipient_.public_key, plaintext, 16);
  std::string released;
  auto reader =
      TransferStreamReader::Create(recipient_.private_key, AppendTo(&released));
  ASSERT_TRUE(reader);
  for (char c : stream)
    ASSERT_TRUE(reader->Write(std::string_view(&c, 1)).ok());
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(released, plaintext);

  std::string whole;
  auto reader2 =
      TransferStreamReader::Create(recipient_.private_key, AppendTo(&whole));
  ASSERT_TRUE(reader2);
  ASSERT_TRUE(reader2->Write(stream).ok());
  ASSERT_TRUE(reader2->Finish().ok());
  EXPECT_EQ(whole, plaintext);
}

TEST_F(TransferStreamTest, ReleasesEachChunkOnlyOnceAByteFollowsIt) {
  // A whole chunk might be the final one until more bytes arrive, so it is
  // not released before; then exactly one chunk's plaintext is.
  const std::string plaintext = Plaintext(2 * 16);
  const std::string stream = Encrypt(recipient_.public_key, plaintext, 16);
  std::string released;
  auto reader =
      TransferStreamReader::Create(recipient_.private_key, AppendTo(&released));
  ASSERT_TRUE(reader);
  ASSERT_TRUE(reader->Write(stream.substr(0, kHeader + 16 + kTag)).ok());
  EXPECT_EQ(released, "");
  ASSERT_TRUE(reader->Write(stream.substr(kHeader + 16 + kTag, 1)).ok());
  EXPECT_EQ(released, plaintext.substr(0, 16));
  ASSERT_TRUE(reader->Write(stream.substr(kHeader + 16 + kTag + 1)).ok());
  EXPECT_EQ(released, plaintext.substr(0, 16));
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(released, plaintext);
}

TEST_F(TransferStreamTest, EachStreamHasItsOwnEphemeralKey) {
  const std::string a = Encrypt(recipient_.public_key, "same", 16);
  const std::string b = Encrypt(recipient_.public_key, "same", 16);
  EXPECT_NE(a.substr(9, 32), b.substr(9, 32));
  EXPECT_NE(a.substr(kHeader), b.substr(kHeader));
}

TEST_F(TransferStreamTest, TheWriterMatchesTheDocumentedFormat) {
  const SecretBytes ephemeral(Unhex(kAlicePrivate));
  const std::string plaintext = Plaintext(3 * 16 + 5);
  std::string ours;
  auto writer = TransferStreamWriter::CreateWithEphemeralKeyForTesting(
      recipient_.public_key, ephemeral, AppendTo(&ours), 16);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->Write(plaintext).ok());
  ASSERT_TRUE(writer->Finish().ok());
  std::vector<SpecChunk> chunks;
  for (std::size_t i = 0; i < 4; ++i)
    chunks.push_back({plaintext.substr(i * 16, 16), i == 3});
  EXPECT_EQ(HexEncode(ours), HexEncode(SpecEncode(recipient_.public_key,
                                                  ephemeral, 16, chunks)));
}

TEST_F(TransferStreamTest, ReaderAcceptsAnEmptyFinalChunkAfterFullOnes) {
  // Allowed by the format (a writer that does not hold a full chunk back
  // ends with one); ours never writes it.
  const std::string stream =
      SpecEncode(recipient_.public_key, RandomSecret(32), 4,
                 {{"abcd", false}, {"efgh", false}, {"", true}});
  Decrypted d = Decrypt(recipient_.private_key, stream);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.released, "abcdefgh");
}

// The worked example of docs/formats/transfer-stream.md: recipient = Bob's
// RFC 7748 key, ephemeral = Alice's, chunk size 16, a 20-byte plaintext.
constexpr std::string_view kExamplePlaintext = "Hello, transfer v1!\n";
constexpr std::string_view kExampleStream =
    "50565453"  // magic
    "01"        // version
    "00000010"  // chunk size
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"  // ephemeral
    "aa1cb89ad304c6325f669d7d44b6caa3"   // chunk 0
    "609cbf2c55a578b84d47ea68994ee0af"   //   tag
    "1e2b6e87"                           // chunk 1
    "dc57ab04a1b070cb7431d86f3aed7143";  //   tag
constexpr std::string_view kExampleKey =
    "c5dcfc7e47bb9ecab31d5bb398e4f4f39972065a592cbd3e7c338525c131c529";
constexpr std::string_view kExampleNoncePrefix = "a66d0270ed88c2";

TEST(TransferStreamVectorTest, WorkedExampleOfTheFormatDocument) {
  ASSERT_EQ(kExamplePlaintext.size(), 20u);
  std::string stream;
  auto writer = TransferStreamWriter::CreateWithEphemeralKeyForTesting(
      Unhex(kBobPublic), SecretBytes(Unhex(kAlicePrivate)), AppendTo(&stream),
      16);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->Write(kExamplePlaintext).ok());
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(HexEncode(stream), kExampleStream);

  Decrypted d = Decrypt(SecretBytes(Unhex(kBobPrivate)), Unhex(kExampleStream));
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.released, kExamplePlaintext);

  // The document shows the same bytes, so it cannot drift from the code.
  std::ifstream doc(PIIVAULT_SOURCE_DIR "/docs/formats/transfer-stream.md");
  ASSERT_TRUE(doc) << "cannot read docs/formats/transfer-stream.md";
  std::string text(std::istreambuf_iterator<char>(doc), {});
  std::string hex_in_doc;  // every hex digit of the example's code block
  const auto start = text.find("```hex-stream\n");
  ASSERT_NE(start, std::string::npos);
  const auto end = text.find("```", start + 14);
  ASSERT_NE(end, std::string::npos);
  for (char c : text.substr(start + 14, end - start - 14))
    if (std::isxdigit(static_cast<unsigned char>(c))) hex_in_doc += c;
  EXPECT_EQ(hex_in_doc, kExampleStream);

  // So are the intermediate values it lists.
  SecretBytes okm =
      SpecOkm(SecretBytes(Unhex(kSharedSecret)),
              "piivault transfer-stream v1 aes-256-gcm key and nonce prefix" +
                  Unhex(kAlicePublic) + Unhex(kBobPublic));
  EXPECT_EQ(HexEncode(okm.view().substr(0, 32)), kExampleKey);
  EXPECT_EQ(HexEncode(okm.view().substr(32)), kExampleNoncePrefix);
  for (std::string_view value :
       {kSharedSecret, kExampleKey, kExampleNoncePrefix, kBobPrivate}) {
    EXPECT_NE(text.find(value), std::string::npos) << value;
  }
}

// ---------------------------------------------------------------------------
// Bad streams: kDataLoss, and nothing unauthenticated released

TEST_F(TransferStreamTest, WrongPrivateKeyIsDataLoss) {
  const std::string stream = Encrypt(recipient_.public_key, Plaintext(100), 16);
  X25519KeyPair other = X25519KeyPair::Generate();
  Decrypted d = Decrypt(other.private_key, stream);
  EXPECT_EQ(d.status.code(), StatusCode::kDataLoss);
  EXPECT_NE(d.status.message().find("does not decrypt with this key"),
            std::string::npos)
      << d.status.ToString();
  EXPECT_EQ(d.released, "");
}

TEST_F(TransferStreamTest, TruncationAnywhereIsDetected) {
  const std::string plaintext = Plaintext(3 * 16 + 5);
  const std::string stream = Encrypt(recipient_.public_key, plaintext, 16);
  for (std::size_t len = 0; len < stream.size(); ++len) {
    SCOPED_TRACE("truncated to " + std::to_string(len));
    Decrypted d = Decrypt(recipient_.private_key, stream.substr(0, len));
    EXPECT_EQ(d.status.code(), StatusCode::kDataLoss) << d.status.ToString();
    // Only whole chunks that authenticated came out, in order.
    EXPECT_EQ(d.released, plaintext.substr(0, d.released.size()));
    EXPECT_EQ(d.released.size() % 16, 0u);
  }
  // At a chunk boundary the reader says what happened.
  Decrypted at_boundary = Decrypt(recipient_.private_key,
                                  stream.substr(0, kHeader + 2 * (16 + kTag)));
  EXPECT_NE(at_boundary.status.message().find("without its final chunk"),
            std::string::npos)
      << at_boundary.status.ToString();
  EXPECT_EQ(at_boundary.released, plaintext.substr(0, 16));
  Decrypted header_only =
      Decrypt(recipient_.private_key, stream.substr(0, kHeader - 1));
  EXPECT_NE(header_only.status.message().find("header is incomplete"),
            std::string::npos);
}

TEST_F(TransferStreamTest, ReorderedDuplicatedOrDroppedChunksAreDetected) {
  const std::string plaintext = Plaintext(4 * 16 + 5);
  const std::vector<std::string> parts =
      Split(Encrypt(recipient_.public_key, plaintext, 16), 16);
  ASSERT_EQ(parts.size(), 6u);  // header, 4 full chunks, the final one
  std::vector<std::vector<std::string>> bad;
  for (std::size_t i = 1; i + 1 < parts.size(); ++i) {
    auto swapped = parts;
    std::swap(swapped[i], swapped[i + 1]);
    bad.push_back(swapped);
    auto duplicated = parts;
    duplicated.insert(duplicated.begin() + static_cast<long>(i), parts[i]);
    bad.push_back(duplicated);
    auto dropped = parts;
    dropped.erase(dropped.begin() + static_cast<long>(i));
    bad.push_back(dropped);
  }
  auto final_duplicated = parts;
  final_duplicated.push_back(parts.back());
  bad.push_back(final_duplicated);
  for (std::size_t k = 0; k < bad.size(); ++k) {
    SCOPED_TRACE("case " + std::to_string(k));
    Decrypted d = Decrypt(recipient_.private_key, Join(bad[k]));
    EXPECT_EQ(d.status.code(), StatusCode::kDataLoss);
    EXPECT_EQ(d.released, plaintext.substr(0, d.released.size()));
    EXPECT_LT(d.released.size(), plaintext.size());
  }
}

TEST_F(TransferStreamTest, DataAfterTheFinalChunkIsDetected) {
  for (std::size_t n : {std::size_t{0}, std::size_t{16}, std::size_t{20}}) {
    SCOPED_TRACE("plaintext " + std::to_string(n));
    const std::string plaintext = Plaintext(n);
    const std::string stream = Encrypt(recipient_.public_key, plaintext, 16);
    for (const std::string& extra :
         {std::string(1, '\0'), std::string(16 + kTag, 'x'),
          stream.substr(kHeader)}) {
      Decrypted d = Decrypt(recipient_.private_key, stream + extra);
      EXPECT_EQ(d.status.code(), StatusCode::kDataLoss);
      EXPECT_LT(d.released.size(), std::max<std::size_t>(n, 1));
    }
  }
  // A final chunk of full size followed by anything is named as such.
  const std::string full = Encrypt(recipient_.public_key, Plaintext(16), 16);
  Decrypted d = Decrypt(recipient_.private_key, full + "x");
  EXPECT_NE(d.status.message().find("data after its final chunk"),
            std::string::npos)
      << d.status.ToString();
  // A final flag on a middle chunk ends the stream there.
  const std::string early_final =
      SpecEncode(recipient_.public_key, RandomSecret(32), 4,
                 {{"abcd", true}, {"efgh", true}});
  EXPECT_EQ(Decrypt(recipient_.private_key, early_final).status.code(),
            StatusCode::kDataLoss);
}

TEST_F(TransferStreamTest, EveryFlippedBitIsDetected) {
  const std::string plaintext = Plaintext(2 * 16 + 3);
  const std::string stream = Encrypt(recipient_.public_key, plaintext, 16);
  for (std::size_t i = 0; i < stream.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = stream;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      Decrypted d =
          Decrypt(recipient_.private_key, bad, static_cast<uint32_t>(i));
      ASSERT_EQ(d.status.code(), StatusCode::kDataLoss)
          << "byte " << i << " bit " << bit;
      // A chunk before the flipped one may have come out; never the
      // damaged one or any after it.
      const std::size_t damaged_chunk =
          i < kHeader ? 0 : (i - kHeader) / (16 + kTag);
      ASSERT_LE(d.released.size(), damaged_chunk * 16);
      ASSERT_EQ(d.released, plaintext.substr(0, d.released.size()));
    }
  }
}

TEST_F(TransferStreamTest, BadHeadersSayWhat) {
  const std::string stream = Encrypt(recipient_.public_key, "x", 16);
  auto with = [&](std::size_t at, std::string_view bytes) {
    std::string s = stream;
    s.replace(at, bytes.size(), bytes);
    return Decrypt(recipient_.private_key, s).status;
  };
  auto says = [](const Status& s, std::string_view what) {
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_NE(s.message().find(what), std::string::npos) << s.ToString();
  };
  says(with(0, "PVTX"), "not a piivault transfer stream");
  says(with(4, "\x02"), "unsupported transfer stream version 2");
  says(with(5, std::string(4, '\0')), "invalid chunk size");
  says(with(5, std::string("\x01\x00\x00\x01", 4)), "invalid chunk size");
  says(with(9, std::string(32, '\0')), "invalid ephemeral key");
  says(Decrypt(recipient_.private_key, "").status, "header is incomplete");
  says(Decrypt(recipient_.private_key, stream.substr(0, kHeader)).status,
       "has no chunk");
  says(Decrypt(recipient_.private_key, stream.substr(0, kHeader + 5)).status,
       "in the middle of a chunk");
}

TEST_F(TransferStreamTest, ErrorsStick) {
  std::string released;
  auto reader =
      TransferStreamReader::Create(recipient_.private_key, AppendTo(&released));
  ASSERT_TRUE(reader);
  Status first = reader->Write(std::string(kHeader, 'x'));
  EXPECT_EQ(first.code(), StatusCode::kDataLoss);
  EXPECT_EQ(reader->Write(Encrypt(recipient_.public_key, "x", 16)).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(reader->Finish().code(), StatusCode::kDataLoss);
}

// ---------------------------------------------------------------------------
// Writer contract

TEST_F(TransferStreamTest, WriterRefusesBadKeysAndChunkSizes) {
  std::string out;
  auto code = [&](std::string_view key, std::size_t chunk) {
    auto w = TransferStreamWriter::Create(key, AppendTo(&out), chunk);
    return w ? StatusCode::kOk : w.error().code();
  };
  EXPECT_EQ(code(std::string(31, 'k'), 16), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(std::string(32, '\0'), 16), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(recipient_.public_key, 0), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(recipient_.public_key, kTransferMaxChunkSize + 1),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(out, "");
  EXPECT_EQ(code(recipient_.public_key, kTransferMaxChunkSize),
            StatusCode::kOk);
  EXPECT_EQ(TransferStreamReader::Create(SecretBytes(std::string(31, 'k')),
                                         AppendTo(&out))
                .error()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(TransferStreamTest,
       WriterEmitsWholeChunksAsTheyFillAndStopsAfterFinish) {
  std::vector<std::size_t> emitted;
  auto writer = TransferStreamWriter::Create(
      recipient_.public_key,
      [&](std::string_view b) {
        emitted.push_back(b.size());
        return Status::Ok();
      },
      16);
  ASSERT_TRUE(writer);
  EXPECT_EQ(emitted, std::vector<std::size_t>{kHeader});
  ASSERT_TRUE(writer->Write(std::string(16, 'a')).ok());  // held back
  EXPECT_EQ(emitted.size(), 1u);
  ASSERT_TRUE(writer->Write(std::string(40, 'b')).ok());  // 56 = 3 * 16 + 8
  EXPECT_EQ(emitted, (std::vector<std::size_t>{kHeader, 32, 32, 32}));
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(emitted, (std::vector<std::size_t>{kHeader, 32, 32, 32, 8 + kTag}));
  EXPECT_EQ(writer->Write("more").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(writer->Finish().code(), StatusCode::kFailedPrecondition);
}

TEST_F(TransferStreamTest, SinkErrorsStopBothSides) {
  int calls = 0;
  auto writer = TransferStreamWriter::Create(
      recipient_.public_key,
      [&](std::string_view) {
        return ++calls > 1 ? Unavailable("disk full") : Status::Ok();
      },
      16);
  ASSERT_TRUE(writer);
  EXPECT_EQ(writer->Write(std::string(40, 'a')).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(writer->Finish().code(), StatusCode::kUnavailable);

  const std::string stream = Encrypt(recipient_.public_key, Plaintext(40), 16);
  auto reader = TransferStreamReader::Create(
      recipient_.private_key,
      [](std::string_view) { return Unavailable("disk full"); });
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->Write(stream).code(), StatusCode::kUnavailable);
  EXPECT_EQ(reader->Finish().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace piivault::crypto
