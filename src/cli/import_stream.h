// Reading and checking a tenant export (NDJSON, format
// "piivault-tenant-export-v1", docs/operations/import.md) before `piivault
// import` changes anything: each line on its own (ParseImportLine), the
// lines together (ImportValidator), the stream's bytes against a signed
// manifest (VerifyManifest). Error messages name the line number and the
// rule broken, never a value of the stream.
//
// Thread safety: one thread at a time per object; the functions are
// thread-safe.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace piivault::cli {

inline constexpr std::string_view kTenantExportFormat =
    "piivault-tenant-export-v1";
// A line longer than this is refused rather than buffered.
inline constexpr std::size_t kMaxImportLine = 16 * 1024 * 1024;

// The kinds of line. The header, purposes and collections come in this
// order; records, tokens and consents follow interleaved (a token after its
// record, a consent after its principal's records).
enum class LineKind {
  kHeader,
  kPurpose,
  kCollection,
  kRecord,
  kConsent,
  kToken
};

struct ImportLine {
  LineKind kind = LineKind::kHeader;
  boost::json::object object;  // as parsed, "kind" first
};

// One line (without its "\n"), numbered from 1: a JSON object whose first
// member is a known "kind", with the members of its kind (required ones
// present, each of its type; members of no kind are ignored, as the format
// asks of readers). kInvalidArgument "line N: <rule>".
Result<ImportLine> ParseImportLine(uint64_t number, std::string_view text);

// Splits a byte stream into lines ("\n"-terminated), handing each to
// `on_line` with its number. kInvalidArgument for a line over
// kMaxImportLine and, at Finish, for bytes after the last "\n".
class LineSplitter {
 public:
  using OnLine = std::function<Status(uint64_t number, std::string_view line)>;
  explicit LineSplitter(OnLine on_line) : on_line_(std::move(on_line)) {}
  Status Write(std::string_view bytes);
  Status Finish();
  uint64_t lines() const { return number_; }

 private:
  OnLine on_line_;
  std::string partial_;
  uint64_t number_ = 0;
};

// The checks across lines, fed every line in order: the header first and
// once, then purposes, then collections, then records, tokens and consents
// (interleaved, region by region, as the export writes them), purposes and
// collections once each, record ids of the vault's shape and unique, records
// naming a collection of the stream and only its fields (every required one), a
// principal's records all in one region, consents naming a purpose of the
// stream (or a default one) and a principal with records in the stream, tokens
// naming a record of the stream, its collection and one of its fields.
class ImportValidator {
 public:
  Status Add(uint64_t number, const ImportLine& line);
  // After the last line: kInvalidArgument for a stream without header.
  Status Finish() const;

  const std::string& source_tenant() const { return tenant_; }
  const std::string& export_id() const { return export_; }
  uint64_t count(LineKind kind) const;
  // Consent events of principals without records, which the export names by
  // pseudonym only: the target cannot place them, so they are not imported.
  uint64_t unimportable_consents() const { return unimportable_consents_; }
  // The regions the stream's principals live in.
  std::set<std::string> regions() const;

 private:
  struct CollectionInfo {
    std::set<std::string, std::less<>> fields;
    std::set<std::string, std::less<>> required;
  };
  Status AddRecord(uint64_t number, const boost::json::object& o);

  std::optional<LineKind> last_;
  std::string tenant_, export_;
  std::map<LineKind, uint64_t> counts_;
  uint64_t unimportable_consents_ = 0;
  std::set<std::string, std::less<>> purposes_;
  std::map<std::string, CollectionInfo, std::less<>> collections_;
  std::map<std::string, std::string, std::less<>> record_collection_;
  std::map<std::string, std::string, std::less<>> principal_region_;
};

// Checks an export's manifest (`manifest_json`: the manifest object, or the
// export's status document holding it as "manifest") against the stream:
// its "sha256" is `stream_sha256_hex`, its "export" and "tenant" are the
// header's, its "key_id" names `public_key_b64` (the exporting deployment's
// GET /v1/audit/public-key) and its "signature" is that key's Ed25519
// signature of the manifest without "signature", keys sorted, no
// whitespace (lifecycle::CanonicalJson, as the export signs it). kDataLoss
// when anything does not match, kInvalidArgument for
// a manifest or key that cannot be read.
Status VerifyManifest(std::string_view manifest_json,
                      std::string_view public_key_b64,
                      std::string_view stream_sha256_hex,
                      const ImportValidator& stream);

}  // namespace piivault::cli
