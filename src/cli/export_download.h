// `piivault export download`: a completed tenant export fetched into a new
// file, streamed (memory stays at about one piece), checked against the
// SHA-256 of its signed manifest before it is kept.
#pragma once

#include <string>

#include "api/client.h"
#include "base/status.h"

namespace piivault::cli {

// The server's error of a refused request (`res`, not a 2xx), as its code
// and message name it: kFailedPrecondition "the server refused: HTTP …".
Status Refused(const api::HttpResponse& res);

struct ExportDownloadOptions {
  api::ClientOptions client;
  std::string purpose = "service_delivery";  // X-Purpose of the download
  std::string tenant;
  std::string export_id;
  std::string out_path;       // new file, mode 0600
  std::string manifest_path;  // set: the manifest is written there too
};

// Fetches the export's state, then its download. kFailedPrecondition while
// it is not completed; the server's error (code and message) for a refused
// request; kDataLoss when the bytes do not hash to the manifest's sha256,
// kUnavailable when the download ends early. On any error no output file
// is left. Prints a summary (sizes, never a value) to standard output.
Status RunExportDownload(const ExportDownloadOptions& options);

}  // namespace piivault::cli
