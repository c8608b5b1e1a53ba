#include "api/console.h"

#include <utility>

#include "embedded/kConsoleCss.h"
#include "embedded/kConsoleIcon.h"
#include "embedded/kConsoleIndexHtml.h"
#include "embedded/kConsoleJs.h"

namespace piivault::api {
namespace {

struct File {
  std::string_view name;  // under kConsolePath; "" is the console itself
  std::string_view content_type;
  const std::string_view* body;
};
constexpr File kFiles[] = {
    {"", "text/html; charset=utf-8", &kConsoleIndexHtml},
    {"index.html", "text/html; charset=utf-8", &kConsoleIndexHtml},
    {"console.js", "text/javascript; charset=utf-8", &kConsoleJs},
    {"console.css", "text/css; charset=utf-8", &kConsoleCss},
    {"icon.svg", "image/svg+xml", &kConsoleIcon},
};

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

}  // namespace

HttpResponse WithConsoleHeaders(HttpResponse r) {
  r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  // Revalidated on every load, so a new build is never mixed with a cached
  // older one.
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

Result<HttpResponse> ConsoleFile(std::string_view path) {
  if (!path.starts_with(kConsolePath)) {
    HttpResponse r;
    r.status = 301;
    r.content_type = "text/plain; charset=utf-8";
    r.headers.emplace_back("Location", kConsolePath);
    return r;
  }
  std::string_view name = path.substr(kConsolePath.size());
  for (const File& f : kFiles) {
    if (f.name != name) continue;
    HttpResponse r;
    r.content_type = f.content_type;
    r.body = *f.body;
    return r;
  }
  return Err(NotFound("the console has no such file"));
}

}  // namespace piivault::api
