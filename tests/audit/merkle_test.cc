#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "base/encoding.h"
#include "crypto/hash.h"

namespace piivault::audit {

// Readable failure messages (found by ADL, so outside the unnamed namespace).
void PrintTo(const NodeId& id, std::ostream* os) {
  *os << "{level " << int{id.level} << ", index " << id.index << "}";
}
void PrintTo(const Range& r, std::ostream* os) {
  *os << "[" << r.begin << ", " << r.end << ")";
}

namespace {

Hash H(std::string_view hex) {
  std::optional<Hash> hash = HashFromHex(hex);
  if (!hash) ADD_FAILURE() << "bad test hash " << hex;
  return hash.value_or(Hash{});
}

std::string Bytes(const Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

Hash FromBytes(std::string_view bytes) {
  Hash h{};
  EXPECT_EQ(bytes.size(), h.size());
  std::copy_n(bytes.begin(), std::min(bytes.size(), h.size()), h.begin());
  return h;
}

std::vector<Hash> Hashes(const std::vector<std::string>& raw) {
  std::vector<Hash> out;
  for (const auto& r : raw) out.push_back(FromBytes(r));
  return out;
}

// Every single-byte corruption of `h` (a different bit in each byte).
std::vector<Hash> Corruptions(const Hash& h) {
  std::vector<Hash> out;
  for (std::size_t i = 0; i < h.size(); ++i) {
    Hash c = h;
    c[i] ^= static_cast<uint8_t>(1u << (i % 8));
    out.push_back(c);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Published reference vectors.
//
// Leaf inputs, the hash of every perfect subtree by level, the root of every
// tree size 0..8 and the compact ranges: google/trillian
// merkle/testonly/constants.go (LeafInputs, NodeHashes, RootHashes,
// CompactTrees, EmptyRootHash) at commit
// 54870a44b0531d1bad40b7a1a1f926253e41be56.
//
// Inclusion and consistency proofs: transparency-dev/merkle
// proof/verify_test.go (inclusionProofs, consistencyProofs; its `roots` and
// `leaves` are the same values as above) at commit
// 02194e9afb6c1d95b5381350007963aa70fff472. The same data is in
// certificate-transparency-go and Chromium's ct_log_verifier_unittest.cc.

const char* const kLeafInputs[] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

// kNodeHashes[level][index].
const std::vector<std::vector<const char*>> kNodeHashes = {
    {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    },
    {
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    },
    {
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    },
    {
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    },
};

// kRootHashes[size], size 0..8.
const char* const kRootHashes[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

// CompactTrees(): the peaks of every size 0..8, as {level, index} of
// kNodeHashes.
const std::vector<std::vector<NodeId>> kCompactTrees = {
    {},       {{0, 0}},         {{1, 0}},         {{1, 0}, {0, 2}},
    {{2, 0}}, {{2, 0}, {0, 4}}, {{2, 0}, {1, 2}}, {{2, 0}, {1, 2}, {0, 6}},
    {{3, 0}},
};

struct InclusionVector {
  uint64_t leaf;  // numbered from 1, as in the source: the index is leaf - 1
  uint64_t size;
  std::vector<const char*> proof;
};

const InclusionVector kInclusionProofs[] = {
    {1, 1, {}},
    {1,
     8,
     {
         "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
         "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
         "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
     }},
    {6,
     8,
     {
         "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
         "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     }},
    {3,
     3,
     {
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     }},
    {2,
     5,
     {
         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
         "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     }},
};

struct ConsistencyVector {
  uint64_t size1;
  uint64_t size2;
  std::vector<const char*> proof;
};

const ConsistencyVector kConsistencyProofs[] = {
    {1, 1, {}},
    {1,
     8,
     {
         "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
         "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
         "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
     }},
    {6,
     8,
     {
         "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
         "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     }},
    {2,
     5,
     {
         "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
         "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     }},
    {6,
     7,
     {
         "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
         "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     }},
};

std::vector<Hash> VectorLeafHashes() {
  std::vector<Hash> out;
  for (const char* input : kLeafInputs) {
    std::optional<std::string> bytes = HexDecode(input);
    EXPECT_TRUE(bytes.has_value());
    out.push_back(LeafHash(bytes.value_or("")));
  }
  return out;
}

// The published node hashes, as a storage layer would keep them.
std::map<NodeId, Hash> VectorNodeStore() {
  std::map<NodeId, Hash> store;
  for (std::size_t level = 0; level < kNodeHashes.size(); ++level) {
    for (std::size_t i = 0; i < kNodeHashes[level].size(); ++i) {
      store[{static_cast<uint8_t>(level), i}] = H(kNodeHashes[level][i]);
    }
  }
  return store;
}

std::vector<Hash> ToHashes(const std::vector<const char*>& hex) {
  std::vector<Hash> out;
  for (const char* h : hex) out.push_back(H(h));
  return out;
}

// Checks the alignment invariant of a proof range and its decomposition into
// nodes that a store of a `size`-leaf tree holds, and folds their hashes.
Hash RangeHashFromStore(Range range, uint64_t size,
                        const std::map<NodeId, Hash>& store) {
  if (range.begin >= range.end) {
    ADD_FAILURE() << "empty range";
    return Hash{};
  }
  const uint64_t n = range.end - range.begin;
  EXPECT_LE(range.end, size);
  EXPECT_EQ(range.begin % std::bit_ceil(n), 0u)
      << "unaligned range [" << range.begin << ", " << range.end << ")";
  std::vector<NodeId> nodes = PerfectSubtrees(range);
  EXPECT_EQ(nodes.size(), static_cast<std::size_t>(std::popcount(n)));
  std::vector<Hash> hashes;
  uint64_t at = range.begin;
  int previous_level = 64;
  for (const NodeId& id : nodes) {
    EXPECT_LT(id.level, previous_level) << "largest subtree first";
    previous_level = id.level;
    EXPECT_EQ(id.index << id.level, at) << "contiguous, left to right";
    at += uint64_t{1} << id.level;
    EXPECT_LE((id.index + 1) << id.level, size) << "node must be complete";
    auto it = store.find(id);
    if (it == store.end()) {
      ADD_FAILURE() << "node not stored: level " << int{id.level} << " index "
                    << id.index;
      continue;
    }
    hashes.push_back(it->second);
  }
  EXPECT_EQ(at, range.end) << "the nodes cover the range";
  return FoldSubtrees(hashes);
}

std::vector<Hash> ProofFromStore(const std::vector<Range>& ranges,
                                 uint64_t size,
                                 const std::map<NodeId, Hash>& store) {
  std::vector<Hash> proof;
  for (const Range& r : ranges) {
    proof.push_back(RangeHashFromStore(r, size, store));
  }
  return proof;
}

TEST(MerkleVectorsTest, EmptyTree) {
  const Hash empty = H(kRootHashes[0]);
  EXPECT_EQ(ToHex(EmptyRoot()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(RootOf({}), empty);
  EXPECT_EQ(CompactRange().Root(), empty);
  EXPECT_EQ(FoldSubtrees({}), empty);
}

TEST(MerkleVectorsTest, LeafHashes) {
  std::vector<Hash> leaves = VectorLeafHashes();
  ASSERT_EQ(leaves.size(), kNodeHashes[0].size());
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    EXPECT_EQ(ToHex(leaves[i]), kNodeHashes[0][i]) << "leaf " << i;
  }
}

TEST(MerkleVectorsTest, NodeHashes) {
  for (std::size_t level = 1; level < kNodeHashes.size(); ++level) {
    for (std::size_t i = 0; i < kNodeHashes[level].size(); ++i) {
      EXPECT_EQ(ToHex(NodeHash(H(kNodeHashes[level - 1][2 * i]),
                               H(kNodeHashes[level - 1][2 * i + 1]))),
                kNodeHashes[level][i])
          << "level " << level << " index " << i;
    }
  }
}

TEST(MerkleVectorsTest, RootOfEverySize) {
  std::vector<Hash> leaves = VectorLeafHashes();
  for (std::size_t size = 0; size <= leaves.size(); ++size) {
    EXPECT_EQ(ToHex(RootOf(std::span<const Hash>(leaves).first(size))),
              kRootHashes[size])
        << "size " << size;
  }
}

TEST(MerkleVectorsTest, InclusionProofs) {
  const std::map<NodeId, Hash> store = VectorNodeStore();
  const std::vector<Hash> leaves = VectorLeafHashes();
  for (const InclusionVector& v : kInclusionProofs) {
    SCOPED_TRACE(testing::Message() << "leaf " << v.leaf << " size " << v.size);
    const uint64_t index = v.leaf - 1;
    const std::vector<Hash> want = ToHashes(v.proof);
    EXPECT_EQ(
        ProofFromStore(InclusionProofRanges(index, v.size), v.size, store),
        want);
    EXPECT_TRUE(VerifyInclusion(leaves[index], index, v.size, want,
                                H(kRootHashes[v.size])));
  }
}

TEST(MerkleVectorsTest, ConsistencyProofs) {
  const std::map<NodeId, Hash> store = VectorNodeStore();
  for (const ConsistencyVector& v : kConsistencyProofs) {
    SCOPED_TRACE(testing::Message() << v.size1 << " -> " << v.size2);
    const std::vector<Hash> want = ToHashes(v.proof);
    EXPECT_EQ(ProofFromStore(ConsistencyProofRanges(v.size1, v.size2), v.size2,
                             store),
              want);
    EXPECT_TRUE(VerifyConsistency(v.size1, v.size2, H(kRootHashes[v.size1]),
                                  H(kRootHashes[v.size2]), want));
  }
}

TEST(MerkleVectorsTest, CompactRanges) {
  const std::map<NodeId, Hash> store = VectorNodeStore();
  const std::vector<Hash> leaves = VectorLeafHashes();
  CompactRange range;
  for (std::size_t size = 0;; ++size) {
    SCOPED_TRACE(testing::Message() << "size " << size);
    EXPECT_EQ(CompactRange::PeakIds(size), kCompactTrees[size]);
    std::vector<Hash> want;
    for (const NodeId& id : kCompactTrees[size]) want.push_back(store.at(id));
    EXPECT_EQ(range.peaks(), want);
    EXPECT_EQ(ToHex(range.Root()), kRootHashes[size]);
    if (size == leaves.size()) break;
    for (const auto& [id, hash] : range.Append(leaves[size])) {
      EXPECT_EQ(hash, store.at(id))
          << "level " << int{id.level} << " index " << id.index;
    }
  }
}

// Whether the proof of one size verifies for another depends only on the
// shape of the two proofs (see VerifyInclusion): here sizes 3 and 4.
TEST(MerkleVectorsTest, InclusionSizeIsBoundByTheTreeHeadNotTheProof) {
  const std::vector<Hash> leaves = VectorLeafHashes();
  const Hash root3 = H(kRootHashes[3]);
  const std::vector<Hash> proof = {leaves[1], leaves[2]};  // PATH(0, D[3])
  ASSERT_TRUE(VerifyInclusion(leaves[0], 0, 3, proof, root3));
  EXPECT_TRUE(VerifyInclusion(leaves[0], 0, 4, proof, root3));
  EXPECT_FALSE(VerifyInclusion(leaves[0], 0, 5, proof, root3));
  EXPECT_FALSE(VerifyInclusion(leaves[0], 0, 2, proof, root3));
}

// ---------------------------------------------------------------------------
// A naive reference written straight from RFC 6962 §2.1, with its own
// hashing, over the entries themselves.

std::string RefHashLeaf(const std::string& entry) {
  return crypto::Sha256(std::string(1, '\x00') + entry);
}

std::string RefHashNode(const std::string& left, const std::string& right) {
  return crypto::Sha256(std::string(1, '\x01') + left + right);
}

// "k is the largest power of two smaller than n (i.e., k < n <= 2k)".
std::size_t RefSplit(std::size_t n) {
  std::size_t k = 1;
  while (2 * k < n) k *= 2;
  return k;
}

using Entries = std::span<const std::string>;

std::string Mth(Entries d) {
  if (d.empty()) return crypto::Sha256("");
  if (d.size() == 1) return RefHashLeaf(d[0]);
  const std::size_t k = RefSplit(d.size());
  return RefHashNode(Mth(d.first(k)), Mth(d.subspan(k)));
}

std::vector<std::string> Path(std::size_t m, Entries d) {
  if (d.size() == 1) return {};
  const std::size_t k = RefSplit(d.size());
  std::vector<std::string> out;
  if (m < k) {
    out = Path(m, d.first(k));
    out.push_back(Mth(d.subspan(k)));
  } else {
    out = Path(m - k, d.subspan(k));
    out.push_back(Mth(d.first(k)));
  }
  return out;
}

std::vector<std::string> Subproof(std::size_t m, Entries d, bool b) {
  if (m == d.size()) {
    if (b) return {};
    return {Mth(d)};
  }
  const std::size_t k = RefSplit(d.size());
  std::vector<std::string> out;
  if (m <= k) {
    out = Subproof(m, d.first(k), b);
    out.push_back(Mth(d.subspan(k)));
  } else {
    out = Subproof(m - k, d.subspan(k), false);
    out.push_back(Mth(d.first(k)));
  }
  return out;
}

std::vector<std::string> Proof(std::size_t m, Entries d) {
  return Subproof(m, d, true);
}

// The shape of PATH(m, D[n]): bottom up, whether each element is a left
// sibling. It is all that RFC 9162 verification computes from (index, size),
// so a proof verifies for another (index, size) exactly when the shapes
// match. nullopt when there is no such proof.
std::optional<std::vector<bool>> InclusionShape(uint64_t m, uint64_t n) {
  if (m >= n) return std::nullopt;
  if (n == 1) return std::vector<bool>{};
  const uint64_t k = RefSplit(n);
  auto shape = m < k ? InclusionShape(m, k) : InclusionShape(m - k, n - k);
  shape->push_back(m >= k);
  return shape;
}

// The shape of PROOF(m, D[n]) for the consistency verifier: whether the first
// hash is the old root (known to the verifier, so not in the proof), and
// bottom up whether each further element is a left sibling (folded into both
// roots) or a right one (only the new root).
struct ConsistencyShape {
  bool starts_at_old_root;
  std::vector<bool> left;
  bool operator==(const ConsistencyShape&) const = default;
};

ConsistencyShape SubproofShape(uint64_t m, uint64_t n, bool b) {
  if (m == n) return {b, {}};
  const uint64_t k = RefSplit(n);
  ConsistencyShape shape =
      m <= k ? SubproofShape(m, k, b) : SubproofShape(m - k, n - k, false);
  shape.left.push_back(m > k);
  return shape;
}

std::optional<ConsistencyShape> ProofShape(uint64_t m, uint64_t n) {
  if (m == 0 || m >= n) return std::nullopt;  // no RFC 9162 proof
  return SubproofShape(m, n, true);
}

constexpr uint64_t kMaxSize = 64;

class MerklePropertyTest : public testing::Test {
 protected:
  MerklePropertyTest() {
    for (uint64_t i = 0; i < kMaxSize; ++i) {
      // Varied lengths, including the empty entry.
      entries_.push_back(std::string(i % 5, static_cast<char>('a' + i % 26)) +
                         (i == 0 ? "" : std::to_string(i)));
      leaves_.push_back(LeafHash(entries_.back()));
    }
    // Every perfect subtree of the largest tree; appends never change a
    // node, so it serves every smaller tree too.
    for (int level = 0; (uint64_t{1} << level) <= kMaxSize; ++level) {
      for (uint64_t i = 0; ((i + 1) << level) <= kMaxSize; ++i) {
        store_[{static_cast<uint8_t>(level), i}] = FromBytes(
            Mth(Entries(entries_).subspan(i << level, uint64_t{1} << level)));
      }
    }
  }

  Entries Prefix(uint64_t n) const { return Entries(entries_).first(n); }
  Hash Root(uint64_t n) const { return FromBytes(Mth(Prefix(n))); }

  std::vector<std::string> entries_;
  std::vector<Hash> leaves_;
  std::map<NodeId, Hash> store_;
};

TEST_F(MerklePropertyTest, LeafAndRootMatchReference) {
  for (uint64_t n = 0; n <= kMaxSize; ++n) {
    if (n > 0) {
      EXPECT_EQ(Bytes(leaves_[n - 1]), RefHashLeaf(entries_[n - 1]));
    }
    EXPECT_EQ(Bytes(RootOf(std::span<const Hash>(leaves_).first(n))),
              Mth(Prefix(n)))
        << "size " << n;
  }
}

TEST_F(MerklePropertyTest, InclusionProofsMatchReference) {
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    for (uint64_t m = 0; m < n; ++m) {
      SCOPED_TRACE(testing::Message() << "index " << m << " size " << n);
      EXPECT_EQ(ProofFromStore(InclusionProofRanges(m, n), n, store_),
                Hashes(Path(m, Prefix(n))));
    }
  }
}

TEST_F(MerklePropertyTest, ConsistencyProofsMatchReference) {
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      SCOPED_TRACE(testing::Message() << m << " -> " << n);
      EXPECT_EQ(ProofFromStore(ConsistencyProofRanges(m, n), n, store_),
                Hashes(Proof(m, Prefix(n))));
    }
  }
}

TEST_F(MerklePropertyTest, VerifyInclusionAcceptsOnlyTheProof) {
  int other_sizes_accepted = 0;
  int other_sizes_rejected = 0;
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    const Hash root = Root(n);
    for (uint64_t m = 0; m < n; ++m) {
      SCOPED_TRACE(testing::Message() << "index " << m << " size " << n);
      const Hash& leaf = leaves_[m];
      const std::vector<Hash> path = Hashes(Path(m, Prefix(n)));
      ASSERT_TRUE(VerifyInclusion(leaf, m, n, path, root));

      for (std::size_t i = 0; i < path.size(); ++i) {
        for (const Hash& bad : Corruptions(path[i])) {
          std::vector<Hash> p = path;
          p[i] = bad;
          EXPECT_FALSE(VerifyInclusion(leaf, m, n, p, root)) << "element " << i;
        }
      }
      for (const Hash& bad : Corruptions(leaf)) {
        EXPECT_FALSE(VerifyInclusion(bad, m, n, path, root));
      }
      for (const Hash& bad : Corruptions(root)) {
        EXPECT_FALSE(VerifyInclusion(leaf, m, n, path, bad));
      }

      for (uint64_t j = 0; j <= n + 1; ++j) {
        if (j == m) continue;
        EXPECT_FALSE(VerifyInclusion(leaf, j, n, path, root)) << "index " << j;
      }
      EXPECT_FALSE(VerifyInclusion(leaf, std::numeric_limits<uint64_t>::max(),
                                   n, path, root));

      for (uint64_t s = 0; s <= 2 * kMaxSize + 1; ++s) {
        if (s == n) continue;
        const bool same_shape = InclusionShape(m, s) == InclusionShape(m, n);
        EXPECT_EQ(VerifyInclusion(leaf, m, s, path, root), same_shape)
            << "size " << s;
        ++(same_shape ? other_sizes_accepted : other_sizes_rejected);
      }

      if (!path.empty()) {
        std::vector<Hash> p(path.begin(), path.end() - 1);
        EXPECT_FALSE(VerifyInclusion(leaf, m, n, p, root)) << "without last";
        p.assign(path.begin() + 1, path.end());
        EXPECT_FALSE(VerifyInclusion(leaf, m, n, p, root)) << "without first";
      }
      for (const Hash& extra : {root, leaf, Hash{}}) {
        std::vector<Hash> p = path;
        p.push_back(extra);
        EXPECT_FALSE(VerifyInclusion(leaf, m, n, p, root)) << "appended";
        p.pop_back();
        p.insert(p.begin(), extra);
        EXPECT_FALSE(VerifyInclusion(leaf, m, n, p, root)) << "prepended";
      }
    }
  }
  // Both outcomes of the shape rule occur, so neither is checked vacuously.
  EXPECT_GT(other_sizes_accepted, 0);
  EXPECT_GT(other_sizes_rejected, 0);
}

TEST_F(MerklePropertyTest, VerifyConsistencyAcceptsOnlyTheProof) {
  int other_sizes_accepted = 0;
  int other_sizes_rejected = 0;
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    const Hash root2 = Root(n);
    for (uint64_t m = 1; m <= n; ++m) {
      SCOPED_TRACE(testing::Message() << m << " -> " << n);
      const Hash root1 = Root(m);
      const std::vector<Hash> proof = Hashes(Proof(m, Prefix(n)));
      ASSERT_TRUE(VerifyConsistency(m, n, root1, root2, proof));

      for (std::size_t i = 0; i < proof.size(); ++i) {
        for (const Hash& bad : Corruptions(proof[i])) {
          std::vector<Hash> p = proof;
          p[i] = bad;
          EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, p))
              << "element " << i;
        }
      }
      for (const Hash& bad : Corruptions(root1)) {
        EXPECT_FALSE(VerifyConsistency(m, n, bad, root2, proof));
      }
      for (const Hash& bad : Corruptions(root2)) {
        EXPECT_FALSE(VerifyConsistency(m, n, root1, bad, proof));
      }
      if (m != n) {
        EXPECT_FALSE(VerifyConsistency(m, n, root2, root1, proof)) << "swapped";
      }

      for (uint64_t f = 0; f <= n + 1; ++f) {
        if (f == m) continue;
        const bool same_shape = m < n && ProofShape(f, n) == ProofShape(m, n);
        EXPECT_EQ(VerifyConsistency(f, n, root1, root2, proof), same_shape)
            << "first " << f;
        ++(same_shape ? other_sizes_accepted : other_sizes_rejected);
      }
      for (uint64_t s = m - 1; s <= 2 * kMaxSize + 1; ++s) {
        if (s == n) continue;
        const bool same_shape = m < n && ProofShape(m, s) == ProofShape(m, n);
        EXPECT_EQ(VerifyConsistency(m, s, root1, root2, proof), same_shape)
            << "second " << s;
        ++(same_shape ? other_sizes_accepted : other_sizes_rejected);
      }

      if (!proof.empty()) {
        std::vector<Hash> p(proof.begin(), proof.end() - 1);
        EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, p))
            << "without last";
        p.assign(proof.begin() + 1, proof.end());
        EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, p))
            << "without first";
      }
      for (const Hash& extra : {root1, root2, Hash{}}) {
        std::vector<Hash> p = proof;
        p.push_back(extra);
        EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, p)) << "appended";
        p.pop_back();
        p.insert(p.begin(), extra);
        EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, p)) << "prepended";
      }
    }
  }
  EXPECT_GT(other_sizes_accepted, 0);
  EXPECT_GT(other_sizes_rejected, 0);
}

TEST_F(MerklePropertyTest, CompactRangeAppendsLeafByLeaf) {
  CompactRange range;
  for (uint64_t size = 0;; ++size) {
    SCOPED_TRACE(testing::Message() << "size " << size);
    EXPECT_EQ(range.size(), size);
    EXPECT_EQ(range.Root(), RootOf(std::span<const Hash>(leaves_).first(size)));
    EXPECT_EQ(range.Root(), Root(size));
    std::vector<Hash> want;
    for (const NodeId& id : CompactRange::PeakIds(size)) {
      want.push_back(store_.at(id));
    }
    EXPECT_EQ(range.peaks(), want);
    if (size == kMaxSize) break;

    // The new leaf completes the nodes whose last leaf it is: one per level
    // up to the number of trailing zeros of the new size.
    std::vector<std::pair<NodeId, Hash>> expected;
    for (int level = 0; level <= std::countr_zero(size + 1); ++level) {
      const NodeId id{static_cast<uint8_t>(level), ((size + 1) >> level) - 1};
      expected.emplace_back(id, store_.at(id));
    }
    EXPECT_EQ(range.Append(leaves_[size]), expected);
  }
}

TEST_F(MerklePropertyTest, CompactRangeFromPeaksRoundTrip) {
  for (uint64_t size = 0; size <= kMaxSize; ++size) {
    SCOPED_TRACE(testing::Message() << "size " << size);
    std::vector<Hash> peaks;
    for (const NodeId& id : CompactRange::PeakIds(size)) {
      peaks.push_back(store_.at(id));
    }
    Result<CompactRange> range = CompactRange::FromPeaks(size, peaks);
    ASSERT_TRUE(range.has_value()) << range.error().ToString();
    EXPECT_EQ(range->size(), size);
    EXPECT_EQ(range->peaks(), peaks);
    EXPECT_EQ(range->Root(), Root(size));
    // It grows exactly as the tree it was taken from.
    for (uint64_t next = size; next < kMaxSize; ++next) {
      for (const auto& [id, hash] : range->Append(leaves_[next])) {
        EXPECT_EQ(hash, store_.at(id));
      }
    }
    EXPECT_EQ(range->Root(), Root(kMaxSize));
  }
}

// ---------------------------------------------------------------------------
// Edge cases.

TEST(PerfectSubtreesTest, AlignedRanges) {
  using V = std::vector<NodeId>;
  EXPECT_EQ(PerfectSubtrees({0, 1}), (V{{0, 0}}));
  EXPECT_EQ(PerfectSubtrees({0, 8}), (V{{3, 0}}));
  EXPECT_EQ(PerfectSubtrees({6, 8}), (V{{1, 3}}));
  EXPECT_EQ(PerfectSubtrees({4, 7}), (V{{1, 2}, {0, 6}}));
  EXPECT_EQ(PerfectSubtrees({8, 13}), (V{{2, 2}, {0, 12}}));
  EXPECT_EQ(PerfectSubtrees({0, 13}), (V{{3, 0}, {2, 2}, {0, 12}}));
  EXPECT_EQ(PerfectSubtrees({16, 24}), (V{{3, 2}}));
  // The extremes of uint64_t.
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(PerfectSubtrees({0, kMax}).size(), 64u);
  EXPECT_EQ(PerfectSubtrees({0, kMax}).front(), (NodeId{63, 0}));
  EXPECT_EQ(PerfectSubtrees({uint64_t{1} << 63, kMax}).size(), 63u);
}

TEST(PerfectSubtreesTest, RejectsEmptyAndUnalignedRanges) {
  EXPECT_TRUE(PerfectSubtrees({3, 3}).empty());
  EXPECT_TRUE(PerfectSubtrees({5, 3}).empty());
  EXPECT_TRUE(PerfectSubtrees({1, 3}).empty());  // 2 leaves not at even
  EXPECT_TRUE(PerfectSubtrees({2, 5}).empty());  // 3 leaves need 4-aligned
  EXPECT_TRUE(PerfectSubtrees({4, 9}).empty());  // 5 leaves need 8-aligned
  EXPECT_TRUE(
      PerfectSubtrees({1, std::numeric_limits<uint64_t>::max()}).empty());
}

TEST(FoldSubtreesTest, FoldsRightToLeft) {
  const Hash a = LeafHash("a"), b = LeafHash("b"), c = LeafHash("c");
  EXPECT_EQ(FoldSubtrees(std::vector<Hash>{a}), a);
  EXPECT_EQ(FoldSubtrees(std::vector<Hash>{a, b}), NodeHash(a, b));
  EXPECT_EQ(FoldSubtrees(std::vector<Hash>{a, b, c}),
            NodeHash(a, NodeHash(b, c)));
}

TEST(ProofRangesTest, InvalidArgumentsGiveNoRanges) {
  EXPECT_TRUE(InclusionProofRanges(0, 0).empty());
  EXPECT_TRUE(InclusionProofRanges(5, 5).empty());
  EXPECT_TRUE(InclusionProofRanges(0, 1).empty());  // the valid empty proof
  EXPECT_TRUE(ConsistencyProofRanges(0, 5).empty());
  EXPECT_TRUE(ConsistencyProofRanges(6, 5).empty());
  EXPECT_TRUE(ConsistencyProofRanges(5, 5).empty());  // the valid empty proof
}

TEST(ProofRangesTest, LargeTreesStayLogarithmic) {
  constexpr uint64_t kSize = (uint64_t{1} << 40) + 12345;
  std::vector<Range> inclusion = InclusionProofRanges(kSize - 2, kSize);
  EXPECT_LE(inclusion.size(), 41u);
  std::vector<Range> consistency = ConsistencyProofRanges(kSize / 3, kSize);
  EXPECT_LE(consistency.size(), 2 * 41u);
  std::size_t nodes = 0;
  for (const auto& ranges : {inclusion, consistency}) {
    for (const Range& r : ranges) {
      std::vector<NodeId> ids = PerfectSubtrees(r);
      EXPECT_FALSE(ids.empty()) << "[" << r.begin << ", " << r.end << ")";
      nodes += ids.size();
    }
  }
  EXPECT_LE(nodes, 4 * 41u);
}

TEST(VerifyTest, DegenerateSizes) {
  const Hash leaf = LeafHash("x");
  const Hash other = LeafHash("y");
  EXPECT_TRUE(VerifyInclusion(leaf, 0, 1, {}, leaf));
  EXPECT_FALSE(VerifyInclusion(leaf, 0, 1, {}, other));
  EXPECT_FALSE(VerifyInclusion(leaf, 0, 0, {}, leaf));
  EXPECT_FALSE(VerifyInclusion(leaf, 1, 1, {}, leaf));

  const Hash empty = EmptyRoot();
  EXPECT_TRUE(VerifyConsistency(0, 0, empty, empty, {}));
  EXPECT_TRUE(VerifyConsistency(0, 7, empty, other, {}));
  EXPECT_FALSE(VerifyConsistency(0, 7, leaf, other, {}));
  EXPECT_FALSE(VerifyConsistency(0, 7, empty, other, std::vector<Hash>{leaf}));
  EXPECT_TRUE(VerifyConsistency(3, 3, leaf, leaf, {}));
  EXPECT_FALSE(VerifyConsistency(3, 3, leaf, other, {}));
  EXPECT_FALSE(VerifyConsistency(3, 3, leaf, leaf, std::vector<Hash>{leaf}));
  EXPECT_FALSE(VerifyConsistency(4, 3, leaf, other, std::vector<Hash>{leaf}));
  EXPECT_FALSE(VerifyConsistency(1, 2, leaf, other, {}));
}

TEST(CompactRangeTest, FromPeaksChecksTheCount) {
  const Hash h = LeafHash("x");
  EXPECT_TRUE(CompactRange::FromPeaks(0, {}).has_value());
  EXPECT_EQ(CompactRange::FromPeaks(0, {h}).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CompactRange::FromPeaks(5, {h}).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CompactRange::FromPeaks(5, {h, h, h}).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(CompactRange::FromPeaks(5, {h, h}).has_value());
}

TEST(CompactRangeTest, PeakIds) {
  using V = std::vector<NodeId>;
  EXPECT_EQ(CompactRange::PeakIds(0), V{});
  EXPECT_EQ(CompactRange::PeakIds(13), (V{{3, 0}, {2, 2}, {0, 12}}));
  EXPECT_EQ(CompactRange::PeakIds(std::numeric_limits<uint64_t>::max()).size(),
            64u);
}

TEST(HexTest, RoundTripAndRejects) {
  const Hash h = LeafHash("x");
  EXPECT_EQ(HashFromHex(ToHex(h)), h);
  std::string upper = ToHex(h);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(HashFromHex(upper), h);
  EXPECT_EQ(ToHex(h).size(), 64u);
  EXPECT_FALSE(HashFromHex(""));
  EXPECT_FALSE(HashFromHex(ToHex(h).substr(1)));
  EXPECT_FALSE(HashFromHex(ToHex(h) + "0"));
  EXPECT_FALSE(HashFromHex(ToHex(h) + "00"));
  std::string bad = ToHex(h);
  bad[10] = 'g';
  EXPECT_FALSE(HashFromHex(bad));
}

}  // namespace
}  // namespace piivault::audit
