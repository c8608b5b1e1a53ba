// The piivault command: init, serve, and client commands for a running
// server.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>

#include "api/app.h"
#include "api/client.h"
#include "api/server.h"
#include "api/webhook_client.h"
#include "audit/verify.h"
#include "base/encoding.h"
#include "cli/allocator.h"
#include "cli/backup.h"
#include "cli/compliance_report.h"
#include "cli/deployment.h"
#include "cli/export_download.h"
#include "cli/import.h"
#include "cli/transfer_files.h"
#include "compliance/webhook_dispatcher.h"
#include "crypto/signer.h"

namespace {

using namespace piivault;
namespace json = boost::json;

int Fail(const Status& s) {
  std::cerr << "piivault: " << s.ToString() << "\n";
  return 1;
}

spdlog::level::level_enum SpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kCritical:
      return spdlog::level::critical;
    case LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

void SetUpLogging(LogLevel level) {
  auto logger = spdlog::stderr_logger_mt("piivault");
  // One JSON object per line; call sites pass pre-escaped members.
  logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                      spdlog::pattern_time_type::utc);
  logger->set_level(SpdlogLevel(level));
  // Warnings and errors are written at once; routine lines are flushed every
  // second and at exit, so the access log costs no write per request.
  logger->flush_on(spdlog::level::warn);
  spdlog::flush_every(std::chrono::seconds(1));
  spdlog::set_default_logger(logger);
}

std::string Quoted(std::string_view s) {
  return json::serialize(json::string(s));
}

int RunInit(const std::string& dir) {
  auto key = cli::InitDeployment(dir);
  if (!key) return Fail(key.error());
  std::cout << "Initialized a piivault deployment in " << dir << "\n"
            << "Operator-admin API key (shown once, also in " << dir
            << "/admin.key):\n"
            << *key << "\n";
  return 0;
}

int RunServe(const std::string& config_path, const std::string& listen) {
  auto config = LoadConfigFile(config_path);
  if (!config) return Fail(config.error());
  if (!listen.empty()) {
    Status s = ParseListenAddress(listen, config->server);
    if (!s.ok()) return Fail(s);
  }
  SetUpLogging(config->log_level);
  auto deployment = cli::OpenDeployment(*config);
  if (!deployment) {
    spdlog::error(R"("msg":"cannot start","error":{})",
                  Quoted(deployment.error().ToString()));
    return Fail(deployment.error());
  }
  // A region half restored from backup is not served until that restore is
  // run again to its end (docs/operations/backup.md).
  if (Status s = cli::CheckNoPendingRestore(**deployment); !s.ok()) {
    spdlog::error(R"("msg":"cannot start","error":{})", Quoted(s.ToString()));
    return Fail(s);
  }
  // Finish relocations a crash interrupted. A region that is down leaves its
  // moves pending (readable, not writable) until the next start or request.
  auto resumed = (*deployment)->vault->relocations.ResumeInterrupted();
  if (!resumed) {
    spdlog::warn(R"("msg":"relocations still pending","error":{})",
                 Quoted(resumed.error().ToString()));
  } else if (*resumed > 0) {
    spdlog::info(R"("msg":"relocations resumed","count":{})", *resumed);
  }
  // Likewise erasures.
  auto erased =
      (*deployment)->vault->erasures.ResumeInterrupted(*(*deployment)->signer);
  if (!erased) {
    spdlog::warn(R"("msg":"erasures still pending","error":{})",
                 Quoted(erased.error().ToString()));
  } else if (*erased > 0) {
    spdlog::info(R"("msg":"erasures resumed","count":{})", *erased);
  }
  // And disposals, in the background: the scheduler runs them.
  auto disposing =
      (*deployment)
          ->vault->disposals.ResumeInterrupted((*deployment)->vault->scheduler);
  if (!disposing) {
    spdlog::warn(R"("msg":"disposals still pending","error":{})",
                 Quoted(disposing.error().ToString()));
  } else if (*disposing > 0) {
    spdlog::info(R"("msg":"disposals resumed","count":{})", *disposing);
  }
  // Tree heads of growing logs are signed at most once a second; expired
  // events are pruned hourly when a retention is configured.
  (*deployment)
      ->audit->StartUpkeep(
          {.sign_every = std::chrono::seconds(1),
           .retention = config->audit_retention,
           .on_prune_error = [](const Status& s) {
             spdlog::error(R"("msg":"audit retention failed","error":{})",
                           Quoted(s.ToString()));
           }});
  // Due jobs are run every [scheduler] interval; with several nodes a
  // lease lets exactly one run each job at a time.
  auto& scheduler = (*deployment)->vault->scheduler;
  // A fresh deployment gets its first retention pass, a broken chain of
  // passes a new one; each pass schedules the next.
  if (Status next = (*deployment)->vault->retention->ScheduleNext(scheduler);
      !next.ok())
    spdlog::warn(R"("msg":"retention pass not scheduled","error":{})",
                 Quoted(next.ToString()));
  spdlog::info(R"("msg":"scheduler started","node":{})",
               Quoted(scheduler.node_id()));
  scheduler.Start(
      {.interval = config->scheduler_interval, .on_error = [](const Status& s) {
         spdlog::error(R"("msg":"scheduled jobs failed","error":{})",
                       Quoted(s.ToString()));
       }});
  // Notices go out to tenants' webhooks from every node; a lease per
  // tenant lets one deliver its notices at a time.
  api::WebhookClient webhook_client({.timeout = config->webhooks.timeout,
                                     .ca_file = config->webhooks.ca_file});
  auto& vault = *(*deployment)->vault;
  compliance::WebhookDispatcher webhooks(
      &vault.control, &(*deployment)->clock, &vault.outbox, &vault.webhooks,
      &webhook_client,
      {.max_attempts = config->webhooks.max_attempts,
       .retry_backoff = config->webhooks.retry_backoff,
       .max_backoff = config->webhooks.max_backoff,
       .lease = config->webhooks.lease,
       .workers = config->webhooks.workers});
  webhooks.Start(config->webhooks.interval, [](const Status& s) {
    spdlog::error(R"("msg":"webhook delivery failed","error":{})",
                  Quoted(s.ToString()));
  });
  api::App app((*deployment)->vault.get(), (*deployment)->audit.get(),
               config->limits);
  api::ServerOptions options;
  options.config = config->server;
  options.config.threads =
      cli::ServerThreads(*config, std::thread::hardware_concurrency());
  options.on_listening = [&](uint16_t port) {
    spdlog::info(
        R"("msg":"listening","address":{},"port":{},"tls":{},"allocator":{})",
        Quoted(config->server.host), port,
        config->server.tls_cert.empty() ? "false" : "true",
        Quoted(cli::AllocatorName()));
  };
  Status s =
      api::RunServer(options, [&](api::HttpRequest req, api::Respond respond,
                                  const api::Offload& offload) {
        app.Handle(std::move(req), std::move(respond), offload);
      });
  // A job running now stops at its next progress report and is handed
  // back for another node (or the next start); a delivery round records
  // what it delivered and gives its lease back.
  scheduler.Stop();
  webhooks.Stop();
  if (!s.ok()) {
    spdlog::error(R"("msg":"server stopped","error":{})", Quoted(s.ToString()));
    return Fail(s);
  }
  // Background threads (audit committer and upkeep) stop, and may log,
  // before the logger goes.
  deployment->reset();
  spdlog::info(R"("msg":"stopped")");
  spdlog::shutdown();
  return 0;
}

// Options shared by every client command.
struct ClientFlags {
  std::string server;
  std::string token;
  std::string cacert;
  std::string purpose = "service_delivery";
};

int Send(const ClientFlags& flags, std::string_view method,
         const std::string& target, const json::value& body, bool data_plane) {
  api::ClientOptions options{flags.server, flags.token, flags.cacert};
  std::vector<std::pair<std::string, std::string>> headers;
  if (data_plane) headers.emplace_back("X-Purpose", flags.purpose);
  auto res =
      api::SendRequest(options, method, target,
                       body.is_null() ? "" : json::serialize(body), headers);
  if (!res) return Fail(res.error());
  if (!res->body.empty()) std::cout << res->body << "\n";
  return res->status >= 200 && res->status < 300 ? 0 : 2;
}

// Fetches the log a page at a time (GET …/export?from=&limit=) and writes
// the pages as one whole export, holding no more than a page and the leaf
// hashes in memory. The pages stop at the first page's signed head, so a log
// that grows meanwhile still gives an export of exactly the tree that head
// signs.
int RunAuditExport(const ClientFlags& flags, const std::string& target,
                   const std::string& out, uint64_t page_size) {
  api::ClientOptions options{flags.server, flags.token, flags.cacert};
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  if (!file) return Fail(Unavailable("cannot write " + out));
  // A failed export leaves no partial file behind to be mistaken for one.
  auto fail = [&](int code) {
    file.close();
    std::remove(out.c_str());
    return code;
  };
  audit::LogExportWriter writer(file);
  std::optional<audit::PruneCheckpoint> pruned;
  uint64_t size = 0;
  for (bool first = true; first || writer.next() < size; first = false) {
    const uint64_t limit =
        first ? page_size : std::min(page_size, size - writer.next());
    const std::string query = "?from=" + std::to_string(writer.next()) +
                              "&limit=" + std::to_string(limit);
    auto res = api::SendRequest(options, "GET", target + query, "", {});
    if (!res) return fail(Fail(res.error()));
    if (res->status != 200) {
      std::cerr << "piivault: export failed: " << res->body << "\n";
      return fail(2);
    }
    auto page = audit::LogExport::FromJson(res->body);
    if (!page) return fail(Fail(page.error()));
    if (first) {
      size = page->head.tree_size;
      writer.Begin(page->log_id, page->head);
    }
    if (page->from != writer.next() ||
        page->entries.size() != page->leaf_hashes.size() ||
        page->entries.size() > size - writer.next() ||
        (page->entries.empty() && writer.next() < size))
      return fail(Fail(DataLoss("the server sent a page out of order")));
    // Retention may prune between pages: the newest checkpoint covers every
    // entry any page lacks for it.
    if (page->pruned &&
        (!pruned || page->pruned->pruned_before > pruned->pruned_before))
      pruned = page->pruned;
    writer.Add(*page);
  }
  writer.Finish(pruned);
  if (!file.flush()) return fail(Fail(Unavailable("cannot write " + out)));
  return 0;
}

// Exit 0 when the export is intact; 1 naming the first bad index otherwise.
int RunAuditVerify(const std::string& path, const std::string& key_path,
                   const std::string& previous_path) {
  auto read = [](const std::string& p) -> Result<std::string> {
    std::ifstream in(p, std::ios::binary);
    if (!in) return Err(FailedPrecondition("cannot read " + p));
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto text = read(path);
  if (!text) return Fail(text.error());
  auto exported = audit::LogExport::FromJson(*text);
  if (!exported) return Fail(exported.error());
  auto key_text = read(key_path);
  if (!key_text) return Fail(key_text.error());
  // The key file holds the JSON of GET /v1/audit/public-key or the bare key.
  std::string key_b64 = *key_text;
  boost::system::error_code ec;
  auto key_json = json::parse(*key_text, ec);
  if (!ec && key_json.is_object() &&
      key_json.get_object().if_contains("public_key") &&
      key_json.get_object().at("public_key").is_string())
    key_b64 = key_json.get_object().at("public_key").get_string();
  while (!key_b64.empty() &&
         std::isspace(static_cast<unsigned char>(key_b64.back())))
    key_b64.pop_back();
  auto key = Base64Decode(key_b64);
  if (!key) return Fail(InvalidArgument("the public key is not base64"));
  std::optional<audit::SignedHead> previous;
  if (!previous_path.empty()) {
    auto head_text = read(previous_path);
    if (!head_text) return Fail(head_text.error());
    auto head = audit::SignedHead::FromJson(*head_text);
    if (!head) return Fail(head.error());
    previous = *head;
  }
  audit::Verdict verdict = audit::VerifyExport(*exported, *key, previous);
  if (verdict.ok) {
    std::cout << "ok: " << exported->head.tree_size << " entries of log "
              << exported->log_id << " match the signed head (root "
              << audit::ToHex(exported->head.root) << ")\n";
    return 0;
  }
  std::cout << "FAILED: " << verdict.problem << "\n";
  if (verdict.first_bad_index)
    std::cout << "first bad index: " << *verdict.first_bad_index << "\n";
  return 1;
}

std::string Segment(std::string_view s) { return cli::PathSegment(s); }

// "name=value" pairs; values that parse as JSON scalars keep their type
// only for true/false and integers, everything else is a string.
json::object FieldsFromPairs(const std::vector<std::string>& pairs) {
  json::object fields;
  for (auto& p : pairs) {
    auto eq = p.find('=');
    if (eq == std::string::npos)
      throw CLI::ValidationError("--field", "expected NAME=VALUE");
    std::string name = p.substr(0, eq), value = p.substr(eq + 1);
    if (value == "true" || value == "false") {
      fields[name] = value == "true";
    } else if (!value.empty() &&
               value.find_first_not_of("-0123456789") == std::string::npos &&
               value.size() < 19 && value != "-") {
      fields[name] = std::stoll(value);
    } else {
      fields[name] = value;
    }
  }
  return fields;
}

json::value ParseJsonArg(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) throw CLI::ValidationError(what, "not valid JSON");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "piivault: a personal-data vault for PII processors (ISO/IEC 27018)"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");

  std::string init_dir = "data";
  auto* init =
      app.add_subcommand("init", "Create a new deployment in a directory");
  init->add_option("--dir", init_dir, "Directory for config, keys and stores")
      ->capture_default_str();

  std::string config_path = "data/piivault.toml", listen;
  auto* serve = app.add_subcommand("serve", "Serve the HTTP API");
  serve->add_option("--config", config_path, "Path to piivault.toml")
      ->capture_default_str();
  serve->add_option("--listen", listen, "Override server.listen (HOST:PORT)");

  ClientFlags flags;
  const char* env_addr = std::getenv("PIIVAULT_ADDR");
  const char* env_token = std::getenv("PIIVAULT_TOKEN");
  flags.server = env_addr ? env_addr : "http://127.0.0.1:8200";
  flags.token = env_token ? env_token : "";
  auto add_client_flags = [&](CLI::App* cmd, bool data_plane) {
    cmd->add_option("--server", flags.server,
                    "Server address (env PIIVAULT_ADDR)")
        ->capture_default_str();
    cmd->add_option("--token", flags.token, "API key (env PIIVAULT_TOKEN)");
    cmd->add_option("--cacert", flags.cacert,
                    "CA or certificate to trust for https");
    if (data_plane)
      cmd->add_option("--purpose", flags.purpose,
                      "Purpose of this request (X-Purpose)")
          ->capture_default_str();
  };

  // tenant create
  auto* tenant =
      app.add_subcommand("tenant", "Manage tenants")->require_subcommand(1);
  auto* tenant_create =
      tenant->add_subcommand("create", "Create a tenant (operator-admin)");
  std::string tenant_id, tenant_name, default_region;
  std::vector<std::string> regions;
  tenant_create->add_option("--id", tenant_id, "Tenant id")->required();
  tenant_create->add_option("--name", tenant_name, "Display name");
  tenant_create->add_option("--region", regions, "Allowed region (repeatable)");
  tenant_create->add_option("--default-region", default_region,
                            "Default region");
  add_client_flags(tenant_create, false);

  // identity create
  auto* identity = app.add_subcommand("identity", "Manage identities")
                       ->require_subcommand(1);
  auto* identity_create = identity->add_subcommand(
      "create", "Create an identity; prints its API key once");
  std::string identity_name, identity_role, identity_tenant, identity_policy;
  identity_create->add_option("--name", identity_name, "Name")->required();
  identity_create
      ->add_option("--role", identity_role,
                   "operator-admin|operator-legal|operator-security|"
                   "auditor|tenant-admin|tenant-app")
      ->required();
  identity_create->add_option("--tenant", identity_tenant,
                              "Tenant (for tenant roles)");
  identity_create->add_option("--policy", identity_policy,
                              "Access policy JSON (tenant-app)");
  add_client_flags(identity_create, false);

  // collection put
  auto* collection =
      app.add_subcommand("collection", "Manage collection schemas")
          ->require_subcommand(1);
  auto* collection_put =
      collection->add_subcommand("put", "Create or update a collection");
  std::string coll_tenant, coll_name, coll_retention;
  std::vector<std::string> coll_fields;
  collection_put->add_option("--tenant", coll_tenant, "Tenant")->required();
  collection_put->add_option("--name", coll_name, "Collection name")
      ->required();
  collection_put
      ->add_option("--field", coll_fields,
                   "NAME:TYPE[:required][:searchable] (repeatable), e.g. "
                   "email:email:searchable")
      ->required();
  collection_put->add_option("--retention", coll_retention,
                             "ISO 8601 duration, e.g. P365D");
  add_client_flags(collection_put, false);

  // record put / get
  auto* record = app.add_subcommand("record", "Store and read records")
                     ->require_subcommand(1);
  std::string rec_tenant, rec_collection, rec_principal, rec_region, rec_id,
      rec_fields_filter;
  std::vector<std::string> rec_fields;
  auto* record_put = record->add_subcommand("put", "Store a record");
  record_put->add_option("--tenant", rec_tenant, "Tenant")->required();
  record_put->add_option("--collection", rec_collection, "Collection")
      ->required();
  record_put
      ->add_option("--principal", rec_principal,
                   "Principal id (opaque, not an e-mail)")
      ->required();
  record_put->add_option("--region", rec_region, "Region for a new principal");
  record_put->add_option("--field", rec_fields, "NAME=VALUE (repeatable)")
      ->required();
  add_client_flags(record_put, true);
  auto* record_get = record->add_subcommand("get", "Read a record");
  record_get->add_option("--tenant", rec_tenant, "Tenant")->required();
  record_get->add_option("--collection", rec_collection, "Collection")
      ->required();
  record_get->add_option("--id", rec_id, "Record id")->required();
  record_get->add_option("--fields", rec_fields_filter,
                         "Comma-separated fields to return");
  add_client_flags(record_get, true);

  // search
  auto* search =
      app.add_subcommand("search", "Find records by a searchable field");
  std::string search_field, search_value;
  search->add_option("--tenant", rec_tenant, "Tenant")->required();
  search->add_option("--collection", rec_collection, "Collection")->required();
  search->add_option("--field", search_field, "Searchable field")->required();
  search->add_option("--value", search_value, "Value to match")->required();
  add_client_flags(search, true);

  auto* audit_cmd = app.add_subcommand("audit", "Export and verify audit logs")
                        ->require_subcommand(1);
  std::string audit_tenant, audit_out, audit_file, audit_key, audit_previous;
  bool audit_operator = false;
  auto* audit_export = audit_cmd->add_subcommand(
      "export", "Write a log and its signed head to a file");
  audit_export->add_option("--tenant", audit_tenant, "The tenant's log");
  audit_export->add_flag("--operator", audit_operator, "The operator log");
  audit_export->add_option("--out", audit_out, "Output file")->required();
  uint64_t audit_page = 4096;  // the server's most per page
  audit_export
      ->add_option("--page-size", audit_page, "Entries fetched per request")
      ->check(CLI::Range(uint64_t{1}, uint64_t{4096}));
  add_client_flags(audit_export, false);
  auto* audit_verify = audit_cmd->add_subcommand(
      "verify", "Check an exported log offline (no server, no database)");
  audit_verify->add_option("file", audit_file, "The export")->required();
  audit_verify
      ->add_option("--public-key", audit_key,
                   "File with the deployment's public key (the JSON of GET "
                   "/v1/audit/public-key, or its base64 public_key)")
      ->required();
  audit_verify->add_option(
      "--previous-head", audit_previous,
      "File with a signed head kept earlier: the log must only have grown");

  // export keygen / decrypt: the recipient's side of an encrypted export,
  // offline (docs/formats/transfer-stream.md).
  auto* export_cmd =
      app.add_subcommand("export", "Tenant exports and transfers")
          ->require_subcommand(1);
  std::string export_key, export_in, export_out;
  auto* export_keygen = export_cmd->add_subcommand(
      "keygen",
      "Make an X25519 key pair; prints the public key (base64) to give as "
      "recipient_public_key");
  export_keygen
      ->add_option("--out-private", export_key,
                   "New file for the private key (mode 0600)")
      ->required();
  auto* export_decrypt = export_cmd->add_subcommand(
      "decrypt", "Decrypt an export encrypted to your key into a new file");
  export_decrypt
      ->add_option("--key", export_key, "The private key file from keygen")
      ->required();
  export_decrypt->add_option("--in", export_in, "The encrypted export")
      ->required();
  export_decrypt
      ->add_option("--out", export_out,
                   "New file for the plaintext (never overwritten; removed "
                   "on any error)")
      ->required();
  cli::ExportDownloadOptions download_options;
  auto* export_download = export_cmd->add_subcommand(
      "download",
      "Download a completed tenant export into a new file, checked against "
      "its manifest's sha256 (tenant-admin)");
  export_download->add_option("--tenant", download_options.tenant, "Tenant")
      ->required();
  export_download->add_option("--id", download_options.export_id, "Export id")
      ->required();
  export_download
      ->add_option("--out", download_options.out_path,
                   "New file (mode 0600; never overwritten; removed on any "
                   "error)")
      ->required();
  export_download->add_option("--manifest-out", download_options.manifest_path,
                              "New file for the signed manifest");
  add_client_flags(export_download, true);

  // compliance report / verify (docs/operations/compliance-report.md).
  auto* compliance_cmd = app.add_subcommand("compliance", "Compliance reports")
                             ->require_subcommand(1);
  cli::ComplianceReportOptions report_options;
  auto* compliance_report = compliance_cmd->add_subcommand(
      "report",
      "Write the compliance report (printable HTML, or signed JSON) to a new "
      "file (operator identities, auditor)");
  compliance_report
      ->add_option("--out", report_options.out_path,
                   "New file (mode 0600; never overwritten)")
      ->required();
  compliance_report
      ->add_option("--format", report_options.format, "html or json (signed)")
      ->transform(
          CLI::CheckedTransformer(std::map<std::string, cli::ReportFormat>{
              {"html", cli::ReportFormat::kHtml},
              {"json", cli::ReportFormat::kJson}}))
      ->default_str("html");
  add_client_flags(compliance_report, false);
  std::string report_file, report_key, report_key_file;
  auto* compliance_verify = compliance_cmd->add_subcommand(
      "verify",
      "Check a signed JSON report offline with the deployment's public key");
  compliance_verify->add_option("file", report_file, "The signed JSON report")
      ->required();
  auto* key_option = compliance_verify->add_option(
      "--public-key", report_key,
      "The deployment's public key: base64 of the raw 32 bytes "
      "(public_key of GET /v1/audit/public-key)");
  compliance_verify
      ->add_option("--public-key-file", report_key_file,
                   "File with the public key (the JSON of GET "
                   "/v1/audit/public-key, or its base64 public_key)")
      ->excludes(key_option);

  // backup / restore: offline, on the deployment's config (serve stopped for
  // a restore; docs/operations/backup.md).
  std::string backup_region, backup_file, restore_reason, restore_key_file;
  auto* backup = app.add_subcommand(
      "backup", "Write an encrypted, signed backup of one region's store");
  auto* restore = app.add_subcommand(
      "restore", "Restore one region from a backup (server stopped)");
  for (auto* cmd : {backup, restore}) {
    cmd->add_option("--config", config_path, "Path to piivault.toml")
        ->capture_default_str();
    cmd->add_option("--region", backup_region, "Region")->required();
  }
  backup->add_option("--out", backup_file, "New file for the backup")
      ->required();
  restore->add_option("--in", backup_file, "The backup file")->required();
  restore->add_option("--reason", restore_reason, "Why (for the audit log)")
      ->required();
  restore
      ->add_option("--api-key-file", restore_key_file,
                   "File holding an operator-admin API key")
      ->required();
  // import: a tenant export into a tenant of this deployment
  // (docs/operations/import.md).
  cli::ImportOptions import_options;
  auto* import_cmd = app.add_subcommand(
      "import",
      "Load a tenant export into a tenant of this deployment (tenant-admin)");
  import_cmd->add_option("--in", import_options.in_path, "The export file")
      ->required();
  import_cmd->add_option("--tenant", import_options.tenant, "Target tenant")
      ->required();
  import_cmd->add_option(
      "--decrypt-key", import_options.decrypt_key_path,
      "Private key file (export keygen): the input is an encrypted export, "
      "decrypted in memory");
  import_cmd->add_option(
      "--manifest", import_options.manifest_path,
      "The export's manifest (JSON); the stream must match it");
  import_cmd->add_option(
      "--public-key", import_options.public_key_b64,
      "The exporting deployment's signing key (base64 public_key of GET "
      "/v1/audit/public-key), with --manifest");
  import_cmd->add_option(
      "--token-map", import_options.token_map_path,
      "New file (mode 0600) for {\"old\",\"new\"} token lines");
  add_client_flags(import_cmd, true);

  CLI11_PARSE(app, argc, argv);

  try {
    if (*init) return RunInit(init_dir);
    if (*serve) return RunServe(config_path, listen);
    if (*backup || *restore) {
      auto config = LoadConfigFile(config_path);
      if (!config) return Fail(config.error());
      auto deployment = cli::OpenDeployment(*config);
      if (!deployment) return Fail(deployment.error());
      Status s =
          *backup ? cli::BackupRegion(**deployment, backup_region, backup_file)
                  : cli::RestoreRegion(**deployment, backup_region, backup_file,
                                       restore_reason, restore_key_file);
      return s.ok() ? 0 : Fail(s);
    }
    if (*tenant_create) {
      json::object body{{"id", tenant_id}};
      if (!tenant_name.empty()) body["name"] = tenant_name;
      if (!regions.empty()) {
        json::array a;
        for (auto& r : regions) a.emplace_back(r);
        body["regions"] = std::move(a);
      }
      if (!default_region.empty()) body["default_region"] = default_region;
      return Send(flags, "POST", "/v1/tenants", body, false);
    }
    if (*identity_create) {
      json::object body{{"name", identity_name}, {"role", identity_role}};
      if (!identity_policy.empty())
        body["policy"] = ParseJsonArg(identity_policy, "--policy");
      std::string target =
          identity_tenant.empty()
              ? "/v1/identities"
              : "/v1/tenants/" + Segment(identity_tenant) + "/identities";
      return Send(flags, "POST", target, body, false);
    }
    if (*collection_put) {
      json::array fields;
      for (auto& spec : coll_fields) {
        std::vector<std::string> parts;
        std::size_t start = 0;
        while (start <= spec.size()) {
          auto colon = spec.find(':', start);
          if (colon == std::string::npos) colon = spec.size();
          parts.push_back(spec.substr(start, colon - start));
          start = colon + 1;
        }
        if (parts.size() < 2)
          throw CLI::ValidationError(
              "--field", "expected NAME:TYPE[:required][:searchable]");
        json::object f{{"name", parts[0]}, {"type", parts[1]}};
        for (std::size_t i = 2; i < parts.size(); ++i) {
          if (parts[i] != "required" && parts[i] != "searchable")
            throw CLI::ValidationError("--field",
                                       "flags are 'required' and 'searchable'");
          f[parts[i]] = true;
        }
        fields.push_back(std::move(f));
      }
      json::object body{{"fields", std::move(fields)}};
      if (!coll_retention.empty()) body["retention"] = coll_retention;
      return Send(flags, "PUT",
                  "/v1/tenants/" + Segment(coll_tenant) + "/collections/" +
                      Segment(coll_name),
                  body, false);
    }
    std::string records_base = "/v1/tenants/" + Segment(rec_tenant) +
                               "/collections/" + Segment(rec_collection);
    if (*record_put) {
      json::object body{{"principal", rec_principal},
                        {"fields", FieldsFromPairs(rec_fields)}};
      if (!rec_region.empty()) body["region"] = rec_region;
      return Send(flags, "POST", records_base + "/records", body, true);
    }
    if (*record_get) {
      std::string target = records_base + "/records/" + Segment(rec_id);
      if (!rec_fields_filter.empty())
        target += "?fields=" + Segment(rec_fields_filter);
      return Send(flags, "GET", target, nullptr, true);
    }
    if (*search) {
      json::object body{{"match", json::object{{search_field, search_value}}}};
      return Send(flags, "POST", records_base + "/search", body, true);
    }
    if (*audit_export) {
      if (audit_operator == !audit_tenant.empty())
        throw CLI::ValidationError("audit export",
                                   "give exactly one of --tenant, --operator");
      return RunAuditExport(
          flags,
          audit_operator
              ? "/v1/operator/audit/export"
              : "/v1/tenants/" + Segment(audit_tenant) + "/audit/export",
          audit_out, audit_page);
    }
    if (*audit_verify)
      return RunAuditVerify(audit_file, audit_key, audit_previous);
    if (*export_keygen) {
      auto public_key = cli::TransferKeygen(export_key);
      if (!public_key) return Fail(public_key.error());
      std::cout << *public_key << "\n";
      return 0;
    }
    if (*import_cmd) {
      import_options.client = {flags.server, flags.token, flags.cacert};
      import_options.purpose = flags.purpose;
      Status s = cli::RunImport(import_options);
      return s.ok() ? 0 : Fail(s);
    }
    if (*export_download) {
      download_options.client = {flags.server, flags.token, flags.cacert};
      download_options.purpose = flags.purpose;
      Status s = cli::RunExportDownload(download_options);
      return s.ok() ? 0 : Fail(s);
    }
    if (*compliance_report) {
      report_options.client = {flags.server, flags.token, flags.cacert};
      Status s = cli::RunComplianceReport(report_options);
      if (!s.ok()) return Fail(s);
      std::cout << "wrote " << report_options.out_path << "\n";
      return 0;
    }
    if (*compliance_verify) {
      if (report_key.empty() == report_key_file.empty())
        throw CLI::ValidationError(
            "compliance verify",
            "give exactly one of --public-key, --public-key-file");
      std::string key_text = report_key;
      if (!report_key_file.empty()) {
        std::ifstream in(report_key_file, std::ios::binary);
        if (!in)
          return Fail(FailedPrecondition("cannot read the public key file"));
        key_text.assign(std::istreambuf_iterator<char>(in), {});
      }
      auto key = cli::ParseReportPublicKey(key_text);
      if (!key) return Fail(key.error());
      Status s = cli::VerifyReportFile(report_file, *key);
      if (!s.ok()) {
        std::cout << "FAILED: " << s.message() << "\n";
        return Fail(s);
      }
      std::cout << "verified: the report is intact and signed by key "
                << crypto::Ed25519KeyId(*key) << "\n";
      return 0;
    }
    if (*export_decrypt) {
      Status s = cli::TransferDecrypt(export_key, export_in, export_out);
      return s.ok() ? 0 : Fail(s);
    }
  } catch (const CLI::Error& e) {
    return app.exit(e);
  }
  return 0;
}
