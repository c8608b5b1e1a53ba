#include "audit/merkle.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "base/encoding.h"
#include "crypto/hash.h"

namespace piivault::audit {
namespace {

constexpr char kLeafPrefix = '\x00';
constexpr char kNodePrefix = '\x01';

Hash Sha256(std::string_view data) {
  static_assert(crypto::kSha256Size == sizeof(Hash));
  Hash out;
  std::memcpy(out.data(), crypto::Sha256(data).data(), out.size());
  return out;
}

std::string_view Bytes(const Hash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

// k of RFC 6962 §2.1: the largest power of two smaller than n. REQUIRES n > 1.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

constexpr uint64_t Bit(int level) { return uint64_t{1} << level; }

bool IsOdd(uint64_t n) { return (n & 1) != 0; }

// Step iii shared by both RFC 9162 verifiers: an even fn here is the last
// node of its level (fn == sn), so it rises unchanged through the levels
// where it has no right sibling, and those add no proof element.
void SkipRightEdge(uint64_t& fn, uint64_t& sn) {
  while (!IsOdd(fn) && fn != 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

}  // namespace

Hash LeafHash(std::string_view entry) {
  std::string input;
  input.reserve(1 + entry.size());
  input.push_back(kLeafPrefix);
  input.append(entry);
  return Sha256(input);
}

Hash NodeHash(const Hash& left, const Hash& right) {
  std::array<char, 1 + 2 * sizeof(Hash)> input;
  input[0] = kNodePrefix;
  std::memcpy(input.data() + 1, left.data(), left.size());
  std::memcpy(input.data() + 1 + left.size(), right.data(), right.size());
  return Sha256({input.data(), input.size()});
}

Hash EmptyRoot() { return Sha256(""); }

Hash RootOf(std::span<const Hash> leaf_hashes) {
  CompactRange range;
  for (const Hash& leaf : leaf_hashes) range.Push(leaf, nullptr);
  return range.Root();
}

std::vector<Range> InclusionProofRanges(uint64_t index, uint64_t size) {
  std::vector<Range> ranges;
  if (index >= size) return ranges;
  // Walk down from the root; the sibling of each subtree on the way is one
  // element, and PATH lists them bottom up.
  Range at{0, size};
  while (at.end - at.begin > 1) {
    const uint64_t mid = at.begin + SplitPoint(at.end - at.begin);
    if (index < mid) {
      ranges.push_back({mid, at.end});
      at.end = mid;
    } else {
      ranges.push_back({at.begin, mid});
      at.begin = mid;
    }
  }
  std::reverse(ranges.begin(), ranges.end());
  return ranges;
}

std::vector<Range> ConsistencyProofRanges(uint64_t first, uint64_t second) {
  std::vector<Range> ranges;
  if (first == 0 || first > second) return ranges;
  // SUBPROOF(m, D[at], b) of RFC 6962 §2.1.2, unrolled: m counts the old
  // tree's leaves inside `at`, and `whole` is b (the old tree so far is the
  // whole left edge, so its root is known to the verifier).
  Range at{0, second};
  uint64_t m = first;
  bool whole = true;
  while (m != at.end - at.begin) {
    const uint64_t k = SplitPoint(at.end - at.begin);
    const uint64_t mid = at.begin + k;
    if (m <= k) {
      ranges.push_back({mid, at.end});
      at.end = mid;
    } else {
      ranges.push_back({at.begin, mid});
      at.begin = mid;
      m -= k;
      whole = false;
    }
  }
  if (!whole) ranges.push_back(at);
  std::reverse(ranges.begin(), ranges.end());
  return ranges;
}

std::vector<NodeId> PerfectSubtrees(Range range) {
  std::vector<NodeId> nodes;
  if (range.end <= range.begin) return nodes;
  const uint64_t n = range.end - range.begin;
  // Aligned: begin is a multiple of bit_ceil(n) (countr_zero(0) is 64).
  if (std::countr_zero(range.begin) < static_cast<int>(std::bit_width(n - 1))) {
    return nodes;
  }
  uint64_t at = range.begin;
  for (int level = 63; level >= 0; --level) {
    if ((n & Bit(level)) == 0) continue;
    nodes.push_back({static_cast<uint8_t>(level), at >> level});
    at += Bit(level);
  }
  return nodes;
}

Hash FoldSubtrees(std::span<const Hash> subtree_hashes) {
  if (subtree_hashes.empty()) return EmptyRoot();
  Hash hash = subtree_hashes.back();
  for (std::size_t i = subtree_hashes.size() - 1; i-- > 0;) {
    hash = NodeHash(subtree_hashes[i], hash);
  }
  return hash;
}

bool VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                     std::span<const Hash> path, const Hash& root) {
  if (index >= size) return false;
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : path) {
    if (sn == 0) return false;  // more elements than the tree has levels
    if (IsOdd(fn) || fn == sn) {
      r = NodeHash(p, r);
      SkipRightEdge(fn, sn);
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t first, uint64_t second, const Hash& first_root,
                       const Hash& second_root, std::span<const Hash> proof) {
  if (first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  if (first == 0) return proof.empty() && first_root == EmptyRoot();
  if (proof.empty()) return false;

  // A power-of-two first tree is a perfect subtree whose root the verifier
  // already has, so the proof omits it (the RFC's "prepend first_hash").
  std::size_t next = 0;
  Hash fr = std::has_single_bit(first) ? first_root : proof[next++];
  Hash sr = fr;
  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  while (IsOdd(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  for (; next < proof.size(); ++next) {
    const Hash& c = proof[next];
    if (sn == 0) return false;
    if (IsOdd(fn) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      SkipRightEdge(fn, sn);
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == first_root && sr == second_root;
}

Result<CompactRange> CompactRange::FromPeaks(uint64_t size,
                                             std::vector<Hash> peaks) {
  if (peaks.size() != static_cast<std::size_t>(std::popcount(size))) {
    return Err(InvalidArgument(
        "a compact range needs one peak per set bit of the tree size"));
  }
  return CompactRange(size, std::move(peaks));
}

std::vector<NodeId> CompactRange::PeakIds(uint64_t size) {
  return PerfectSubtrees({0, size});
}

std::vector<std::pair<NodeId, Hash>> CompactRange::Append(
    const Hash& leaf_hash) {
  std::vector<std::pair<NodeId, Hash>> completed;
  Push(leaf_hash, &completed);
  return completed;
}

void CompactRange::Push(const Hash& leaf_hash,
                        std::vector<std::pair<NodeId, Hash>>* completed) {
  if (size_ == std::numeric_limits<uint64_t>::max()) {
    // 2^64 - 1 leaves is unreachable; a silently wrong tree would be worse.
    std::fputs("piivault: fatal: Merkle tree size overflow\n", stderr);
    std::abort();
  }
  // Like binary increment: each set low bit of size_ is a peak that the new
  // leaf's subtree now completes into one twice its size.
  Hash hash = leaf_hash;
  uint64_t index = size_;
  int level = 0;
  if (completed != nullptr) completed->push_back({{0, index}, hash});
  while ((size_ & Bit(level)) != 0) {
    hash = NodeHash(peaks_.back(), hash);
    peaks_.pop_back();
    ++level;
    index >>= 1;
    if (completed != nullptr) {
      completed->push_back({{static_cast<uint8_t>(level), index}, hash});
    }
  }
  peaks_.push_back(hash);
  ++size_;
}

Hash CompactRange::Root() const { return FoldSubtrees(peaks_); }

std::string ToHex(const Hash& hash) { return HexEncode(Bytes(hash)); }

std::optional<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != 2 * sizeof(Hash)) return std::nullopt;
  std::optional<std::string> bytes = HexDecode(hex);
  if (!bytes) return std::nullopt;
  Hash hash;
  std::memcpy(hash.data(), bytes->data(), hash.size());
  return hash;
}

}  // namespace piivault::audit
