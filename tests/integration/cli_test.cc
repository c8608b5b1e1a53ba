// The piivault command-line client against a running server.
#include "harness.h"

namespace it {
namespace {

using CliTest = ServerTest;

json::value ParseOut(const RunResult& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.out, ec);
  if (ec) return nullptr;
  return v;
}

TEST_F(CliTest, CliClientCommands) {
  const std::string address =
      "http://127.0.0.1:" + std::to_string(server_.port());
  auto cli = [&](std::vector<std::string> args, const std::string& token) {
    args.insert(args.begin(), PiivaultBin());
    args.insert(args.end(), {"--server", address});
    return RunCommand(args, {{"PIIVAULT_TOKEN", token}},
                      std::chrono::seconds(20));
  };

  RunResult tenant =
      cli({"tenant", "create", "--id", "clico", "--name", "CLI Co", "--region",
           "eu", "--region", "us", "--default-region", "eu"},
          server_.admin_key());
  ASSERT_EQ(tenant.exit_code, 0) << tenant.out << tenant.err;
  json::value t = ParseOut(tenant);
  EXPECT_EQ(Str(t, "id"), "clico") << tenant.out;
  EXPECT_EQ(Str(t, "name"), "CLI Co");
  EXPECT_EQ(Str(t, "default_region"), "eu");
  EXPECT_EQ(Str(t, "state"), "active");
  EXPECT_EQ(Serialize(Member(t, "regions")), R"(["eu","us"])");

  RunResult identity = cli({"identity", "create", "--tenant", "clico", "--name",
                            "cli admin", "--role", "tenant-admin"},
                           server_.admin_key());
  ASSERT_EQ(identity.exit_code, 0) << identity.out << identity.err;
  json::value id = ParseOut(identity);
  const std::string key = Str(id, "api_key");
  ASSERT_FALSE(key.empty()) << identity.out;
  EXPECT_EQ(Str(id, "role"), "tenant-admin");
  EXPECT_EQ(Str(id, "tenant"), "clico");

  RunResult collection =
      cli({"collection", "put", "--tenant", "clico", "--name", "contacts",
           "--field", "email:email:searchable", "--field", "name:name"},
          key);
  ASSERT_EQ(collection.exit_code, 0) << collection.out << collection.err;
  json::value c = ParseOut(collection);
  EXPECT_EQ(Str(c, "name"), "contacts") << collection.out;
  ASSERT_EQ(Array(c, "fields").size(), 2u) << collection.out;
  auto& email_field = Array(c, "fields")[0];
  EXPECT_EQ(Str(email_field, "name"), "email");
  EXPECT_EQ(Str(email_field, "type"), "email");
  EXPECT_EQ(Member(email_field, "searchable"), json::value(true));
  EXPECT_EQ(Str(Array(c, "fields")[1], "type"), "name");

  RunResult put =
      cli({"record", "put", "--tenant", "clico", "--collection", "contacts",
           "--principal", "cli-principal-1", "--field",
           "email=Ada.Lovelace@Example.COM", "--field", "name=Ada Lovelace"},
          key);
  ASSERT_EQ(put.exit_code, 0) << put.out << put.err;
  json::value rec = ParseOut(put);
  const std::string rid = Str(rec, "id");
  ASSERT_FALSE(rid.empty()) << put.out;
  EXPECT_EQ(Str(rec, "principal"), "cli-principal-1");
  EXPECT_EQ(Str(rec, "region"), "eu");

  RunResult get = cli({"record", "get", "--tenant", "clico", "--collection",
                       "contacts", "--id", rid},
                      key);
  ASSERT_EQ(get.exit_code, 0) << get.out << get.err;
  json::value g = ParseOut(get);
  EXPECT_EQ(Str(g, "id"), rid) << get.out;
  EXPECT_EQ(Str(Member(g, "fields"), "email"), "Ada.Lovelace@example.com");
  EXPECT_EQ(Str(Member(g, "fields"), "name"), "Ada Lovelace");

  RunResult filtered =
      cli({"record", "get", "--tenant", "clico", "--collection", "contacts",
           "--id", rid, "--fields", "name"},
          key);
  ASSERT_EQ(filtered.exit_code, 0) << filtered.out << filtered.err;
  EXPECT_EQ(Serialize(Member(ParseOut(filtered), "fields")),
            R"({"name":"Ada Lovelace"})");

  RunResult search =
      cli({"search", "--tenant", "clico", "--collection", "contacts", "--field",
           "email", "--value", "Ada.Lovelace@Example.COM"},
          key);
  ASSERT_EQ(search.exit_code, 0) << search.out << search.err;
  json::value s = ParseOut(search);
  ASSERT_EQ(Array(s, "records").size(), 1u) << search.out;
  EXPECT_EQ(Str(Array(s, "records")[0], "id"), rid);

  // --token works instead of the environment, and an operator identity can
  // be created without --tenant.
  RunResult op = RunCommand(
      {PiivaultBin(), "identity", "create", "--name", "aud", "--role",
       "auditor", "--server", address, "--token", server_.admin_key()},
      {{"PIIVAULT_TOKEN", ""}});
  ASSERT_EQ(op.exit_code, 0) << op.out << op.err;
  EXPECT_EQ(Str(ParseOut(op), "role"), "auditor");

  // Failures are visible in the exit status.
  RunResult missing =
      cli({"record", "get", "--tenant", "clico", "--collection", "contacts",
           "--id", "rec_00000000000000000000000000"},
          key);
  EXPECT_NE(missing.exit_code, 0) << missing.out;
  EXPECT_NE(missing.out.find("not_found"), std::string::npos) << missing.out;
  RunResult denied = cli({"tenant", "create", "--id", "nope"}, "pv.bad.key");
  EXPECT_NE(denied.exit_code, 0) << denied.out;
  RunResult bad_field = cli({"collection", "put", "--tenant", "clico", "--name",
                             "x", "--field", "email"},
                            key);
  EXPECT_NE(bad_field.exit_code, 0);

  // --help on every command and subcommand.
  const std::vector<std::vector<std::string>> commands = {
      {},
      {"init"},
      {"serve"},
      {"tenant"},
      {"tenant", "create"},
      {"identity"},
      {"identity", "create"},
      {"collection"},
      {"collection", "put"},
      {"record"},
      {"record", "put"},
      {"record", "get"},
      {"search"}};
  for (auto& cmd : commands) {
    std::vector<std::string> args{PiivaultBin()};
    args.insert(args.end(), cmd.begin(), cmd.end());
    args.push_back("--help");
    RunResult help = RunCommand(args, {}, std::chrono::seconds(10));
    std::string name;
    for (auto& a : cmd) name += a + " ";
    EXPECT_EQ(help.exit_code, 0) << name << "--help: " << help.out << help.err;
    EXPECT_NE(help.out.find("--help"), std::string::npos)
        << name << "--help printed: " << help.out << help.err;
  }
}

}  // namespace
}  // namespace it
