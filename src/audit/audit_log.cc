#include "audit/audit_log.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <future>
#include <thread>

#include "base/encoding.h"
#include "base/retry.h"

namespace piivault::audit {
namespace {

namespace json = boost::json;

constexpr int kMaxAttempts = 64;
// Attempts to append pause below this, doubling up to 64x, between them.
constexpr std::chrono::microseconds kRetryBackoff{100};
constexpr std::size_t kMaxGroup = 8192;
constexpr std::size_t kGatherTarget = 16;
constexpr std::chrono::microseconds kGatherWindow{300};
constexpr uint8_t kTileHeight = 8;
constexpr uint64_t kTileWidth = uint64_t{1} << kTileHeight;

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Prefix(std::string_view log) {
  return "audit/" + std::string(log) + "/";
}
std::string SizeKey(std::string_view log) { return Prefix(log) + "size"; }
std::string HeadKey(std::string_view log) { return Prefix(log) + "head"; }
std::string CheckpointKey(std::string_view log) {
  return Prefix(log) + "pruned";
}
constexpr std::string_view kIndexPrefix = "audit-log/";
std::string IndexKey(std::string_view log) {
  return std::string(kIndexPrefix) + std::string(log);
}
std::string EntryPrefix(std::string_view log) { return Prefix(log) + "e/"; }
std::string RunKey(std::string_view log, uint64_t first) {
  return EntryPrefix(log) + Hex16(first);
}
std::string TileKey(std::string_view log, std::size_t level, uint64_t tile) {
  char l[3];
  std::snprintf(l, sizeof l, "%02zx", level);
  return Prefix(log) + "tile/" + l + "/" + Hex16(tile);
}

std::optional<uint64_t> ParseHex16(std::string_view hex) {
  if (hex.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : hex) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

std::string EncodeSize(uint64_t size) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, size >>= 8)
    out[static_cast<std::size_t>(i)] = static_cast<char>(size & 0xff);
  return out;
}

Result<uint64_t> DecodeSize(std::string_view raw) {
  if (raw.size() != 8) return Err(DataLoss("audit log size is malformed"));
  uint64_t v = 0;
  for (unsigned char c : raw) v = (v << 8) | c;
  return v;
}

std::string_view AsBytes(const Hash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

Status WriteFailed(const Status& cause) {
  return Unavailable("the audit log cannot be written: " + cause.message());
}

// Signed heads and prune checkpoints are both signed statements about a log:
// a tag, the log id, a count and a time, then the signer's key id and the
// signature.

std::string StatementBytes(std::string_view tag, std::string_view log_id,
                           uint64_t count, int64_t timestamp) {
  std::string out(tag);
  out.push_back('\0');
  out.append(log_id).push_back('\0');
  out.append(EncodeSize(count));
  out.append(EncodeSize(static_cast<uint64_t>(timestamp)));
  return out;
}

void PutSignature(json::object& o, int64_t timestamp, std::string_view key_id,
                  std::string_view signature) {
  o["timestamp"] = FormatRfc3339(FromUnixMicros(timestamp * 1'000'000));
  o["key_id"] = key_id;
  o["signature"] = Base64Encode(signature);
}

std::optional<std::string> GetString(const json::object& o,
                                     std::string_view name) {
  auto* m = o.if_contains(name);
  if (!m || !m->is_string()) return std::nullopt;
  return std::string(m->get_string());
}

std::optional<uint64_t> GetCount(const json::object& o, std::string_view name) {
  auto* m = o.if_contains(name);
  if (m && m->is_uint64()) return m->get_uint64();
  if (m && m->is_int64() && m->get_int64() >= 0)
    return static_cast<uint64_t>(m->get_int64());
  return std::nullopt;
}

// Reads timestamp, key_id and signature into the statement's members.
template <typename Statement>
bool GetSignature(const json::object& o, Statement& out) {
  auto at = GetString(o, "timestamp");
  auto key_id = GetString(o, "key_id");
  auto signature = GetString(o, "signature");
  auto time = at ? ParseRfc3339(*at) : std::nullopt;
  auto sig = signature ? Base64Decode(*signature) : std::nullopt;
  if (!time || !key_id || !sig) return false;
  out.timestamp = ToUnixMicros(*time) / 1'000'000;
  out.key_id = std::move(*key_id);
  out.signature = std::move(*sig);
  return true;
}

std::optional<json::object> ParseObject(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

}  // namespace

// ---------------------------------------------------------------------------
// Signed heads and prune checkpoints

std::string SignedHead::SignedBytes() const {
  return StatementBytes("piivault-tree-head-v1", log_id, tree_size, timestamp) +
         std::string(AsBytes(root));
}

std::string SignedHead::ToJson() const {
  json::object o{{"log_id", log_id},
                 {"tree_size", tree_size},
                 {"root_hash", audit::ToHex(root)}};
  PutSignature(o, timestamp, key_id, signature);
  return json::serialize(o);
}

Result<SignedHead> SignedHead::FromJson(std::string_view text) {
  auto o = ParseObject(text);
  if (!o) return Err(InvalidArgument("not a signed tree head"));
  SignedHead head;
  auto log_id = GetString(*o, "log_id");
  auto size = GetCount(*o, "tree_size");
  auto root = GetString(*o, "root_hash");
  auto hash = root ? HashFromHex(*root) : std::nullopt;
  if (!log_id || !size || !hash || !GetSignature(*o, head))
    return Err(InvalidArgument("not a signed tree head"));
  head.log_id = std::move(*log_id);
  head.tree_size = *size;
  head.root = *hash;
  return head;
}

bool SignedHead::Verify(std::string_view public_key) const {
  return crypto::Ed25519Verify(public_key, SignedBytes(), signature);
}

std::string PruneCheckpoint::SignedBytes() const {
  return StatementBytes("piivault-audit-pruned-v1", log_id, pruned_before,
                        timestamp);
}

std::string PruneCheckpoint::ToJson() const {
  json::object o{{"log_id", log_id}, {"pruned_before", pruned_before}};
  PutSignature(o, timestamp, key_id, signature);
  return json::serialize(o);
}

Result<PruneCheckpoint> PruneCheckpoint::FromJson(std::string_view text) {
  auto o = ParseObject(text);
  if (!o) return Err(InvalidArgument("not a prune checkpoint"));
  PruneCheckpoint c;
  auto log_id = GetString(*o, "log_id");
  auto before = GetCount(*o, "pruned_before");
  if (!log_id || !before || !GetSignature(*o, c))
    return Err(InvalidArgument("not a prune checkpoint"));
  c.log_id = std::move(*log_id);
  c.pruned_before = *before;
  return c;
}

bool PruneCheckpoint::Verify(std::string_view public_key) const {
  return crypto::Ed25519Verify(public_key, SignedBytes(), signature);
}

// ---------------------------------------------------------------------------
// Appends

AuditLog::AuditLog(storage::Backend* control, const crypto::Keyring* keyring,
                   const crypto::Ed25519Key* signer, const Clock* clock)
    : control_(control),
      keyring_(keyring),
      signer_(signer),
      clock_(clock),
      committer_([this](std::stop_token stop) { CommitLoop(stop); }) {}

AuditLog::~AuditLog() {
  upkeep_thread_ = {};  // stops and joins
  committer_ = {};      // commits what is queued, then stops
}

std::string AuditLog::TenantLog(std::string_view tenant) {
  return "t/" + std::string(tenant);
}

Result<uint64_t> AuditLog::Append(std::string_view log, Event event) {
  std::promise<Result<uint64_t>> promise;
  auto future = promise.get_future();
  AppendAsync(log, std::move(event), [&promise](Result<uint64_t> result) {
    promise.set_value(std::move(result));
  });
  return future.get();
}

void AuditLog::AppendAsync(std::string_view log, Event event, Done done) {
  {
    std::lock_guard lock(queue_mu_);
    if (!stopped_) {
      queue_.push_back({std::string(log), std::move(event), std::move(done)});
      queue_cv_.notify_one();
      return;
    }
  }
  done(Err(Unavailable("the audit log is shutting down")));
}

void AuditLog::CommitLoop(std::stop_token stop) {
  std::vector<Pending> group;
  std::size_t last_group = 0;
  for (;;) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, stop, [&] { return !queue_.empty(); });
      // A small group under load (the last group was not alone): wait a
      // moment for more. Each commit costs the store a transaction and a
      // flush, so under load fewer, larger groups leave more of the machine
      // to the requests themselves; a lone request is not held up.
      if (last_group > 1 && queue_.size() < kGatherTarget) {
        queue_cv_.wait_for(lock, stop, kGatherWindow,
                           [&] { return queue_.size() >= kGatherTarget; });
      }
      if (queue_.empty()) {  // stopping, and nothing left to write
        stopped_ = true;
        return;
      }
      if (queue_.size() <= kMaxGroup) {
        group.swap(queue_);
      } else {
        auto end = queue_.begin() + kMaxGroup;
        group.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(end));
        queue_.erase(queue_.begin(), end);
      }
    }
    last_group = group.size();
    CommitGroup(group);
    group.clear();
  }
}

// The rows one group adds to one log: its entries as runs, its hash tiles,
// and its size, guarded by the size it started from.
class AuditLog::GroupBatch {
 public:
  GroupBatch(std::string_view log, LogState state, const crypto::Keyring& keys)
      : log_(log),
        keys_(keys),
        size_before_(state.size),
        state_(std::move(state)) {}

  uint64_t next_index() const { return state_.size; }

  void Add(std::string_view entry, storage::WriteBatch& batch) {
    uint64_t index = state_.size;
    if (run_.empty() || index % kTileWidth == 0) {
      FlushRun(batch);
      run_first_ = index;
    }
    char length[4];
    for (int i = 0; i < 4; ++i)
      length[i] = static_cast<char>(entry.size() >> (24 - 8 * i));
    run_.append(length, 4).append(entry);

    for (auto& [id, hash] : state_.range.Append(LeafHash(entry))) {
      if (id.level % kTileHeight != 0) continue;
      std::size_t level = id.level / kTileHeight;
      if (state_.tile_tails.size() <= level)
        state_.tile_tails.resize(level + 1);
      std::string& tail = state_.tile_tails[level];
      tail.append(AsBytes(hash));
      uint64_t tile = id.index / kTileWidth;
      if (tail.size() == kTileWidth * sizeof(Hash)) {  // full: final
        batch.Put(TileKey(log_, level, tile), std::move(tail));
        tail.clear();
        dirty_tiles_.erase(level);
      } else {
        dirty_tiles_[level] = tile;
      }
    }
    ++state_.size;
  }

  // Completes `batch` with the pending run, the unfilled tiles and the size.
  void Finish(storage::WriteBatch& batch) {
    FlushRun(batch);
    for (auto [level, tile] : dirty_tiles_)
      batch.Put(TileKey(log_, level, tile), state_.tile_tails[level]);
    dirty_tiles_.clear();
    if (size_before_ == 0) {
      batch.RequireAbsent(SizeKey(log_));
      batch.Put(IndexKey(log_), "");
    } else {
      batch.RequireValue(SizeKey(log_), EncodeSize(size_before_));
    }
    batch.Put(SizeKey(log_), EncodeSize(state_.size));
  }

  LogState&& state() && { return std::move(state_); }

 private:
  void FlushRun(storage::WriteBatch& batch) {
    if (run_.empty()) return;
    std::string key = RunKey(log_, run_first_);
    batch.Put(key, keys_.SealControl(run_, key));
    run_.clear();
  }

  std::string_view log_;
  const crypto::Keyring& keys_;
  uint64_t size_before_;
  LogState state_;
  uint64_t run_first_ = 0;
  std::string run_;  // entries, each after its 4-byte big-endian length
  std::map<std::size_t, uint64_t> dirty_tiles_;  // level -> unfilled tile
};

void AuditLog::CommitGroup(std::vector<Pending>& group) {
  auto complete = [&](const Status& s) {
    for (Pending& p : group) {
      if (s.ok()) {
        p.done(p.event.seq);
      } else {
        p.done(Err(s));
      }
    }
  };
  auto attempt = [&]() -> std::optional<Status> {
    std::map<std::string_view, GroupBatch> logs;
    storage::WriteBatch batch;
    for (Pending& p : group) {
      auto it = logs.find(p.log);
      if (it == logs.end()) {
        auto cached = states_.find(p.log);
        Result<LogState> state = cached != states_.end()
                                     ? Result<LogState>(cached->second)
                                     : LoadState(p.log);
        if (!state) return WriteFailed(state.error());
        it = logs.try_emplace(p.log, p.log, *std::move(state), *keyring_).first;
      }
      p.event.seq = it->second.next_index();
      it->second.Add(EncodeEntry(p.event), batch);
    }
    for (auto& [log, rows] : logs) rows.Finish(batch);
    Status written = control_->Write(batch);
    if (!written.ok()) {
      for (auto& [log, rows] : logs)
        if (auto it = states_.find(log); it != states_.end()) states_.erase(it);
    }
    // Another node appended: reload these logs and redo, after a short
    // random pause so two nodes do not collide in step.
    if (LostRace(written)) return std::nullopt;
    if (!written.ok()) return WriteFailed(written);
    {
      std::lock_guard lock(grown_mu_);
      for (auto& [log, rows] : logs) grown_.emplace(log);
    }
    for (auto& [log, rows] : logs)
      states_.insert_or_assign(std::string(log), std::move(rows).state());
    return Status::Ok();
  };
  Status committed =
      RetryOnConflict("the audit log", attempt, kMaxAttempts, kRetryBackoff);
  // Only running out of attempts gives kAborted here (WriteFailed is
  // kUnavailable): the log is busy, not the request's data in conflict.
  if (committed.code() == StatusCode::kAborted)
    committed = Unavailable("the audit log is too contended to append; retry");
  complete(committed);
}

Result<AuditLog::LogState> AuditLog::LoadState(std::string_view log) {
  PV_ASSIGN_OR_RETURN(uint64_t size, Size(log));
  PV_ASSIGN_OR_RETURN(auto peaks, ReadNodes(log, CompactRange::PeakIds(size)));
  PV_ASSIGN_OR_RETURN(auto range, CompactRange::FromPeaks(size, peaks));
  // The unfilled tile of each level: the level-8L hashes past its last full
  // tile.
  std::vector<std::string> keys;
  std::vector<uint64_t> widths;
  for (std::size_t level = 0; (size >> (kTileHeight * level)) > 0; ++level) {
    uint64_t hashes = size >> (kTileHeight * level);
    keys.push_back(TileKey(log, level, hashes / kTileWidth));
    widths.push_back(hashes % kTileWidth);
  }
  PV_ASSIGN_OR_RETURN(auto tiles, control_->MultiGet(keys));
  LogState state{size, std::move(range), {}};
  for (std::size_t level = 0; level < tiles.size(); ++level) {
    std::size_t bytes = widths[level] * sizeof(Hash);
    if (bytes == 0) {
      state.tile_tails.emplace_back();
      continue;
    }
    if (!tiles[level] || tiles[level]->size() < bytes)
      return Err(DataLoss("an audit hash tile is missing"));
    state.tile_tails.push_back(tiles[level]->substr(0, bytes));
  }
  return state;
}

// ---------------------------------------------------------------------------
// Reads

Result<uint64_t> AuditLog::Size(std::string_view log) {
  PV_ASSIGN_OR_RETURN(auto raw, control_->Get(SizeKey(log)));
  if (!raw) return uint64_t{0};
  return DecodeSize(*raw);
}

Result<std::vector<AuditLog::Run>> AuditLog::ScanRuns(std::string_view log,
                                                      uint64_t from,
                                                      uint64_t count) {
  std::vector<Run> runs;
  const std::string prefix = EntryPrefix(log);
  // The run holding `from` starts at or after `from` rounded down to 256.
  std::string start = RunKey(log, from - from % kTileWidth);
  constexpr std::size_t kPage = 256;
  for (;;) {
    PV_ASSIGN_OR_RETURN(auto rows, control_->Scan(prefix, start, kPage));
    if (!rows.empty()) start = rows.back().key + '\0';  // the next page
    for (auto& row : rows) {
      auto first = ParseHex16(std::string_view(row.key).substr(prefix.size()));
      if (!first) continue;  // not a run: nothing in it is trusted
      if (*first >= from + count) return runs;
      Run& run = runs.emplace_back(Run{std::move(row.key), *first, {}});
      // A run opens only under its own key: a moved, swapped or edited row
      // fails here and stays unreadable.
      auto plain = keyring_->OpenControl(row.value, run.key);
      if (!plain) continue;
      std::vector<std::string> entries;
      std::string_view rest = *plain;
      while (rest.size() >= 4) {
        std::size_t length = 0;
        for (int i = 0; i < 4; ++i)
          length = (length << 8) | static_cast<unsigned char>(rest[i]);
        if (rest.size() - 4 < length) break;
        entries.emplace_back(rest.substr(4, length));
        rest.remove_prefix(4 + length);
      }
      if (rest.empty()) run.entries = std::move(entries);
    }
    if (rows.size() < kPage) return runs;
  }
}

Result<std::vector<std::optional<std::string>>> AuditLog::EntrySlots(
    std::string_view log, uint64_t from, uint64_t count) {
  std::vector<std::optional<std::string>> slots(count);
  PV_ASSIGN_OR_RETURN(auto runs, ScanRuns(log, from, count));
  for (Run& run : runs) {
    if (!run.entries) continue;
    for (uint64_t i = 0; i < run.entries->size(); ++i) {
      uint64_t index = run.first + i;
      if (index >= from && index < from + count)
        slots[index - from] = std::move((*run.entries)[i]);
    }
  }
  return slots;
}

Result<std::vector<std::string>> AuditLog::Entries(std::string_view log,
                                                   uint64_t from,
                                                   std::size_t limit) {
  PV_ASSIGN_OR_RETURN(uint64_t size, Size(log));
  if (from >= size) return std::vector<std::string>{};
  PV_ASSIGN_OR_RETURN(
      auto slots,
      EntrySlots(log, from, std::min<uint64_t>(limit, size - from)));
  std::vector<std::string> out;
  for (auto& slot : slots) {
    if (!slot)
      return Err(DataLoss("audit entry " + std::to_string(from + out.size()) +
                          " is missing or fails its integrity check"));
    out.push_back(std::move(*slot));
  }
  return out;
}

Result<std::vector<Event>> AuditLog::Read(std::string_view log, uint64_t from,
                                          std::size_t limit) {
  PV_ASSIGN_OR_RETURN(auto entries, Entries(log, from, limit));
  std::vector<Event> out;
  for (auto& entry : entries) {
    PV_ASSIGN_OR_RETURN(auto event, DecodeEntry(entry));
    if (event.seq != from + out.size())
      return Err(DataLoss("audit entry " + std::to_string(from + out.size()) +
                          " is out of place"));
    out.push_back(std::move(event));
  }
  return out;
}

Result<std::vector<Hash>> AuditLog::ReadNodes(std::string_view log,
                                              const std::vector<NodeId>& ids) {
  // Node (l, k) is folded from the 2^(l mod 8) level-8L hashes below it, all
  // in tile (L, k * 2^(l mod 8) / 256) with L = l / 8.
  struct Place {
    std::size_t tile;  // index into keys
    uint64_t offset, count;
  };
  std::vector<std::string> keys;
  std::map<std::string, std::size_t, std::less<>> tile_index;
  std::vector<Place> places;
  for (const NodeId& id : ids) {
    std::size_t level = id.level / kTileHeight;
    uint64_t count = uint64_t{1} << (id.level % kTileHeight);
    uint64_t first = id.index * count;
    std::string key = TileKey(log, level, first / kTileWidth);
    auto [it, added] = tile_index.try_emplace(key, keys.size());
    if (added) keys.push_back(std::move(key));
    places.push_back({it->second, first % kTileWidth, count});
  }
  PV_ASSIGN_OR_RETURN(auto tiles, control_->MultiGet(keys));
  std::vector<Hash> out;
  for (const Place& at : places) {
    const auto& tile = tiles[at.tile];
    if (!tile || tile->size() < (at.offset + at.count) * sizeof(Hash))
      return Err(DataLoss("an audit tree node is missing"));
    std::vector<Hash> below(at.count);
    std::memcpy(below.data(), tile->data() + at.offset * sizeof(Hash),
                at.count * sizeof(Hash));
    out.push_back(RootOf(below));
  }
  return out;
}
Result<std::vector<Hash>> AuditLog::RangeHashes(
    std::string_view log, const std::vector<Range>& ranges) {
  // All the nodes in one round trip, then each range folded from its own.
  std::vector<NodeId> ids;
  std::vector<std::size_t> counts;
  for (auto& range : ranges) {
    auto subtrees = PerfectSubtrees(range);
    counts.push_back(subtrees.size());
    ids.insert(ids.end(), subtrees.begin(), subtrees.end());
  }
  PV_ASSIGN_OR_RETURN(auto hashes, ReadNodes(log, ids));
  std::vector<Hash> out;
  std::size_t at = 0;
  for (std::size_t n : counts) {
    out.push_back(FoldSubtrees(std::span<const Hash>(hashes).subspan(at, n)));
    at += n;
  }
  return out;
}

Result<AuditLog::InclusionProof> AuditLog::ProveInclusion(std::string_view log,
                                                          uint64_t index,
                                                          uint64_t size) {
  PV_ASSIGN_OR_RETURN(uint64_t current, Size(log));
  if (index >= size || size > current)
    return Err(InvalidArgument(
        "index must be below tree_size, and tree_size at most the log's size"));
  PV_ASSIGN_OR_RETURN(auto leaf, ReadNodes(log, {NodeId{0, index}}));
  PV_ASSIGN_OR_RETURN(auto path,
                      RangeHashes(log, InclusionProofRanges(index, size)));
  return InclusionProof{leaf.front(), std::move(path)};
}

Result<std::vector<Hash>> AuditLog::ProveConsistency(std::string_view log,
                                                     uint64_t first,
                                                     uint64_t second) {
  PV_ASSIGN_OR_RETURN(uint64_t current, Size(log));
  if (first == 0 || first > second || second > current)
    return Err(InvalidArgument("need 0 < first <= second <= the log's size"));
  return RangeHashes(log, ConsistencyProofRanges(first, second));
}

Result<LogExport> AuditLog::Export(std::string_view log, uint64_t from,
                                   uint64_t limit) {
  LogExport out;
  out.log_id = std::string(log);
  PV_ASSIGN_OR_RETURN(out.pruned, LoadCheckpoint(log));
  PV_ASSIGN_OR_RETURN(out.head, Head(log));
  const uint64_t size = out.head.tree_size;
  if (from > size)
    return Err(InvalidArgument("from must be at most the log's size"));
  out.from = from;
  const uint64_t count = std::min(limit, size - from);
  PV_ASSIGN_OR_RETURN(out.entries, EntrySlots(log, from, count));
  std::vector<std::string> keys;
  const uint64_t first_tile = from / kTileWidth;
  for (uint64_t tile = first_tile; tile * kTileWidth < from + count; ++tile)
    keys.push_back(TileKey(log, 0, tile));
  PV_ASSIGN_OR_RETURN(auto tiles, control_->MultiGet(keys));
  out.leaf_hashes.assign(count, Hash{});  // zero where not stored
  for (std::size_t t = 0; t < tiles.size(); ++t) {
    if (!tiles[t]) continue;
    // The tile's hashes that are in [from, from + count).
    const uint64_t tile_first = (first_tile + t) * kTileWidth;
    const uint64_t stored = tiles[t]->size() / sizeof(Hash);
    const uint64_t begin = std::max(tile_first, from);
    const uint64_t end =
        std::min({tile_first + stored, tile_first + kTileWidth, from + count});
    if (begin >= end) continue;
    std::memcpy(out.leaf_hashes[begin - from].data(),
                tiles[t]->data() + (begin - tile_first) * sizeof(Hash),
                (end - begin) * sizeof(Hash));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Heads

Result<SignedHead> AuditLog::Head(std::string_view log) {
  PV_ASSIGN_OR_RETURN(auto stored_raw, control_->Get(HeadKey(log)));
  PV_ASSIGN_OR_RETURN(LogState state, LoadState(log));
  if (stored_raw) {
    PV_ASSIGN_OR_RETURN(auto stored, SignedHead::FromJson(*stored_raw));
    if (stored.tree_size == state.size) return stored;
  }
  SignedHead head;
  head.log_id = std::string(log);
  head.tree_size = state.size;
  head.root = state.size == 0 ? EmptyRoot() : state.range.Root();
  head.timestamp = ToUnixMicros(clock_->Now()) / 1'000'000;
  head.key_id = signer_->key_id();
  head.signature = signer_->Sign(head.SignedBytes());
  storage::WriteBatch batch;
  if (stored_raw) {
    batch.RequireValue(HeadKey(log), *stored_raw);
  } else {
    batch.RequireAbsent(HeadKey(log));
  }
  batch.Put(HeadKey(log), head.ToJson());
  Status written = control_->Write(batch);
  // Aborted: another node stored a head meanwhile; ours is valid all the same.
  if (!written.ok() && written.code() != StatusCode::kAborted)
    return Err(written);
  return head;
}

Status AuditLog::SignGrownHeads() {
  std::set<std::string, std::less<>> grown;
  {
    std::lock_guard lock(grown_mu_);
    grown.swap(grown_);
  }
  Status first;
  for (auto& log : grown) {
    auto head = Head(log);
    if (!head && first.ok()) first = head.error();
  }
  return first;
}

// ---------------------------------------------------------------------------
// Retention

Result<std::optional<PruneCheckpoint>> AuditLog::LoadCheckpoint(
    std::string_view log) {
  PV_ASSIGN_OR_RETURN(auto raw, control_->Get(CheckpointKey(log)));
  if (!raw) return std::optional<PruneCheckpoint>();
  auto checkpoint = PruneCheckpoint::FromJson(*raw);
  if (!checkpoint || checkpoint->log_id != log ||
      !checkpoint->Verify(signer_->public_key()))
    return Err(DataLoss("the audit prune checkpoint does not verify"));
  return std::optional<PruneCheckpoint>(*std::move(checkpoint));
}

Result<uint64_t> AuditLog::PrunedBefore(std::string_view log) {
  PV_ASSIGN_OR_RETURN(auto checkpoint, LoadCheckpoint(log));
  return checkpoint ? checkpoint->pruned_before : 0;
}

Result<uint64_t> AuditLog::Prune(std::string_view log, TimePoint cutoff) {
  constexpr uint64_t kMaxPerBatch = 16384;
  PV_ASSIGN_OR_RETURN(auto raw_checkpoint, control_->Get(CheckpointKey(log)));
  PV_ASSIGN_OR_RETURN(uint64_t pruned, PrunedBefore(log));
  PV_ASSIGN_OR_RETURN(uint64_t size, Size(log));
  for (;;) {
    // The next runs, oldest first, whose every entry is readable, in its
    // place and expired.
    PV_ASSIGN_OR_RETURN(
        auto runs,
        ScanRuns(log, pruned, std::min(size - pruned, kMaxPerBatch)));
    uint64_t end = pruned;
    std::vector<std::string> doomed;
    for (const Run& run : runs) {
      if (run.first < end) continue;  // below the checkpoint: not ours
      if (run.first != end || !run.entries) break;
      bool expired = true;
      uint64_t index = end;
      for (const std::string& entry : *run.entries) {
        auto event = DecodeEntry(entry);
        expired = expired && event && event->seq == index && event->at < cutoff;
        ++index;
      }
      if (!expired) break;
      doomed.push_back(run.key);
      end = index;
    }
    if (end == pruned) return pruned;

    PruneCheckpoint checkpoint;
    checkpoint.log_id = std::string(log);
    checkpoint.pruned_before = end;
    checkpoint.timestamp = ToUnixMicros(clock_->Now()) / 1'000'000;
    checkpoint.key_id = signer_->key_id();
    checkpoint.signature = signer_->Sign(checkpoint.SignedBytes());
    std::string json = checkpoint.ToJson();
    storage::WriteBatch batch;
    // Two pruners never both write: the checkpoint guards the batch.
    if (raw_checkpoint) {
      batch.RequireValue(CheckpointKey(log), *raw_checkpoint);
    } else {
      batch.RequireAbsent(CheckpointKey(log));
    }
    batch.Put(CheckpointKey(log), json);
    for (auto& key : doomed) batch.Delete(key);
    PV_RETURN_IF_ERROR(control_->Write(batch));
    raw_checkpoint = std::move(json);
    pruned = end;
  }
}

Status AuditLog::PruneExpired(std::chrono::seconds retention) {
  TimePoint cutoff = clock_->Now() - retention;
  Status first;
  std::string start;
  for (;;) {
    PV_ASSIGN_OR_RETURN(auto rows, control_->Scan(kIndexPrefix, start, 256));
    for (auto& row : rows) {
      auto pruned = Prune(row.key.substr(kIndexPrefix.size()), cutoff);
      if (!pruned && first.ok()) first = pruned.error();
    }
    if (rows.size() < 256) return first;
    start = rows.back().key + '\0';
  }
}

void AuditLog::StartUpkeep(Upkeep upkeep) {
  upkeep_thread_ = std::jthread([this, upkeep](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    auto next_prune = std::chrono::steady_clock::now();
    while (!stop.stop_requested()) {
      if (upkeep.retention && std::chrono::steady_clock::now() >= next_prune) {
        Status pruned = PruneExpired(*upkeep.retention);
        if (!pruned.ok() && upkeep.on_prune_error)
          upkeep.on_prune_error(pruned);
        next_prune = std::chrono::steady_clock::now() + upkeep.prune_every;
      }
      cv.wait_for(lock, stop, upkeep.sign_every, [] { return false; });
      if (!stop.stop_requested()) (void)SignGrownHeads();
    }
  });
}

}  // namespace piivault::audit
