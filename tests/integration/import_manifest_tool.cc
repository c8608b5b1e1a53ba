// Test helper for import_test.cc: signs a manifest for a stream file as an
// exporting deployment signs its export's manifest (API.md "Return,
// transfer, disposal"), with a fresh Ed25519 key whose base64 public key it
// prints. The canonical form (keys sorted, no whitespace) is written out by
// hand here rather than by the code under test.
//
//   import_manifest_tool STREAM EXPORT_ID TENANT OUT
// OUT gets the export's status document {"id","state","manifest":{…}}.
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "base/encoding.h"
#include "crypto/hash.h"
#include "crypto/signer.h"

int main(int argc, char** argv) {
  using namespace piivault;
  if (argc != 5) {
    std::cerr << "usage: import_manifest_tool STREAM EXPORT_ID TENANT OUT\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::cerr << "import_manifest_tool: cannot read the stream\n";
    return 2;
  }
  const std::string stream(std::istreambuf_iterator<char>(in), {});
  const std::string export_id = argv[2], tenant = argv[3];
  crypto::Ed25519Key key = crypto::Ed25519Key::Generate();
  // Ids and names of the tests need no JSON escaping.
  const std::string members =
      R"("counts":{"records":1},"created_at":"2026-12-01T10:00:00Z","export":")" +
      export_id + R"(","key_id":")" + key.key_id() +
      R"(","regions":{"eu":1},"sha256":")" + HexEncode(crypto::Sha256(stream)) +
      R"(","tenant":")" + tenant + "\"";
  const std::string signature = Base64Encode(key.Sign("{" + members + "}"));
  std::ofstream out(argv[4], std::ios::binary | std::ios::trunc);
  out << R"({"id":")" << export_id << R"(","state":"completed","manifest":{)"
      << members << R"(,"signature":")" << signature << "\"}}";
  if (!out.flush()) return 1;
  std::cout << Base64Encode(key.public_key()) << "\n";
  return 0;
}
