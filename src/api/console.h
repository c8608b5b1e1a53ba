// The web console's files (web/, built and compiled in by web/CMakeLists.txt),
// served at /console/ without authentication: they hold no data. The console
// signs in with an API key and reads everything through the API, so each
// role sees exactly what the API lets it.
#pragma once

#include <string_view>

#include "api/http.h"
#include "base/status.h"

namespace piivault::api {

// Where the console lives; `/console` itself redirects here.
inline constexpr std::string_view kConsolePath = "/console/";

// The response to GET `path`, which is kConsolePath, a file under it, or
// `/console` (redirected to kConsolePath); kNotFound for a name it has no
// file of.
Result<HttpResponse> ConsoleFile(std::string_view path);

// `r` with the console's security headers, which every response under the
// console carries (its errors too): a Content-Security-Policy allowing this
// origin's script, style, images and API calls and nothing else (no inline
// script or style, no other origin, no framing), no referrer, no sniffing.
HttpResponse WithConsoleHeaders(HttpResponse r);

}  // namespace piivault::api
