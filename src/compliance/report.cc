#include "compliance/report.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "audit/canonical_json.h"
#include "base/encoding.h"

namespace piivault::compliance {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlgorithm = "ed25519";

// The statuses of API.md → Compliance, in the order the summary counts
// them, each with the CSS class of its badge. A status outside the list is
// still counted and shown (escaped), with a neutral badge: the class comes
// from this table, never from the document.
struct StatusStyle {
  std::string_view status;
  std::string_view css_class;
};
constexpr std::array<StatusStyle, 5> kStatuses{{
    {"nonconformity", "st-nc"},
    {"implemented", "st-impl"},
    {"partially_implemented", "st-part"},
    {"organizational", "st-org"},
    {"not_applicable", "st-na"},
}};

std::string_view StatusClass(std::string_view status) {
  for (const auto& s : kStatuses)
    if (s.status == status) return s.css_class;
  return "st-other";
}

// Print-first styles: A4 pages, table headers repeated on each page, no
// row split across pages, badges kept legible in black and white.
constexpr std::string_view kStyle = R"css(
body { font: 10.5pt/1.4 system-ui, "DejaVu Sans", sans-serif; color: #111;
       margin: 2em auto; max-width: 80em; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #333; margin-top: 1.8em; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0; }
th, td { border: 1px solid #999; padding: 0.3em 0.45em; text-align: left;
         vertical-align: top; overflow-wrap: anywhere; }
th { background: #eee; }
td table { font-size: 0.92em; }
dl { margin: 0; display: grid; grid-template-columns: max-content auto;
     column-gap: 0.8em; }
dt { font-weight: 600; }
dd { margin: 0; }
ul { margin: 0; padding-left: 1.2em; }
.meta td:first-child { font-weight: 600; width: 12em; }
.counts { width: auto; }
.none { color: #666; font-style: italic; }
.badge { border: 1px solid; border-radius: 3px; padding: 0 0.3em;
         white-space: nowrap; font-weight: 600; }
.st-nc { color: #a00; background: #fdd; }
.st-impl { color: #060; background: #dfd; }
.st-part { color: #750; background: #ffd; }
.st-org { color: #036; background: #def; }
.st-na, .st-other { color: #444; background: #eee; }
.nc-list li { margin-bottom: 0.3em; }
@page { size: A4; margin: 14mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 9pt; }
  h2 { break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)css";

void Escape(std::string_view text, std::string& out) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
}

// Builds the page; every piece of the document passes through Text or
// Value, which escape.
class Page {
 public:
  std::string& out() { return out_; }

  Page& Raw(std::string_view markup) {
    out_ += markup;
    return *this;
  }
  Page& Text(std::string_view text) {
    Escape(text, out_);
    return *this;
  }
  Page& None(std::string_view what = "none") {
    return Raw("<span class=\"none\">").Text(what).Raw("</span>");
  }
  Page& Badge(std::string_view status) {
    return Raw("<span class=\"badge ")
        .Raw(StatusClass(status))
        .Raw("\">")
        .Text(status)
        .Raw("</span>");
  }

  // Any JSON value, readably: scalars as text, objects as definition
  // lists, arrays of objects as tables (a column per member name, in the
  // order first seen), other arrays as lists.
  Page& Value(const json::value& v) {
    switch (v.kind()) {
      case json::kind::null:
        return None("—");
      case json::kind::bool_:
        return Text(v.get_bool() ? "yes" : "no");
      case json::kind::string:
        return Text(v.get_string());
      case json::kind::object:
        return Object(v.get_object());
      case json::kind::array:
        return Array(v.get_array());
      default:  // numbers
        return Text(json::serialize(v));
    }
  }

  // The member `key` of `o`, rendered, or the absent mark.
  Page& Member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v ? Value(*v) : None("—");
  }

 private:
  Page& Object(const json::object& o) {
    if (o.empty()) return None();
    Raw("<dl>");
    for (const auto& kv : o) {
      Raw("<dt>").Text(kv.key()).Raw("</dt><dd>");
      Value(kv.value()).Raw("</dd>");
    }
    return Raw("</dl>");
  }

  Page& Array(const json::array& a) {
    if (a.empty()) return None();
    bool all_objects = true;
    for (const auto& item : a) all_objects = all_objects && item.is_object();
    if (!all_objects) {
      Raw("<ul>");
      for (const auto& item : a) Raw("<li>").Value(item).Raw("</li>");
      return Raw("</ul>");
    }
    std::vector<std::string_view> columns;
    for (const auto& item : a)
      for (const auto& kv : item.get_object())
        if (std::find(columns.begin(), columns.end(), kv.key()) ==
            columns.end())
          columns.push_back(kv.key());
    Raw("<table><thead><tr>");
    for (auto c : columns) Raw("<th>").Text(c).Raw("</th>");
    Raw("</tr></thead><tbody>");
    for (const auto& item : a) {
      Raw("<tr>");
      for (auto c : columns)
        Raw("<td>").Member(item.get_object(), c).Raw("</td>");
      Raw("</tr>");
    }
    return Raw("</tbody></table>");
  }

  std::string out_;
};

const json::array* ArrayMember(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_array() ? &v->get_array() : nullptr;
}

std::string_view StringMember(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string())
                             : std::string_view();
}

void Summary(const json::object& soa, const json::array* controls, Page& page) {
  page.Raw("<section id=\"summary\"><h2>Summary</h2><table class=\"meta\">");
  page.Raw("<tr><td>Standard</td><td>").Member(soa, "standard");
  page.Raw("</td></tr><tr><td>Generated at</td><td>")
      .Member(soa, "generated_at");
  page.Raw("</td></tr><tr><td>Controls</td><td>")
      .Text(std::to_string(controls ? controls->size() : 0))
      .Raw("</td></tr></table>");

  const json::array* ncs = ArrayMember(soa, "nonconformities");
  page.Raw("<h3>Nonconformities</h3>");
  if (!ncs || ncs->empty()) {
    page.Raw("<p>").None("None: no control is in nonconformity.").Raw("</p>");
  } else {
    page.Raw("<ul class=\"nc-list\">");
    for (const auto& nc : *ncs) {
      page.Raw("<li>");
      if (nc.is_object()) {
        page.Raw("<strong>")
            .Member(nc.get_object(), "control")
            .Raw("</strong>: ")
            .Member(nc.get_object(), "reasons");
      } else {
        page.Value(nc);
      }
      page.Raw("</li>");
    }
    page.Raw("</ul>");
  }

  // Counts by status: the documented ones always (zero included), then
  // any other the document names.
  std::map<std::string, int> counts;
  if (controls)
    for (const auto& c : *controls)
      if (c.is_object())
        ++counts[std::string(StringMember(c.get_object(), "status"))];
  page.Raw(
      "<h3>Controls by status</h3><table "
      "class=\"counts\"><thead><tr><th>Status</th>"
      "<th>Controls</th></tr></thead><tbody>");
  auto row = [&](std::string_view status, int n) {
    page.Raw("<tr><td>").Badge(status).Raw("</td><td>");
    page.Text(std::to_string(n)).Raw("</td></tr>");
  };
  for (const auto& s : kStatuses) {
    auto it = counts.find(std::string(s.status));
    row(s.status, it == counts.end() ? 0 : it->second);
    if (it != counts.end()) counts.erase(it);
  }
  for (const auto& [status, n] : counts)
    row(status.empty() ? "(none)" : status, n);
  page.Raw("</tbody></table></section>");
}

void Controls(const json::array* controls, Page& page) {
  page.Raw(
      "<section id=\"soa\"><h2>Statement of Applicability</h2>"
      "<table><thead><tr><th>Control</th><th>Title</th><th>Applicable</th>"
      "<th>Status</th><th>Implementation</th><th>Evidence</th></tr></thead>"
      "<tbody>");
  if (controls) {
    for (const auto& item : *controls) {
      if (!item.is_object()) continue;
      const json::object& c = item.get_object();
      page.Raw("<tr><td><strong>").Member(c, "id").Raw("</strong>");
      if (c.contains("id_2014")) page.Raw("<br>2014: ").Member(c, "id_2014");
      page.Raw("</td><td>").Member(c, "title");
      page.Raw("</td><td>").Member(c, "applicable");
      page.Raw("</td><td>").Badge(StringMember(c, "status"));
      page.Raw("</td><td>").Member(c, "implementation");
      page.Raw("</td><td>").Member(c, "evidence").Raw("</td></tr>");
    }
  }
  page.Raw("</tbody></table></section>");
}

// A section holding one member of the SoA, rendered as a value.
void Section(const json::object& soa, std::string_view id,
             std::string_view heading, std::string_view key, Page& page) {
  page.Raw("<section id=\"").Raw(id).Raw("\"><h2>").Text(heading);
  page.Raw("</h2>").Member(soa, key).Raw("</section>");
}

}  // namespace

std::string RenderReportHtml(const json::object& soa) {
  const json::array* controls = ArrayMember(soa, "controls");
  Page page;
  page.Raw(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      // Nothing may load or run: the page is the whole report.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
      "'none'; style-src 'unsafe-inline'; img-src data:\">"
      "<meta name=\"viewport\" content=\"width=device-width\">"
      "<title>Compliance report: ");
  page.Member(soa, "standard").Raw("</title><style>").Raw(kStyle);
  page.Raw("</style></head><body><header><h1>Compliance report</h1><p>");
  page.Member(soa, "standard").Raw(", generated at ");
  page.Member(soa, "generated_at").Raw("</p></header>");
  Summary(soa, controls, page);
  Section(soa, "services", "In-scope services", "in_scope_services", page);
  Controls(controls, page);
  Section(soa, "declarations", "Organizational declarations", "declarations",
          page);
  page.Raw("<section id=\"audits\"><h2>Audit and certificate register</h2>");
  page.Raw("<p>Next audit due: <strong>")
      .Member(soa, "next_audit_due")
      .Raw("</strong></p>")
      .Member(soa, "audits")
      .Raw("</section></body></html>\n");
  return std::move(page.out());
}

json::object SignReport(const json::object& soa,
                        const crypto::Ed25519Key& key) {
  return json::object{
      {"report", soa},
      {"key_id", key.key_id()},
      {"algorithm", kAlgorithm},
      {"signature", Base64Encode(key.Sign(audit::CanonicalJson(soa)))}};
}

Status VerifyReport(const json::value& signed_report,
                    std::string_view public_key) {
  if (public_key.size() != crypto::kEd25519PublicKeySize)
    return InvalidArgument("the public key is not 32 bytes");
  const json::object* doc = signed_report.if_object();
  if (!doc || doc->size() != 4)
    return InvalidArgument(
        "not a signed report: expected exactly report, key_id, algorithm "
        "and signature");
  const json::value* report = doc->if_contains("report");
  const json::value* key_id = doc->if_contains("key_id");
  const json::value* algorithm = doc->if_contains("algorithm");
  const json::value* signature = doc->if_contains("signature");
  if (!report || !report->is_object() || !key_id || !key_id->is_string() ||
      !algorithm || !algorithm->is_string() || !signature ||
      !signature->is_string())
    return InvalidArgument(
        "not a signed report: expected exactly report, key_id, algorithm "
        "and signature");
  if (algorithm->get_string() != kAlgorithm)
    return InvalidArgument("the algorithm is not ed25519");
  std::optional<std::string> sig = Base64Decode(signature->get_string());
  if (!sig) return InvalidArgument("the signature is not base64");
  if (key_id->get_string() != crypto::Ed25519KeyId(public_key))
    return FailedPrecondition(
        "the report names another signing key than the public key given");
  if (!crypto::Ed25519Verify(public_key, audit::CanonicalJson(*report), *sig))
    return DataLoss(
        "the signature does not hold: the report or its signature was "
        "changed after signing");
  return Status::Ok();
}

}  // namespace piivault::compliance
