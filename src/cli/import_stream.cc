#include "cli/import_stream.h"

#include <algorithm>
#include <array>

#include "base/encoding.h"
#include "base/enum_names.h"
#include "crypto/hash.h"
#include "crypto/signer.h"
#include "lifecycle/tenant_export.h"

namespace piivault::cli {
namespace {

namespace json = boost::json;

constexpr EnumNames<LineKind, 6> kLineKinds({{
    {LineKind::kHeader, "header"},
    {LineKind::kPurpose, "purpose"},
    {LineKind::kCollection, "collection"},
    {LineKind::kRecord, "record"},
    {LineKind::kConsent, "consent"},
    {LineKind::kToken, "token"},
}});

enum class Type { kString, kBool, kObject, kArray };

struct Member {
  std::string_view name;
  Type type;
  bool required;
};

// The members of each kind (besides "kind"), as the export writes them.
std::vector<Member> MembersOf(LineKind kind) {
  switch (kind) {
    case LineKind::kHeader:
      return {{"format", Type::kString, true},
              {"tenant", Type::kString, true},
              {"export", Type::kString, true},
              {"created_at", Type::kString, true}};
    case LineKind::kPurpose:
      return {{"id", Type::kString, true},
              {"category", Type::kString, true},
              {"description", Type::kString, true}};
    case LineKind::kCollection:
      return {{"name", Type::kString, true},
              {"fields", Type::kArray, true},
              {"retention", Type::kString, false}};
    case LineKind::kRecord:
      return {{"id", Type::kString, true},
              {"collection", Type::kString, true},
              {"principal", Type::kString, true},
              {"region", Type::kString, true},
              {"fields", Type::kObject, true},
              {"created_at", Type::kString, true},
              {"updated_at", Type::kString, true}};
    case LineKind::kConsent:
      // A principal without records is named by its pseudonym instead
      // (only records carry the principal id); ParseImportLine wants one.
      return {{"principal", Type::kString, false},
              {"principal_pseudonym", Type::kString, false},
              {"purpose", Type::kString, true},
              {"granted", Type::kBool, true},
              {"at", Type::kString, true},
              {"method", Type::kString, false},
              {"evidence", Type::kString, false}};
    case LineKind::kToken:
      return {{"token", Type::kString, true},
              {"collection", Type::kString, true},
              {"record", Type::kString, true},
              {"field", Type::kString, true}};
  }
  return {};
}

bool HasType(const json::value& v, Type type) {
  switch (type) {
    case Type::kString:
      return v.is_string();
    case Type::kBool:
      return v.is_bool();
    case Type::kObject:
      return v.is_object();
    case Type::kArray:
      return v.is_array();
  }
  return false;
}

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kString:
      return "a string";
    case Type::kBool:
      return "true or false";
    case Type::kObject:
      return "an object";
    case Type::kArray:
      return "an array";
  }
  return "";
}

Status LineError(uint64_t number, std::string_view rule) {
  return InvalidArgument("line " + std::to_string(number) + ": " +
                         std::string(rule));
}

std::string_view KindName(LineKind kind) { return kLineKinds.Name(kind); }

std::string_view Str(const json::object& o, std::string_view key) {
  return o.at(key).get_string();
}

// The default purposes every tenant has (API.md "Purposes and consent").
bool IsDefaultPurpose(std::string_view id) {
  static constexpr std::array<std::string_view, 6> kDefaults = {
      "service_delivery", "security",  "legal_obligation",
      "analytics",        "marketing", "advertising"};
  return std::find(kDefaults.begin(), kDefaults.end(), id) != kDefaults.end();
}

// The shape of the record ids a vault issues: "rec_" and 26 characters of
// lower-case base32 (the server checks the padding bits too).
bool LooksLikeRecordId(std::string_view id) {
  return id.size() == 30 && id.starts_with("rec_") &&
         id.substr(4).find_first_not_of("abcdefghijklmnopqrstuvwxyz234567") ==
             std::string_view::npos;
}

}  // namespace

Result<ImportLine> ParseImportLine(uint64_t number, std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Err(LineError(number, "not a JSON object"));
  json::object& o = v.get_object();
  if (o.empty() || o.begin()->key() != "kind" ||
      !o.begin()->value().is_string())
    return Err(LineError(number, "the first member must be \"kind\""));
  std::optional<LineKind> kind =
      kLineKinds.Parse(o.begin()->value().get_string());
  if (!kind) return Err(LineError(number, "unknown \"kind\""));
  const std::vector<Member> members = MembersOf(*kind);
  std::string prefix = "a " + std::string(KindName(*kind)) + " line";
  for (auto& [key, value] : o) {
    if (key == "kind") continue;
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const Member& m) { return m.name == key; });
    // Readers ignore members they do not know (docs/formats/
    // tenant-export.md), so a later export still imports; they are not
    // imported either.
    if (it == members.end()) continue;
    if (!HasType(value, it->type))
      return Err(LineError(number, prefix + "'s \"" + std::string(it->name) +
                                       "\" must be " +
                                       std::string(TypeName(it->type))));
  }
  for (auto& m : members)
    if (m.required && !o.contains(m.name))
      return Err(
          LineError(number, prefix + " lacks \"" + std::string(m.name) + "\""));
  if (*kind == LineKind::kConsent &&
      o.contains("principal") == o.contains("principal_pseudonym"))
    return Err(LineError(number, prefix + " names one of \"principal\" and "
                                          "\"principal_pseudonym\""));
  return ImportLine{*kind, std::move(o)};
}

Status LineSplitter::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    const std::size_t take =
        newline == std::string_view::npos ? bytes.size() : newline;
    if (partial_.size() + take > kMaxImportLine)
      return LineError(number_ + 1, "longer than 16 MiB");
    if (newline == std::string_view::npos) {
      partial_.append(bytes);
      return Status::Ok();
    }
    ++number_;
    Status s;
    if (partial_.empty()) {
      s = on_line_(number_, bytes.substr(0, newline));
    } else {
      partial_.append(bytes.substr(0, newline));
      s = on_line_(number_, partial_);
      partial_.clear();
    }
    PV_RETURN_IF_ERROR(s);
    bytes.remove_prefix(newline + 1);
  }
  return Status::Ok();
}

Status LineSplitter::Finish() {
  if (!partial_.empty())
    return LineError(number_ + 1,
                     "not ended by a newline (the stream is cut short)");
  return Status::Ok();
}

uint64_t ImportValidator::count(LineKind kind) const {
  auto it = counts_.find(kind);
  return it == counts_.end() ? 0 : it->second;
}

std::set<std::string> ImportValidator::regions() const {
  std::set<std::string> out;
  for (auto& [principal, region] : principal_region_) out.insert(region);
  return out;
}

Status ImportValidator::Add(uint64_t number, const ImportLine& line) {
  const json::object& o = line.object;
  if (!last_ && line.kind != LineKind::kHeader)
    return LineError(number, "the first line must be the header");
  if (last_ && line.kind == LineKind::kHeader)
    return LineError(number, "a second header");
  // Records, their tokens and consents come region by region, interleaved.
  auto section = [](LineKind kind) {
    return std::min(static_cast<int>(kind),
                    static_cast<int>(LineKind::kRecord));
  };
  if (last_ && section(line.kind) < section(*last_))
    return LineError(number, "a " + std::string(KindName(line.kind)) +
                                 " line after a " +
                                 std::string(KindName(*last_)) + " line");
  last_ = line.kind;
  ++counts_[line.kind];
  switch (line.kind) {
    case LineKind::kHeader:
      if (Str(o, "format") != kTenantExportFormat)
        return LineError(number, "the header's format is not " +
                                     std::string(kTenantExportFormat));
      tenant_ = Str(o, "tenant");
      export_ = Str(o, "export");
      return Status::Ok();
    case LineKind::kPurpose:
      if (!purposes_.emplace(Str(o, "id")).second)
        return LineError(number, "a purpose given twice");
      return Status::Ok();
    case LineKind::kCollection: {
      CollectionInfo info;
      for (auto& f : o.at("fields").get_array()) {
        const json::object* spec = f.if_object();
        const json::value* name = spec ? spec->if_contains("name") : nullptr;
        if (!name || !name->is_string())
          return LineError(number, "a collection field without a name");
        const json::value* type = spec->if_contains("type");
        if (!type || !type->is_string())
          return LineError(number, "a collection field without a type");
        const json::value* required = spec->if_contains("required");
        const json::value* searchable = spec->if_contains("searchable");
        if ((required && !required->is_bool()) ||
            (searchable && !searchable->is_bool()))
          return LineError(number,
                           "a collection field's \"required\" and "
                           "\"searchable\" must be true or false");
        if (!info.fields.emplace(name->get_string()).second)
          return LineError(number, "a collection field given twice");
        if (required && required->get_bool())
          info.required.emplace(name->get_string());
      }
      if (!collections_.emplace(Str(o, "name"), std::move(info)).second)
        return LineError(number, "a collection given twice");
      return Status::Ok();
    }
    case LineKind::kRecord:
      return AddRecord(number, o);
    case LineKind::kConsent: {
      const std::string_view purpose = Str(o, "purpose");
      if (!purposes_.contains(purpose) && !IsDefaultPurpose(purpose))
        return LineError(number, "a consent for a purpose the stream lacks");
      if (!o.contains("principal")) {
        ++unimportable_consents_;
        return Status::Ok();
      }
      if (!principal_region_.contains(Str(o, "principal")))
        return LineError(number,
                         "a consent of a principal without records in the "
                         "stream (the API places a principal with its first "
                         "record)");
      return Status::Ok();
    }
    case LineKind::kToken: {
      auto record = record_collection_.find(Str(o, "record"));
      if (record == record_collection_.end())
        return LineError(number, "a token of a record the stream lacks");
      if (record->second != Str(o, "collection"))
        return LineError(number, "a token naming another collection");
      if (!collections_.at(record->second).fields.contains(Str(o, "field")))
        return LineError(number, "a token of a field the collection lacks");
      if (!Str(o, "token").starts_with("tok_"))
        return LineError(number, "a token not of the shape tok_…");
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status ImportValidator::AddRecord(uint64_t number, const json::object& o) {
  const std::string_view id = Str(o, "id");
  if (!LooksLikeRecordId(id))
    return LineError(number, "a record id not of the vault's shape");
  auto collection = collections_.find(Str(o, "collection"));
  if (collection == collections_.end())
    return LineError(number, "a record of a collection the stream lacks");
  if (!record_collection_.emplace(id, collection->first).second)
    return LineError(number, "a record id given twice");
  const json::object& fields = o.at("fields").get_object();
  for (auto& [name, value] : fields) {
    if (!collection->second.fields.contains(name))
      return LineError(number, "a record field its collection lacks");
    if (!value.is_string() && !value.is_int64() && !value.is_uint64() &&
        !value.is_bool())
      return LineError(number,
                       "a record field value must be a string, an integer, "
                       "true or false");
  }
  for (auto& name : collection->second.required)
    if (!fields.contains(name))
      return LineError(number,
                       "a record lacks a field its collection requires");
  if (Str(o, "principal").empty())
    return LineError(number, "a record's principal is empty");
  auto [placed, is_new] =
      principal_region_.emplace(Str(o, "principal"), Str(o, "region"));
  if (!is_new && placed->second != Str(o, "region"))
    return LineError(number,
                     "a principal's records in two regions (a principal "
                     "lives in one)");
  return Status::Ok();
}

Status ImportValidator::Finish() const {
  if (!last_) return InvalidArgument("the stream is empty: it has no header");
  return Status::Ok();
}

Status VerifyManifest(std::string_view manifest_json,
                      std::string_view public_key_b64,
                      std::string_view stream_sha256_hex,
                      const ImportValidator& stream) {
  boost::system::error_code ec;
  json::value doc = json::parse(manifest_json, ec);
  if (ec || !doc.is_object())
    return InvalidArgument("the manifest is not a JSON object");
  json::object manifest = doc.get_object();
  if (const json::value* inner = manifest.if_contains("manifest");
      inner && inner->is_object())
    manifest = inner->get_object();
  auto text = [&](std::string_view key) -> std::string_view {
    const json::value* v = manifest.if_contains(key);
    return v && v->is_string() ? std::string_view(v->get_string())
                               : std::string_view();
  };
  const std::optional<std::string> key = Base64Decode(public_key_b64);
  if (!key || key->size() != crypto::kEd25519PublicKeySize)
    return InvalidArgument(
        "--public-key is not the base64 of a 32-byte Ed25519 key");
  const std::optional<std::string> signature = Base64Decode(text("signature"));
  if (!signature) return InvalidArgument("the manifest has no signature");
  // The key_id as the exporting deployment names its key (signed heads).
  if (text("key_id") != HexEncode(crypto::Sha256(*key).substr(0, 8)))
    return DataLoss("the manifest is signed by another key than --public-key");
  manifest.erase("signature");
  if (!crypto::Ed25519Verify(*key, lifecycle::CanonicalJson(manifest),
                             *signature))
    return DataLoss("the manifest's signature does not verify");
  // Signed: now its members can be trusted to describe the stream.
  if (text("sha256") != stream_sha256_hex)
    return DataLoss(
        "the stream is not the one the manifest describes (SHA-256 differs)");
  if (text("export") != stream.export_id() ||
      text("tenant") != stream.source_tenant())
    return DataLoss("the manifest is of another export than the stream");
  return Status::Ok();
}

}  // namespace piivault::cli
