// The web console's files from the server: each one served without a key,
// with its type and the console's security headers — on errors and the
// redirect too — and nothing else under /console/.
#include <string>
#include <string_view>

#include "app_fixture.h"

namespace piivault::api {
namespace {

class ConsoleTest : public testing::AppTest {
 protected:
  HttpResponse Get(std::string path) {
    HttpRequest req;
    req.method = "GET";
    req.path = std::move(path);
    return app.Handle(req);
  }
  // The policy the issue asks for: this origin only, no inline script or
  // style, no framing.
  static void ExpectSecurityHeaders(const HttpResponse& r,
                                    const std::string& what) {
    SCOPED_TRACE(what);
    std::string csp(r.Header("Content-Security-Policy"));
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("style-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("connect-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("http"), std::string::npos) << csp;  // no other origin
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.Header("Referrer-Policy"), "no-referrer");
  }
};

TEST_F(ConsoleTest, ServesEveryFileWithoutAKeyAndWithTheSecurityHeaders) {
  struct File {
    std::string path;
    std::string type;
    std::string holds;  // something only that file has
  };
  for (const File& f :
       {File{"/console/", "text/html; charset=utf-8",
             "<script src=\"console.js\""},
        File{"/console/index.html", "text/html; charset=utf-8", "console.css"},
        File{"/console/console.js", "text/javascript; charset=utf-8",
             "piivault.api_key"},
        File{"/console/console.css", "text/css; charset=utf-8", ".badge"},
        File{"/console/icon.svg", "image/svg+xml", "<svg"}}) {
    HttpResponse r = Get(f.path);
    EXPECT_EQ(r.status, 200) << f.path;
    EXPECT_EQ(r.content_type, f.type) << f.path;
    EXPECT_NE(r.body.find(f.holds), std::string::npos) << f.path;
    ExpectSecurityHeaders(r, f.path);
  }
}

TEST_F(ConsoleTest, ThePageHasNoInlineScriptOrStyle) {
  std::string page = Get("/console/").body;
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_EQ(page.find("<style"), std::string::npos);
  EXPECT_EQ(page.find("style="), std::string::npos);
  EXPECT_EQ(page.find("://"), std::string::npos);  // no other origin
}

TEST_F(ConsoleTest, RedirectsToItsDirectoryAndRefusesOtherNames) {
  HttpResponse redirect = Get("/console");
  EXPECT_EQ(redirect.status, 301);
  EXPECT_EQ(redirect.Header("Location"), "/console/");
  ExpectSecurityHeaders(redirect, "redirect");

  for (const char* path : {"/console/nope.js", "/console/../v1/whoami",
                           "/console/console.js/x", "/console/%2e%2e/"}) {
    HttpResponse r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(testing::json::parse(r.body).at("error").at("code"), "not_found")
        << path;
    ExpectSecurityHeaders(r, path);
  }
  // Only GET: another method is an unknown endpoint, as anywhere.
  HttpRequest post;
  post.method = "POST";
  post.path = "/console/";
  EXPECT_EQ(app.Handle(post).status, 404);
}

TEST_F(ConsoleTest, IsMeteredUnderItsOwnRoute) {
  Get("/console/");
  EXPECT_NE(Get("/metrics").body.find("route=\"console\""), std::string::npos);
}

}  // namespace
}  // namespace piivault::api
