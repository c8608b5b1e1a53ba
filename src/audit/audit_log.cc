#include "audit/audit_log.h"

#include <boost/json.hpp>
#include <cstdio>
#include <random>
#include <thread>

#include "base/encoding.h"

namespace piivault::audit {
namespace {

namespace json = boost::json;

constexpr int kMaxAttempts = 64;
constexpr std::size_t kMaxGroup = 8192;

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
std::string EntryPrefix(std::string_view log) { return Prefix(log) + "e/"; }
std::string EntryKey(std::string_view log, uint64_t index) {
  return EntryPrefix(log) + Hex16(index);
}
std::string NodeKey(std::string_view log, NodeId id) {
  char level[3];
  std::snprintf(level, sizeof level, "%02x", id.level);
  return Prefix(log) + "n/" + level + "/" + Hex16(id.index);
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

Result<Hash> AsHash(std::string_view raw) {
  Hash h{};
  if (raw.size() != h.size()) return Err(DataLoss("audit node is malformed"));
  std::copy(raw.begin(), raw.end(), reinterpret_cast<char*>(h.data()));
  return h;
}

Status WriteFailed(const Status& cause) {
  return Unavailable("the audit log cannot be written: " + cause.message());
}

}  // namespace

// ---------------------------------------------------------------------------
// Signed heads

std::string SignedHead::SignedBytes() const {
  std::string out("piivault-tree-head-v1");
  out.push_back('\0');
  out.append(log_id).push_back('\0');
  out.append(EncodeSize(tree_size));
  out.append(EncodeSize(static_cast<uint64_t>(timestamp)));
  out.append(AsBytes(root));
  return out;
}

std::string SignedHead::ToJson() const {
  return json::serialize(json::object{
      {"log_id", log_id},
      {"tree_size", tree_size},
      {"root_hash", audit::ToHex(root)},
      {"timestamp", FormatRfc3339(FromUnixMicros(timestamp * 1'000'000))},
      {"key_id", key_id},
      {"signature", Base64Encode(signature)}});
}

Result<SignedHead> SignedHead::FromJson(std::string_view text) {
  auto bad = [] { return Err(InvalidArgument("not a signed tree head")); };
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return bad();
  auto& o = v.get_object();
  auto str = [&](const char* key) -> std::optional<std::string> {
    auto* m = o.if_contains(key);
    if (!m || !m->is_string()) return std::nullopt;
    return std::string(m->get_string());
  };
  auto* size = o.if_contains("tree_size");
  auto log_id = str("log_id"), root = str("root_hash"), at = str("timestamp"),
       key_id = str("key_id"), signature = str("signature");
  if (!size || !(size->is_int64() || size->is_uint64()) || !log_id || !root ||
      !at || !key_id || !signature)
    return bad();
  SignedHead head;
  head.log_id = *log_id;
  head.tree_size = size->is_uint64() ? size->get_uint64()
                                     : static_cast<uint64_t>(size->get_int64());
  auto hash = HashFromHex(*root);
  auto time = ParseRfc3339(*at);
  auto sig = Base64Decode(*signature);
  if (!hash || !time || !sig) return bad();
  head.root = *hash;
  head.timestamp = ToUnixMicros(*time) / 1'000'000;
  head.key_id = *key_id;
  head.signature = std::move(*sig);
  return head;
}

bool SignedHead::Verify(std::string_view public_key) const {
  return crypto::Ed25519Verify(public_key, SignedBytes(), signature);
}

// ---------------------------------------------------------------------------
// Appends

struct AuditLog::Pending {
  std::string log;
  Event event;
  Status status;
  bool done = false;  // GUARDED_BY(queue_mu_)
  std::condition_variable cv;
};

AuditLog::AuditLog(storage::Backend* control, const crypto::Keyring* keyring,
                   const crypto::Ed25519Key* signer, const Clock* clock)
    : control_(control), keyring_(keyring), signer_(signer), clock_(clock) {}

AuditLog::~AuditLog() {
  if (signing_thread_.joinable()) {
    signing_thread_.request_stop();
    signing_thread_.join();
  }
}

std::string AuditLog::TenantLog(std::string_view tenant) {
  return "t/" + std::string(tenant);
}

Result<uint64_t> AuditLog::Append(std::string_view log, Event event) {
  Pending p{std::string(log), std::move(event), {}, false, {}};
  std::unique_lock lock(queue_mu_);
  queue_.push_back(&p);
  p.cv.wait(lock, [&] { return p.done || queue_.front() == &p; });
  if (!p.done) {
    // We lead: commit our event and those queued behind it.
    std::vector<Pending*> group;
    for (Pending* q : queue_) {
      if (group.size() >= kMaxGroup) break;
      group.push_back(q);
    }
    lock.unlock();
    CommitGroup(group);
    lock.lock();
    for (std::size_t i = 0; i < group.size(); ++i) {
      Pending* q = queue_.front();
      queue_.pop_front();
      q->done = true;
      if (q != &p) q->cv.notify_one();  // under the lock: q dies once done
    }
    if (!queue_.empty()) queue_.front()->cv.notify_one();
  }
  if (!p.status.ok()) return Err(p.status);
  return p.event.seq;
}

void AuditLog::CommitGroup(const std::vector<Pending*>& group) {
  std::lock_guard state_lock(state_mu_);
  auto fail_all = [&](const Status& s) {
    for (Pending* p : group) p->status = s;
  };
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    std::map<std::string, LogState, std::less<>> working;
    std::map<std::string, uint64_t, std::less<>> before;
    storage::WriteBatch batch;
    for (Pending* p : group) {
      auto it = working.find(p->log);
      if (it == working.end()) {
        auto cached = states_.find(p->log);
        if (cached != states_.end()) {
          it = working.emplace(p->log, cached->second).first;
        } else {
          auto loaded = LoadState(p->log);
          if (!loaded) return fail_all(WriteFailed(loaded.error()));
          it = working.emplace(p->log, *std::move(loaded)).first;
        }
        before[p->log] = it->second.size;
      }
      LogState& state = it->second;
      p->event.seq = state.size;
      std::string entry = EncodeEntry(p->event);
      std::string key = EntryKey(p->log, state.size);
      for (auto& [id, hash] : state.range.Append(LeafHash(entry)))
        batch.Put(NodeKey(p->log, id), std::string(AsBytes(hash)));
      batch.Put(key, keyring_->SealControl(entry, key));
      ++state.size;
    }
    for (auto& [log, size] : before) {
      if (size == 0) {
        batch.RequireAbsent(SizeKey(log));
      } else {
        batch.RequireValue(SizeKey(log), EncodeSize(size));
      }
      batch.Put(SizeKey(log), EncodeSize(working.at(log).size));
    }
    Status written = control_->Write(batch);
    if (written.code() == StatusCode::kAborted) {
      // Another node appended: forget what we knew of these logs and redo,
      // after a short random pause so two nodes do not collide in step.
      for (auto& [log, size] : before) states_.erase(log);
      thread_local std::minstd_rand jitter{std::random_device{}()};
      std::this_thread::sleep_for(
          std::chrono::microseconds(jitter() % (100u << std::min(attempt, 6))));
      continue;
    }
    if (!written.ok()) {
      for (auto& [log, size] : before) states_.erase(log);
      return fail_all(WriteFailed(written));
    }
    for (auto& [log, state] : working) {
      states_.insert_or_assign(log, std::move(state));
      grown_.insert(log);
    }
    return fail_all(Status::Ok());
  }
  fail_all(Unavailable("the audit log is too contended to append; retry"));
}

Result<AuditLog::LogState> AuditLog::LoadState(std::string_view log) {
  PV_ASSIGN_OR_RETURN(uint64_t size, Size(log));
  PV_ASSIGN_OR_RETURN(auto peaks, ReadNodes(log, CompactRange::PeakIds(size)));
  PV_ASSIGN_OR_RETURN(auto range, CompactRange::FromPeaks(size, peaks));
  return LogState{size, std::move(range)};
}

// ---------------------------------------------------------------------------
// Reads

Result<uint64_t> AuditLog::Size(std::string_view log) {
  PV_ASSIGN_OR_RETURN(auto raw, control_->Get(SizeKey(log)));
  if (!raw) return uint64_t{0};
  return DecodeSize(*raw);
}

Result<std::vector<std::string>> AuditLog::Entries(std::string_view log,
                                                   uint64_t from,
                                                   std::size_t limit) {
  PV_ASSIGN_OR_RETURN(
      auto rows, control_->Scan(EntryPrefix(log), EntryKey(log, from), limit));
  std::vector<std::string> out;
  for (auto& row : rows) {
    // An entry must open under its own key and sit at its own index: an
    // edited, moved or swapped row fails here.
    if (row.key != EntryKey(log, from + out.size()))
      return Err(DataLoss("audit entry " + std::to_string(from + out.size()) +
                          " is missing"));
    auto entry = keyring_->OpenControl(row.value, row.key);
    if (!entry)
      return Err(DataLoss("audit entry " + std::to_string(from + out.size()) +
                          " failed its integrity check"));
    out.push_back(std::move(*entry));
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
  std::vector<std::string> keys;
  for (auto& id : ids) keys.push_back(NodeKey(log, id));
  PV_ASSIGN_OR_RETURN(auto raws, control_->MultiGet(keys));
  std::vector<Hash> out;
  for (auto& raw : raws) {
    if (!raw) return Err(DataLoss("an audit tree node is missing"));
    PV_ASSIGN_OR_RETURN(auto hash, AsHash(*raw));
    out.push_back(hash);
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

Result<LogExport> AuditLog::Export(std::string_view log) {
  LogExport out;
  out.log_id = std::string(log);
  PV_ASSIGN_OR_RETURN(out.head, Head(log));
  constexpr uint64_t kChunk = 1024;
  for (uint64_t from = 0; from < out.head.tree_size; from += kChunk) {
    uint64_t n = std::min(kChunk, out.head.tree_size - from);
    std::vector<std::string> keys;
    for (uint64_t i = from; i < from + n; ++i) {
      keys.push_back(EntryKey(log, i));
      keys.push_back(NodeKey(log, NodeId{0, i}));
    }
    PV_ASSIGN_OR_RETURN(auto raws, control_->MultiGet(keys));
    for (uint64_t i = 0; i < n; ++i) {
      auto& sealed = raws[2 * i];
      auto& leaf = raws[2 * i + 1];
      std::optional<std::string> entry;
      if (sealed) {
        auto opened = keyring_->OpenControl(*sealed, keys[2 * i]);
        if (opened) entry = std::move(*opened);
      }
      out.entries.push_back(std::move(entry));
      auto hash = leaf ? AsHash(*leaf) : Result<Hash>(Hash{});
      out.leaf_hashes.push_back(hash.value_or(Hash{}));
    }
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
    std::lock_guard lock(state_mu_);
    grown.swap(grown_);
  }
  Status first;
  for (auto& log : grown) {
    auto head = Head(log);
    if (!head && first.ok()) first = head.error();
  }
  return first;
}

void AuditLog::StartSigning(std::chrono::milliseconds period) {
  signing_thread_ = std::jthread([this, period](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    while (!stop.stop_requested()) {
      cv.wait_for(lock, stop, period, [] { return false; });
      if (!stop.stop_requested()) (void)SignGrownHeads();
    }
  });
}

}  // namespace piivault::audit
