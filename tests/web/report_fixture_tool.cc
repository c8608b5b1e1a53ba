// Test helper: the compliance report of the fixture SoA
// (tests/compliance/report_fixture.h), made with the library as the server
// makes it, for tests that look at the result from outside: the headless
// Chromium test (tests/web/report_render.mjs) and the CLI's verify test
// (tests/integration/compliance_report_test.cc, which links no project
// library).
//
//   report_fixture_tool html OUT.html SOA.json   the page, and the SoA it shows
//   report_fixture_tool json OUT.json            the signed JSON form; prints
//                                                the base64 public key
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "base/encoding.h"
#include "compliance/report.h"
#include "report_fixture.h"

namespace {

bool Write(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  return static_cast<bool>(out.flush());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace piivault;
  namespace json = boost::json;
  const std::string mode = argc > 1 ? argv[1] : "";
  const json::object soa = compliance::testing::ReportFixture();
  if (mode == "html" && argc == 4) {
    return Write(argv[2], compliance::RenderReportHtml(soa)) &&
                   Write(argv[3], json::serialize(soa))
               ? 0
               : 1;
  }
  if (mode == "json" && argc == 3) {
    const crypto::Ed25519Key key = crypto::Ed25519Key::Generate();
    if (!Write(argv[2], json::serialize(compliance::SignReport(soa, key))))
      return 1;
    std::cout << Base64Encode(key.public_key()) << "\n";
    return 0;
  }
  std::cerr << "usage: report_fixture_tool html OUT.html SOA.json | json "
               "OUT.json\n";
  return 2;
}
