// One audit event and its entry: the exact bytes a log's Merkle tree hashes.
//
// No plaintext PII ever goes into an event: principals appear only as their
// keyed pseudonym, values never, fields by name only.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace piivault::audit {

// How a request ended, as its entry names it: "ok", "denied" (not
// authenticated or not allowed) or "error".
enum class Outcome { kOk, kDenied, kError };
std::string_view OutcomeName(Outcome outcome);
std::optional<Outcome> ParseOutcome(std::string_view name);

struct Event {
  uint64_t seq = 0;  // the entry's index in its log, set when appended
  TimePoint at;
  std::string actor;   // identity id
  std::string action;  // route name ("records.get") or change ("tenant.update")
  std::string purpose;
  std::string collection;
  std::string record;
  std::string principal_pseudonym;
  std::vector<std::string> fields;
  std::string region;
  Outcome outcome = Outcome::kOk;
  std::string request_id;
  std::string lockbox;  // the lockbox request an operator read under, if any
  // Every record and principal the request read, returned, changed or
  // disclosed; `record` and `principal_pseudonym` name the subject while
  // there is exactly one.
  std::vector<std::string> records;
  std::vector<std::string> principal_pseudonyms;
  // On an outcome entry: the index of the entry written ahead of the
  // request's first change, whose outcome this one corrects.
  std::optional<uint64_t> intent;
  // Operator changes on no request's behalf (a restore from backup): why,
  // in the operator's words (validated free text), and which backup.
  std::string reason;
  std::string backup;

  // Adds what the request touched (empty arguments are ignored). Cheap
  // enough for a search that touches a thousand records: repeats are
  // dropped by SettleSubjects(), which the writer calls before the event
  // is written.
  void NoteRecord(std::string_view id);
  void NotePrincipal(std::string_view pseudonym);
  void NoteFields(const std::vector<std::string>& names);
  // Each subject once (in sorted order), and the singular members naming
  // the subject while there is exactly one.
  void SettleSubjects();

  bool operator==(const Event&) const = default;
};

// The entry: compact JSON with the members in a fixed order, so the same
// event always gives the same bytes. `at` has microsecond precision.
std::string EncodeEntry(const Event& event);
// The entry's JSON object, before serialization.
boost::json::object EntryObject(const Event& event);
// kDataLoss for bytes that are no entry.
Result<Event> DecodeEntry(std::string_view entry);

}  // namespace piivault::audit
