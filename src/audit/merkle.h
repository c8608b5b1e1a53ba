// Merkle tree math of RFC 6962 §2.1 (the same as RFC 9162 §2.1): pure
// functions, no storage.
//
//   leaf hash   SHA-256(0x00 || entry)
//   node hash   SHA-256(0x01 || left || right)
//   empty tree  SHA-256("")
//
// A storage layer keeps the hash of every perfect subtree, keyed by NodeId,
// and answers a proof by reading the PerfectSubtrees() of each of its ranges
// (O(log n) nodes a range) and folding them with FoldSubtrees().
//
// Alignment invariant: every Range returned by InclusionProofRanges() and
// ConsistencyProofRanges() is a subtree that MTH's recursion visits, so its
// `begin` is a multiple of std::bit_ceil(end - begin). Such a range is the
// concatenation of popcount(end - begin) perfect subtrees of the whole tree,
// largest first, and its MTH is their hashes folded right to left.
//
// Thread safety: free functions are thread-safe; CompactRange is like a
// value type (const methods may be shared).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace piivault::audit {

using Hash = std::array<uint8_t, 32>;

Hash LeafHash(std::string_view entry);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyRoot();
// MTH(D[n]) of the leaves with these leaf hashes; EmptyRoot() for none.
Hash RootOf(std::span<const Hash> leaf_hashes);

// A perfect subtree: the 2^level leaves [index << level, (index + 1) << level).
struct NodeId {
  uint8_t level;
  uint64_t index;
  auto operator<=>(const NodeId&) const = default;
};

// The leaves [begin, end) of a tree.
struct Range {
  uint64_t begin;
  uint64_t end;
  bool operator==(const Range&) const = default;
};

// The ranges whose MTHs are PATH(index, D[size]) (RFC 6962 §2.1.1), in proof
// order (bottom up). REQUIRES: index < size; empty otherwise.
std::vector<Range> InclusionProofRanges(uint64_t index, uint64_t size);

// The ranges whose MTHs are PROOF(first, D[second]) (RFC 6962 §2.1.2), in
// proof order. REQUIRES: 0 < first <= second (first == second gives the empty
// proof); empty otherwise.
std::vector<Range> ConsistencyProofRanges(uint64_t first, uint64_t second);

// The perfect subtrees that make up `range`, left to right (largest first).
// Empty when the range is empty or breaks the alignment invariant above: its
// MTH then is not made of stored nodes.
std::vector<NodeId> PerfectSubtrees(Range range);

// The MTH of a range from the hashes of its PerfectSubtrees(): MTH splits at
// the largest power of two, so the fold runs right to left. EmptyRoot() for
// none.
Hash FoldSubtrees(std::span<const Hash> subtree_hashes);

// RFC 9162 §2.1.3.2: whether `path` proves the leaf at `index` in the tree of
// `size` leaves with root `root`.
//
// The size is not bound by the root: a proof also verifies for another size
// whose proof has the same shape (e.g. index 0 of sizes 3 and 4). That is
// inherent to RFC 6962; callers take the size from the signed tree head.
bool VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                     std::span<const Hash> path, const Hash& root);

// RFC 9162 §2.1.4.2 for 0 < first < second. Beyond the RFC: first == second
// needs an empty proof and equal roots; first == 0 needs an empty proof and
// first_root == EmptyRoot() (an empty tree is a prefix of every tree).
bool VerifyConsistency(uint64_t first, uint64_t second, const Hash& first_root,
                       const Hash& second_root, std::span<const Hash> proof);

// The right edge of a tree, enough to append to it and compute its root: one
// hash per set bit of size(), the largest subtree first (its "peaks").
class CompactRange {
 public:
  CompactRange() = default;  // the empty tree

  // kInvalidArgument unless peaks.size() == popcount(size).
  static Result<CompactRange> FromPeaks(uint64_t size, std::vector<Hash> peaks);

  // Which perfect subtrees are the peaks of a tree of `size` leaves, in
  // peaks() order: the nodes to read to rebuild it with FromPeaks().
  static std::vector<NodeId> PeakIds(uint64_t size);

  // Appends a leaf and returns the perfect subtrees it completes, bottom up:
  // the leaf itself (level 0) and every ancestor whose last leaf it is.
  // REQUIRES: size() < 2^64 - 1 (aborts otherwise).
  std::vector<std::pair<NodeId, Hash>> Append(const Hash& leaf_hash);

  Hash Root() const;  // MTH(D[size()])
  uint64_t size() const { return size_; }
  const std::vector<Hash>& peaks() const { return peaks_; }

 private:
  friend Hash RootOf(std::span<const Hash> leaf_hashes);

  CompactRange(uint64_t size, std::vector<Hash> peaks)
      : size_(size), peaks_(std::move(peaks)) {}
  // Append() that records the completed nodes only when `completed` is set.
  void Push(const Hash& leaf_hash,
            std::vector<std::pair<NodeId, Hash>>* completed);

  uint64_t size_ = 0;
  std::vector<Hash> peaks_;
};

std::string ToHex(const Hash& hash);  // lowercase
// nullopt unless exactly 64 hex digits.
std::optional<Hash> HashFromHex(std::string_view hex);

}  // namespace piivault::audit
