#include "cli/import.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "base/crash_point.h"
#include "base/encoding.h"
#include "cli/import_stream.h"
#include "cli/progress.h"
#include "cli/transfer_files.h"
#include "crypto/hash.h"

namespace piivault::cli {
namespace {

namespace json = boost::json;

// One answer of the server: its status, and its body as JSON (null when it
// has none or it is not JSON).
struct Answer {
  int status = 0;
  json::value body;

  bool ok() const { return status >= 200 && status < 300; }
  // The API error code (API.md), empty for a success.
  std::string_view code() const {
    const json::object* o = body.if_object();
    const json::value* error = o ? o->if_contains("error") : nullptr;
    const json::value* c = error && error->is_object()
                               ? error->get_object().if_contains("code")
                               : nullptr;
    return c && c->is_string() ? std::string_view(c->get_string())
                               : std::string_view();
  }
  // The server's own error text, which never holds personal data.
  std::string Describe() const {
    std::string out = std::to_string(status);
    if (!code().empty()) out += " " + std::string(code());
    const json::value* message = nullptr;
    if (const json::object* o = body.if_object())
      if (const json::value* e = o->if_contains("error"); e && e->is_object())
        message = e->get_object().if_contains("message");
    if (message && message->is_string())
      out += ": " + std::string(message->get_string());
    return out;
  }
};

// A consent event as the ledger shows it and as replay compares it.
struct ConsentEvent {
  std::string purpose;
  bool granted = false;
  std::string method;
  std::string evidence;

  bool operator==(const ConsentEvent&) const = default;
  static ConsentEvent From(const json::object& o) {
    auto text = [&](std::string_view key) {
      const json::value* v = o.if_contains(key);
      return v && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    const json::value* granted = o.if_contains("granted");
    return {text("purpose"),
            granted && granted->is_bool() && granted->as_bool(), text("method"),
            text("evidence")};
  }
};

std::string Line(uint64_t number) { return "line " + std::to_string(number); }

// Applies the lines of a checked stream to the target tenant in order.
class Importer {
 public:
  Importer(const ImportOptions& options, int64_t records_total)
      : options_(options),
        base_("/v1/tenants/" + PathSegment(options.tenant)),
        progress_("import", "records", records_total) {}

  // Where token lines are mapped (none: they are only checked).
  void set_token_map(std::FILE* token_map) { token_map_ = token_map; }

  Status Apply(uint64_t number, const ImportLine& line) {
    switch (line.kind) {
      case LineKind::kHeader:
        return Status::Ok();
      case LineKind::kPurpose:
        return Purpose(number, line.object);
      case LineKind::kCollection:
        return Collection(number, line.object);
      case LineKind::kRecord:
        return Record(number, line.object);
      case LineKind::kConsent:
        return Consent(number, line.object);
      case LineKind::kToken:
        return Token(number, line.object);
    }
    return Status::Ok();
  }

  // Before any change: the target tenant exists, the caller may act on it,
  // it takes writes and allows every region the stream's principals live
  // in, so that no line is refused for want of one halfway through.
  Status CheckTarget(const std::set<std::string>& regions) {
    PV_ASSIGN_OR_RETURN(Answer tenant, Send("GET", base_, nullptr, false));
    if (!tenant.ok())
      return FailedPrecondition("the target tenant cannot be read: " +
                                tenant.Describe());
    const json::object* t = tenant.body.if_object();
    const json::value* state = t ? t->if_contains("state") : nullptr;
    if (!state || *state != "active")
      return FailedPrecondition("the target tenant is not active");
    const json::value* allowed = t->if_contains("regions");
    for (auto& region : regions) {
      const bool found =
          allowed && allowed->is_array() &&
          std::find(allowed->get_array().begin(), allowed->get_array().end(),
                    json::value(region)) != allowed->get_array().end();
      // A region id is configuration, not personal data.
      if (!found)
        return FailedPrecondition("the target tenant does not allow region " +
                                  region + ", where the stream has principals");
    }
    return Status::Ok();
  }

  // After the last line: a principal whose ledger in the target holds more
  // events than the stream gives it was not the stream's.
  Status Finish() {
    for (auto& [principal, ledger] : ledgers_)
      if (ledger.next < ledger.existing.size())
        return FailedPrecondition(
            Line(ledger.first_line) +
            ": the target's consent ledger of this principal has events the "
            "stream lacks");
    return Status::Ok();
  }

  std::string Summary() const {
    json::object o{
        {"tenant", options_.tenant},
        {"purposes", purposes_put_},
        {"collections", collections_put_},
        {"records", json::object{{"created", records_created_},
                                 {"already_present", records_present_}}},
        {"consents",
         json::object{{"recorded", consents_recorded_},
                      {"already_present", consents_present_},
                      {"not_importable", consents_not_importable_}}},
        {"tokens_mapped", tokens_mapped_}};
    return json::serialize(o);
  }

 private:
  struct Ledger {
    std::vector<ConsentEvent> existing;  // in the target before this run
    std::size_t next = 0;                // the stream's events seen so far
    uint64_t first_line = 0;
  };

  Result<Answer> Send(std::string_view method, const std::string& target,
                      const json::value& body, bool data_plane) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (data_plane) headers.emplace_back("X-Purpose", options_.purpose);
    PV_ASSIGN_OR_RETURN(
        api::HttpResponse res,
        api::SendRequest(options_.client, method, target,
                         body.is_null() ? "" : json::serialize(body), headers));
    Answer answer{res.status, nullptr};
    boost::system::error_code ec;
    json::value parsed = json::parse(res.body, ec);
    if (!ec) answer.body = std::move(parsed);
    return answer;
  }

  static Status Refused(uint64_t number, std::string_view what,
                        const Answer& answer) {
    return FailedPrecondition(Line(number) + ": the target refused " +
                              std::string(what) + ": " + answer.Describe());
  }

  Status Purpose(uint64_t number, const json::object& o) {
    if (!purposes_) {
      PV_ASSIGN_OR_RETURN(Answer list,
                          Send("GET", base_ + "/purposes", nullptr, false));
      if (!list.ok()) return Refused(number, "reading its purposes", list);
      purposes_.emplace();
      const json::object* body = list.body.if_object();
      const json::value* all = body ? body->if_contains("purposes") : nullptr;
      if (all && all->is_array())
        for (auto& p : all->get_array())
          if (p.is_object() && p.get_object().contains("id") &&
              p.get_object().at("id").is_string())
            (*purposes_)[std::string(p.get_object().at("id").get_string())] =
                p.get_object();
    }
    json::object wanted{{"category", o.at("category")},
                        {"description", o.at("description")}};
    const std::string id(o.at("id").get_string());
    if (auto it = purposes_->find(id); it != purposes_->end()) {
      const json::value* category = it->second.if_contains("category");
      const json::value* description = it->second.if_contains("description");
      if (category && description && *category == wanted["category"] &&
          *description == wanted["description"])
        return Status::Ok();
    }
    PV_ASSIGN_OR_RETURN(
        Answer put,
        Send("PUT", base_ + "/purposes/" + PathSegment(id), wanted, false));
    if (!put.ok()) return Refused(number, "the purpose", put);
    ++purposes_put_;
    return Status::Ok();
  }

  Status Collection(uint64_t number, const json::object& o) {
    // The schema's members as PUT takes them (others are ignored).
    json::array fields;
    for (auto& f : o.at("fields").get_array()) {
      json::object spec;
      for (std::string_view key : {"name", "type", "required", "searchable"})
        if (const json::value* v = f.get_object().if_contains(key))
          spec[key] = *v;
      fields.push_back(std::move(spec));
    }
    json::object body{{"fields", std::move(fields)}};
    if (const json::value* retention = o.if_contains("retention"))
      body["retention"] = *retention;
    PV_ASSIGN_OR_RETURN(
        Answer put,
        Send("PUT",
             base_ + "/collections/" + PathSegment(o.at("name").get_string()),
             body, false));
    if (!put.ok()) return Refused(number, "the collection", put);
    ++collections_put_;
    return Status::Ok();
  }

  Status Record(uint64_t number, const json::object& o) {
    const std::string records = base_ + "/collections/" +
                                PathSegment(o.at("collection").get_string()) +
                                "/records";
    json::object body{{"id", o.at("id")},
                      {"principal", o.at("principal")},
                      {"region", o.at("region")},
                      {"fields", o.at("fields")}};
    PV_ASSIGN_OR_RETURN(Answer created, Send("POST", records, body, true));
    if (created.ok()) {
      ++records_created_;
    } else if (created.code() == "already_exists") {
      // A rerun: the record came in before; it must be this one.
      PV_ASSIGN_OR_RETURN(
          Answer read,
          Send("GET", records + "/" + PathSegment(o.at("id").get_string()),
               nullptr, true));
      const json::object* r = read.body.if_object();
      const bool same = read.ok() && r && r->contains("principal") &&
                        r->contains("region") && r->contains("fields") &&
                        r->at("principal") == o.at("principal") &&
                        r->at("region") == o.at("region") &&
                        r->at("fields") == o.at("fields");
      if (!same)
        return FailedPrecondition(
            Line(number) +
            ": a record with this id exists in the target with other "
            "content");
      ++records_present_;
    } else {
      return Refused(number, "the record", created);
    }
    const int64_t done = records_created_ + records_present_;
    progress_.Update(done);
    // Tests stop the import here as a crash would (base/crash_point.h).
    CrashPoint("import.records." + std::to_string(done));
    return Status::Ok();
  }

  Result<std::vector<ConsentEvent>> ExistingConsents(
      uint64_t number, const std::string& consents) {
    std::vector<ConsentEvent> events;
    std::optional<uint64_t> from = 0;
    while (from) {
      PV_ASSIGN_OR_RETURN(
          Answer page, Send("GET", consents + "?from=" + std::to_string(*from),
                            nullptr, false));
      if (!page.ok()) return Err(Refused(number, "reading consents", page));
      const json::object* body = page.body.if_object();
      const json::value* history =
          body ? body->if_contains("history") : nullptr;
      if (!history || !history->is_array())
        return Err(Refused(number, "reading consents", page));
      for (auto& e : history->get_array())
        if (e.is_object()) events.push_back(ConsentEvent::From(e.get_object()));
      const json::value* next = body->if_contains("next");
      from.reset();
      if (next && next->is_int64()) from = next->get_int64();
      if (next && next->is_uint64()) from = next->get_uint64();
    }
    return events;
  }

  Status Consent(uint64_t number, const json::object& o) {
    // Named by pseudonym only: the principal has no record to place it by.
    if (!o.contains("principal")) {
      ++consents_not_importable_;
      return Status::Ok();
    }
    const std::string principal(o.at("principal").get_string());
    const std::string consents =
        base_ + "/principals/" + PathSegment(principal) + "/consents";
    auto it = ledgers_.find(principal);
    if (it == ledgers_.end()) {
      PV_ASSIGN_OR_RETURN(auto existing, ExistingConsents(number, consents));
      it = ledgers_.emplace(principal, Ledger{std::move(existing), 0, number})
               .first;
    }
    Ledger& ledger = it->second;
    const ConsentEvent event = ConsentEvent::From(o);
    // Replay is idempotent: the first events the target holds already must
    // be the stream's first ones, and are skipped.
    if (ledger.next < ledger.existing.size()) {
      if (!(ledger.existing[ledger.next] == event))
        return FailedPrecondition(
            Line(number) +
            ": the target's consent ledger of this principal differs from "
            "the stream");
      ++ledger.next;
      ++consents_present_;
      return Status::Ok();
    }
    json::object body{{"purpose", event.purpose}, {"granted", event.granted}};
    if (!event.method.empty()) body["method"] = event.method;
    if (!event.evidence.empty()) body["evidence"] = event.evidence;
    PV_ASSIGN_OR_RETURN(Answer posted, Send("POST", consents, body, false));
    if (!posted.ok()) return Refused(number, "the consent", posted);
    ++ledger.next;
    ++consents_recorded_;
    return Status::Ok();
  }

  Status Token(uint64_t number, const json::object& o) {
    if (!token_map_) return Status::Ok();
    const std::string field(o.at("field").get_string());
    json::object body{{"collection", o.at("collection")},
                      {"record", o.at("record")},
                      {"fields", json::array{json::value(field)}}};
    PV_ASSIGN_OR_RETURN(Answer made,
                        Send("POST", base_ + "/tokenize", body, true));
    const json::object* r = made.body.if_object();
    const json::value* tokens = r ? r->if_contains("tokens") : nullptr;
    const json::value* token = tokens && tokens->is_object()
                                   ? tokens->get_object().if_contains(field)
                                   : nullptr;
    if (!made.ok() || !token || !token->is_string())
      return Refused(number, "the token", made);
    const std::string line =
        json::serialize(json::object{{"old", o.at("token")}, {"new", *token}}) +
        "\n";
    if (std::fputs(line.c_str(), token_map_) < 0)
      return Unavailable("cannot write the token map: " +
                         std::string(std::strerror(errno)));
    ++tokens_mapped_;
    return Status::Ok();
  }

  const ImportOptions& options_;
  std::FILE* token_map_ = nullptr;
  std::string base_;
  Progress progress_;
  std::optional<std::map<std::string, json::object>> purposes_;
  std::map<std::string, Ledger> ledgers_;
  int64_t purposes_put_ = 0, collections_put_ = 0, records_created_ = 0,
          records_present_ = 0, consents_recorded_ = 0, consents_present_ = 0,
          consents_not_importable_ = 0, tokens_mapped_ = 0;
};

// Reads the input once (decrypting it with `key` if given), hashing its bytes
// as read and handing each checked line to `on_line`. Returns the SHA-256.
Result<std::string> ReadStream(
    const ImportOptions& options, const crypto::SecretBytes* key,
    const std::function<Status(uint64_t, const ImportLine&)>& on_line) {
  crypto::Sha256Stream digest;
  LineSplitter lines([&](uint64_t number, std::string_view text) -> Status {
    PV_ASSIGN_OR_RETURN(ImportLine line, ParseImportLine(number, text));
    return on_line(number, line);
  });
  PV_RETURN_IF_ERROR(ReadTransferFile(
      options.in_path, key,
      [&](std::string_view raw) {
        digest.Update(raw);
        return Status::Ok();
      },
      [&](std::string_view plaintext) { return lines.Write(plaintext); }));
  PV_RETURN_IF_ERROR(lines.Finish());
  return HexEncode(digest.Finish());
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(FailedPrecondition("cannot read " + path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::string PathSegment(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Status RunImport(const ImportOptions& options) {
  if (options.manifest_path.empty() != options.public_key_b64.empty())
    return InvalidArgument("--manifest and --public-key go together");
  std::optional<crypto::SecretBytes> key;
  if (!options.decrypt_key_path.empty()) {
    PV_ASSIGN_OR_RETURN(key, LoadTransferPrivateKey(options.decrypt_key_path));
  }
  const crypto::SecretBytes* key_ptr = key ? &*key : nullptr;

  // 1. The whole stream is checked before anything changes.
  ImportValidator validator;
  PV_ASSIGN_OR_RETURN(
      std::string sha256,
      ReadStream(options, key_ptr, [&](uint64_t number, const ImportLine& l) {
        return validator.Add(number, l);
      }));
  PV_RETURN_IF_ERROR(validator.Finish());
  if (!options.manifest_path.empty()) {
    PV_ASSIGN_OR_RETURN(std::string manifest,
                        ReadSmallFile(options.manifest_path));
    PV_RETURN_IF_ERROR(
        VerifyManifest(manifest, options.public_key_b64, sha256, validator));
  }

  Importer importer(options,
                    static_cast<int64_t>(validator.count(LineKind::kRecord)));
  PV_RETURN_IF_ERROR(importer.CheckTarget(validator.regions()));

  // 2. The token map is a new file (never over one), owner-only.
  std::FILE* token_map = nullptr;
  if (!options.token_map_path.empty()) {
    const int fd = ::open(options.token_map_path.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
      return AlreadyExists(options.token_map_path +
                           " already exists; refusing to overwrite it");
    if (fd < 0 || !(token_map = ::fdopen(fd, "w"))) {
      if (fd >= 0) ::close(fd);
      return Unavailable("cannot create " + options.token_map_path);
    }
  }

  // 3. Applied line by line from a second read; each line is checked again
  // as it is read, and the stream must hash as it did the first time.
  Status status = [&]() -> Status {
    importer.set_token_map(token_map);
    PV_ASSIGN_OR_RETURN(
        std::string again,
        ReadStream(options, key_ptr, [&](uint64_t number, const ImportLine& l) {
          return importer.Apply(number, l);
        }));
    if (again != sha256)
      return DataLoss("the input changed while it was being imported");
    PV_RETURN_IF_ERROR(importer.Finish());
    std::cout << importer.Summary() << "\n";
    if (validator.unimportable_consents() > 0)
      std::cerr << "piivault: warning: " << validator.unimportable_consents()
                << " consent events of principals without records (named by "
                   "pseudonym only) were not imported\n";
    return Status::Ok();
  }();
  if (token_map) {
    const bool flushed =
        std::fflush(token_map) == 0 && ::fsync(::fileno(token_map)) == 0;
    const bool closed = std::fclose(token_map) == 0;
    if (status.ok() && !(flushed && closed))
      status = Unavailable("cannot write " + options.token_map_path);
    // A partial map is never left to be taken for the whole one.
    if (!status.ok()) ::unlink(options.token_map_path.c_str());
  }
  return status;
}

}  // namespace piivault::cli
