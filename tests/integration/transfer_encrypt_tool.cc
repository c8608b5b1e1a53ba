// Test helper for transfer_test.cc: encrypts a file to a recipient's public
// key with the library, as an encrypted export download does. The piivault
// binary has no command that encrypts (only the recipient's keygen and
// decrypt), and integration_test links no project library.
//
//   transfer_encrypt_tool PUBLIC_KEY_BASE64 IN OUT
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "base/encoding.h"
#include "crypto/transfer_stream.h"

int main(int argc, char** argv) {
  using namespace piivault;
  if (argc != 4) {
    std::cerr << "usage: transfer_encrypt_tool PUBLIC_KEY_BASE64 IN OUT\n";
    return 2;
  }
  std::optional<std::string> key = Base64Decode(argv[1]);
  std::ifstream in(argv[2], std::ios::binary);
  std::ofstream out(argv[3], std::ios::binary | std::ios::trunc);
  if (!key || !in || !out) {
    std::cerr << "transfer_encrypt_tool: bad key or file\n";
    return 2;
  }
  auto writer =
      crypto::TransferStreamWriter::Create(*key, [&](std::string_view bytes) {
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        return out ? Status::Ok() : Unavailable("cannot write");
      });
  if (!writer) {
    std::cerr << "transfer_encrypt_tool: " << writer.error().ToString() << "\n";
    return 1;
  }
  std::string buf(10000, '\0');  // not a multiple of the chunk size
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    Status s = writer->Write(
        std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())));
    if (!s.ok()) {
      std::cerr << "transfer_encrypt_tool: " << s.ToString() << "\n";
      return 1;
    }
  }
  Status s = writer->Finish();
  out.close();
  if (!s.ok() || !out) {
    std::cerr << "transfer_encrypt_tool: cannot finish\n";
    return 1;
  }
  return 0;
}
