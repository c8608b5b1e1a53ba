// The OpenAPI document (src/api/openapi.json, compiled into the server) is the
// contract integrators and the console are built from, so it must name
// exactly the endpoints the server answers: a route missing from either side
// fails here, by method and path. Also: every operation says how it fails
// (a 4xx), every $ref resolves, only the public endpoints go without
// the API key, and the server serves the document verbatim, unauthenticated.
#include <algorithm>
#include <charconv>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using testing::AppTest;

constexpr std::string_view kMethods[] = {"get",     "put",  "post",  "delete",
                                         "options", "head", "patch", "trace"};

json::value Document() {
  boost::system::error_code ec;
  json::value doc = json::parse(App::OpenApiDocument(), ec);
  EXPECT_FALSE(ec) << "src/api/openapi.json is not valid JSON: "
                   << ec.message();
  return doc;
}

// The endpoints answered without the API key (App::Handle, before routing).
const std::set<std::string> kPublicEndpoints = {
    "GET /healthz", "GET /metrics", "GET /v1/openapi.json", "GET /console/",
    "GET /console/{file}"};

// Each operation object of the document, with its "GET /v1/whoami".
std::vector<std::pair<std::string, const json::object*>> Operations(
    const json::value& doc) {
  std::vector<std::pair<std::string, const json::object*>> out;
  const json::value* paths = doc.as_object().if_contains("paths");
  if (!paths || !paths->is_object()) {
    ADD_FAILURE() << "the document has no paths object";
    return out;
  }
  for (auto& [path, item] : paths->as_object())
    for (std::string_view method : kMethods)
      if (auto* op = item.as_object().if_contains(method)) {
        std::string upper(method);
        std::ranges::transform(upper, upper.begin(), ::toupper);
        out.emplace_back(upper + " " + std::string(path), &op->as_object());
      }
  return out;
}

std::set<std::string> DocumentEndpoints(const json::value& doc) {
  std::set<std::string> out;
  for (auto& [name, op] : Operations(doc)) out.insert(name);
  return out;
}

std::set<std::string> ServerEndpoints() {
  std::set<std::string> out;
  for (auto& e : App::Endpoints()) out.insert(e.method + " " + e.path);
  return out;
}

// Resolves a local JSON pointer ("#/components/schemas/Error", RFC 6901
// escapes ~1 and ~0) in `doc`; null when it names nothing.
const json::value* Resolve(const json::value& doc, std::string_view ref) {
  if (!ref.starts_with("#")) return nullptr;  // no external references
  ref.remove_prefix(1);
  const json::value* at = &doc;
  while (!ref.empty()) {
    if (ref.front() != '/') return nullptr;
    ref.remove_prefix(1);
    const auto end = std::min(ref.find('/'), ref.size());
    std::string token;
    for (std::size_t i = 0; i < end; ++i) {
      if (ref[i] == '~' && i + 1 < end &&
          (ref[i + 1] == '0' || ref[i + 1] == '1')) {
        token.push_back(ref[i + 1] == '0' ? '~' : '/');
        ++i;
      } else {
        token.push_back(ref[i]);
      }
    }
    ref.remove_prefix(end);
    if (auto* o = at->if_object()) {
      at = o->if_contains(token);
    } else if (auto* a = at->if_array()) {
      std::size_t index = 0;
      auto [p, ec] =
          std::from_chars(token.data(), token.data() + token.size(), index);
      at = ec == std::errc() && p == token.data() + token.size() &&
                   index < a->size()
               ? &(*a)[index]
               : nullptr;
    } else {
      at = nullptr;
    }
    if (!at) return nullptr;
  }
  return at;
}

void CollectRefs(const json::value& v, std::vector<std::string>& out) {
  if (auto* o = v.if_object()) {
    for (auto& [key, member] : *o) {
      if (key == "$ref" && member.is_string())
        out.emplace_back(member.get_string());
      else
        CollectRefs(member, out);
    }
  } else if (auto* a = v.if_array()) {
    for (auto& e : *a) CollectRefs(e, out);
  }
}

TEST(OpenApiTest, IsOpenApi31) {
  json::value doc = Document();
  ASSERT_TRUE(doc.is_object());
  const json::value* version = doc.as_object().if_contains("openapi");
  ASSERT_TRUE(version && version->is_string());
  EXPECT_TRUE(version->get_string().starts_with("3.1"));
}

// Both ways: a route the server has and the document lacks, and one the
// document names that the server does not answer, each fail by name.
TEST(OpenApiTest, DocumentNamesExactlyTheServersRoutes) {
  json::value doc = Document();
  ASSERT_TRUE(doc.is_object());
  const std::set<std::string> documented = DocumentEndpoints(doc);
  const std::set<std::string> served = ServerEndpoints();
  ASSERT_FALSE(served.empty());
  for (auto& endpoint : served)
    EXPECT_TRUE(documented.contains(endpoint))
        << "missing from src/api/openapi.json: " << endpoint;
  for (auto& endpoint : documented)
    EXPECT_TRUE(served.contains(endpoint))
        << "in src/api/openapi.json but not a route of the server: "
        << endpoint;
}

TEST(OpenApiTest, EveryOperationDeclaresAClientError) {
  json::value doc = Document();
  ASSERT_TRUE(doc.is_object());
  for (auto& [name, op] : Operations(doc)) {
    const json::value* responses = op->if_contains("responses");
    ASSERT_TRUE(responses && responses->is_object()) << name;
    EXPECT_TRUE(std::ranges::any_of(
        responses->as_object(),
        [](const auto& r) { return r.key().starts_with("4"); }))
        << name << " declares no 4xx response";
  }
}

TEST(OpenApiTest, EveryRefResolves) {
  json::value doc = Document();
  ASSERT_TRUE(doc.is_object());
  std::vector<std::string> refs;
  CollectRefs(doc, refs);
  EXPECT_FALSE(refs.empty());
  for (auto& ref : refs)
    EXPECT_NE(Resolve(doc, ref), nullptr) << "unresolved $ref " << ref;
}

// The linter's no-path-trailing-slash rule is off for the console's
// directory (tools/openapi/redocly.yaml); every other path keeps it.
TEST(OpenApiTest, ApiPathsHaveNoTrailingSlash) {
  json::value doc = Document();
  ASSERT_TRUE(doc.is_object());
  for (auto& [path, item] : doc.at("paths").as_object()) {
    if (path == "/console/") continue;
    EXPECT_FALSE(path.ends_with("/")) << path;
  }
}

// The API key is required everywhere but on the endpoints answered
// before authentication (App::Handle).
TEST(OpenApiTest, OnlyThePublicEndpointsNeedNoKey) {
  json::value doc = Document();
  ASSERT_TRUE(doc.is_object());
  const json::value* global = doc.as_object().if_contains("security");
  ASSERT_TRUE(global && global->is_array() && !global->as_array().empty())
      << "the document must require the API key by default";
  for (auto& [name, op] : Operations(doc)) {
    const json::value* security = op->if_contains("security");
    const bool open =
        security && security->is_array() && security->as_array().empty();
    EXPECT_EQ(open, kPublicEndpoints.contains(name)) << name;
  }
}

// The static endpoint list is what an App really routes.
class OpenApiAppTest : public AppTest {};

TEST_F(OpenApiAppTest, EndpointsAreTheAppsRouteTable) {
  std::set<std::string> routed;
  for (auto& r : app.RouteTable()) routed.insert(r.method + " " + r.pattern);
  std::set<std::string> listed = ServerEndpoints();
  for (const std::string& fixed : kPublicEndpoints)
    EXPECT_EQ(listed.erase(fixed), 1u) << fixed;
  EXPECT_EQ(listed, routed);
}

TEST_F(OpenApiAppTest, ServedVerbatimWithoutAKey) {
  HttpRequest req;
  req.method = "GET";
  req.path = "/v1/openapi.json";
  HttpResponse r = app.Handle(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, App::OpenApiDocument());
  // Another method: what /healthz answers to one (no such endpoint).
  for (const char* path : {"/v1/openapi.json", "/healthz"}) {
    req.method = "POST";
    req.path = path;
    HttpResponse other = app.Handle(req);
    EXPECT_EQ(other.status, 404) << path;
    EXPECT_EQ(json::parse(other.body).at("error").at("code"), "not_found")
        << path;
  }
  // It is metered under a route of its own.
  req.method = "GET";
  req.path = "/metrics";
  EXPECT_NE(app.Handle(req).body.find("route=\"openapi\""), std::string::npos);
}

}  // namespace
}  // namespace piivault::api
