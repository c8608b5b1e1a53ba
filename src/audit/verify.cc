#include "audit/verify.h"

#include <boost/json.hpp>
#include <sstream>

namespace piivault::audit {
namespace {

namespace json = boost::json;
constexpr std::string_view kFormat = "piivault-audit-export-v1";

Verdict Bad(std::optional<uint64_t> index, std::string problem) {
  return Verdict{false, index, std::move(problem)};
}

}  // namespace

void LogExportWriter::Begin(std::string_view log_id, const SignedHead& head,
                            uint64_t from) {
  from_ = from;
  out_ << "{\"format\":" << json::serialize(json::string(kFormat))
       << ",\"log_id\":" << json::serialize(json::string(log_id))
       << ",\"head\":" << head.ToJson();
  if (from != 0) out_ << ",\"from\":" << from;
  out_ << ",\"entries\":[";
}

void LogExportWriter::Add(const LogExport& page) {
  for (auto& e : page.entries) {
    if (entries_++ > 0) out_ << ',';
    out_ << (e ? json::serialize(json::string(*e)) : std::string("null"));
  }
  leaf_hashes_.insert(leaf_hashes_.end(), page.leaf_hashes.begin(),
                      page.leaf_hashes.end());
}

void LogExportWriter::Finish(const std::optional<PruneCheckpoint>& pruned) {
  out_ << "],\"leaf_hashes\":[";
  for (std::size_t i = 0; i < leaf_hashes_.size(); ++i)
    out_ << (i == 0 ? "\"" : ",\"") << ToHex(leaf_hashes_[i]) << '"';
  out_ << ']';
  if (pruned) out_ << ",\"pruned\":" << pruned->ToJson();
  out_ << '}';
}

std::string LogExport::ToJson() const {
  std::ostringstream out;
  LogExportWriter writer(out);
  writer.Begin(log_id, head, from);
  writer.Add(*this);
  writer.Finish(pruned);
  return std::move(out).str();
}

Result<LogExport> LogExport::FromJson(std::string_view text) {
  auto bad = [](std::string why) {
    return Err(InvalidArgument("not an audit export: " + why));
  };
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return bad("invalid JSON");
  auto& o = v.get_object();
  auto* format = o.if_contains("format");
  auto* log_id = o.if_contains("log_id");
  auto* head = o.if_contains("head");
  auto* entries = o.if_contains("entries");
  auto* leaves = o.if_contains("leaf_hashes");
  if (!format || !format->is_string() || format->get_string() != kFormat)
    return bad("unknown format");
  if (!log_id || !log_id->is_string() || !head || !entries ||
      !entries->is_array() || !leaves || !leaves->is_array())
    return bad("missing members");
  LogExport out;
  out.log_id = log_id->get_string();
  PV_ASSIGN_OR_RETURN(out.head, SignedHead::FromJson(json::serialize(*head)));
  if (auto* from = o.if_contains("from")) {
    if (from->is_uint64()) {
      out.from = from->get_uint64();
    } else if (from->is_int64() && from->get_int64() >= 0) {
      out.from = static_cast<uint64_t>(from->get_int64());
    } else {
      return bad("from is not an index");
    }
  }
  for (auto& e : entries->get_array()) {
    if (e.is_null()) {
      out.entries.emplace_back();
    } else if (e.is_string()) {
      out.entries.emplace_back(std::string(e.get_string()));
    } else {
      return bad("an entry is neither text nor null");
    }
  }
  for (auto& h : leaves->get_array()) {
    auto hash = h.is_string() ? HashFromHex(h.get_string()) : std::nullopt;
    if (!hash) return bad("a leaf hash is not hex");
    out.leaf_hashes.push_back(*hash);
  }
  if (auto* pruned = o.if_contains("pruned")) {
    auto checkpoint = PruneCheckpoint::FromJson(json::serialize(*pruned));
    if (!checkpoint) return bad("the prune checkpoint is malformed");
    out.pruned = *std::move(checkpoint);
  }
  return out;
}

Verdict VerifyExport(const LogExport& x, std::string_view public_key,
                     const std::optional<SignedHead>& previous) {
  const SignedHead& head = x.head;
  if (!head.Verify(public_key))
    return Bad(std::nullopt, "the signed head's signature does not verify");
  if (head.log_id != x.log_id)
    return Bad(std::nullopt, "the signed head is for another log");
  if (x.from != 0)
    return Bad(x.from, "this is a page of an export starting at entry " +
                           std::to_string(x.from) +
                           ", not a whole export (piivault audit export "
                           "writes whole ones)");
  const uint64_t size = head.tree_size;
  const uint64_t count = x.entries.size();

  // Below a signed prune checkpoint entries may be absent (removed by
  // retention); there the stored leaf hashes stand in for them, and the
  // signed root vouches for those.
  uint64_t pruned = 0;
  if (x.pruned) {
    if (!x.pruned->Verify(public_key) || x.pruned->log_id != x.log_id)
      return Bad(std::nullopt,
                 "the prune checkpoint is not signed for this log");
    pruned = std::min(x.pruned->pruned_before, size);
  }
  // Every entry in its place: readable, and carrying its own index (a
  // removed or reordered entry shows up here first).
  std::vector<Hash> leaves;
  for (uint64_t i = 0; i < std::min(size, count); ++i) {
    if (!x.entries[i] && i < pruned && i < x.leaf_hashes.size()) {
      leaves.push_back(x.leaf_hashes[i]);
      continue;
    }
    if (!x.entries[i])
      return Bad(i, "entry " + std::to_string(i) +
                        " is missing or failed its integrity check");
    auto event = DecodeEntry(*x.entries[i]);
    if (!event) return Bad(i, "entry " + std::to_string(i) + " is malformed");
    if (event->seq != i)
      return Bad(i, "entry " + std::to_string(i) +
                        " is out of place (it is "
                        "entry " +
                        std::to_string(event->seq) + ")");
    leaves.push_back(LeafHash(*x.entries[i]));
  }
  if (count < size)
    return Bad(count, "the log is truncated: the signed head covers " +
                          std::to_string(size) + " entries, the export has " +
                          std::to_string(count));
  if (count > size)
    return Bad(size, "the export has entries the signed head does not cover");
  if (RootOf(leaves) != head.root) {
    // The stored leaf hashes, if they are the ones the head signs, tell
    // which entry changed.
    if (x.leaf_hashes.size() == size && RootOf(x.leaf_hashes) == head.root) {
      for (uint64_t i = pruned; i < size; ++i)
        if (leaves[i] != x.leaf_hashes[i])
          return Bad(i, "entry " + std::to_string(i) + " was modified");
    }
    return Bad(std::nullopt, "the entries do not hash to the signed root");
  }
  if (previous) {
    if (!previous->Verify(public_key) || previous->log_id != x.log_id)
      return Bad(std::nullopt,
                 "the previous head is not a signed head of this log");
    if (previous->tree_size > size)
      return Bad(size, "the log shrank: the previous head covers " +
                           std::to_string(previous->tree_size) +
                           " entries, the export " + std::to_string(size));
    // The previous tree must be a prefix of this one: recomputing it from
    // the entries is the strongest consistency check there is.
    auto prefix = std::span<const Hash>(leaves).first(previous->tree_size);
    Hash then = previous->tree_size == 0 ? EmptyRoot() : RootOf(prefix);
    if (then != previous->root)
      return Bad(std::nullopt,
                 "the log was rewritten: its first " +
                     std::to_string(previous->tree_size) +
                     " entries no longer match the previous head");
  }
  return Verdict{true, std::nullopt, ""};
}

}  // namespace piivault::audit
