// Backup and restore of a region on the real binary (docs/operations/
// backup.md): a restore brings back what the backup held but not the
// principals erased since, is on record in the operator audit log, is
// refused (changing nothing) for a damaged file, another deployment's
// backup, no reason or no operator-admin key, and is finished by running it
// again after a kill at any of its steps; a backup never leaves plaintext in
// TMPDIR or the data directory.
#include <sys/stat.h>

#include <csignal>
#include <filesystem>

#include "harness.h"

namespace it {
namespace {

constexpr std::string_view kDistinctive = "Quokka-Zyxwvut-4471";

class BackupTest : public ServerTest {
 protected:
  std::string BackupPath(const std::string& name = "eu.pvbk") const {
    return server_.root() + "/" + name;
  }
  std::string AdminKeyFile() const { return server_.data_dir() + "/admin.key"; }

  RunResult Backup(const std::string& out, const Headers& env = {}) const {
    return RunCommand({PiivaultBin(), "backup", "--config",
                       server_.config_path(), "--region", "eu", "--out", out},
                      env, std::chrono::seconds(120));
  }
  RunResult Restore(const std::string& in, const std::string& key_file,
                    const std::optional<std::string>& reason =
                        "restore after the eu disk failed (ticket 42)",
                    const Headers& env = {}) const {
    std::vector<std::string> args = {
        PiivaultBin(), "restore", "--config", server_.config_path(), "--region",
        "eu",          "--in",    in,         "--api-key-file",      key_file};
    if (reason) {
      args.push_back("--reason");
      args.push_back(*reason);
    }
    return RunCommand(args, env, std::chrono::seconds(120));
  }

  // The operator audit log's restorations.
  json::array Restorations() const {
    auto r =
        server_.Call("GET", "/v1/operator/audit/events?action=region.restore",
                     Auth(server_.admin_key()));
    EXPECT_EQ(r.status, 200) << r.Describe();
    return Array(r.Json(), "events");
  }

  // Rows of the eu store whose key mentions `needle`.
  int64_t EuRowsMentioning(const std::string& needle) const {
    int64_t n = 0;
    for (auto& [key, value] : server_.StoreRows("eu"))
      n += key.find(needle) != std::string::npos;
    return n;
  }

  std::string Post(const Tenant& t, const std::string& principal,
                   const std::string& note) {
    auto r =
        PostRecord(server_, t, principal,
                   {{"email", principal + "@example.org"}, {"note", note}});
    EXPECT_EQ(r.status, 201) << r.Describe();
    return Str(r.Json(), "id");
  }
  int Get(const Tenant& t, const std::string& id) const {
    return server_.Call("GET", t.Record(id), Data(t.admin_key)).status;
  }
  std::string Erase(const Tenant& t, const std::string& principal) {
    auto r = server_.Call("DELETE", t.Base() + "/principals/" + principal,
                          Data(t.admin_key));
    EXPECT_EQ(r.status, 200) << r.Describe();
    return Str(Member(r.Json(), "certificate"), "principal_pseudonym");
  }
};

std::string Copy(const std::string& from, const std::string& to,
                 std::optional<std::size_t> flip = std::nullopt,
                 std::optional<std::size_t> truncate = std::nullopt) {
  std::string bytes = ReadFile(from);
  if (flip) bytes[*flip] = static_cast<char>(bytes[*flip] ^ 0x01);
  if (truncate) bytes.resize(*truncate);
  WriteFile(to, bytes);
  return to;
}

TEST_F(BackupTest, RestoreKeepsErasuresAndDisposalsAndIsAudited) {
  Tenant t = SetUpTenant(server_, "acme");
  Tenant gone = SetUpTenant(server_, "gone");
  const std::string leaver = Post(t, "leaver-1", std::string(kDistinctive));
  const std::string stayer = Post(t, "stayer-1", "stays");
  const std::string disposed = Post(gone, "customer-1", "of a leaving tenant");
  ASSERT_EQ(server_.Stop(), 0);
  auto backup = Backup(BackupPath());
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_TRUE(backup.err.empty()) << "piped: no progress bar: " << backup.err;

  ASSERT_TRUE(server_.Start());
  const std::string newcomer = Post(t, "newcomer-1", "after the backup");
  const std::string pseudonym = Erase(t, "leaver-1");
  ASSERT_EQ(
      server_.Call("POST", gone.Base() + "/terminate", Auth(gone.admin_key))
          .status,
      200);
  auto dispose =
      server_.Call("POST", gone.Base() + "/dispose", Auth(gone.admin_key),
                   json::object{{"confirmed_by_tenant", true}});
  ASSERT_EQ(dispose.status, 200) << dispose.Describe();
  ASSERT_EQ(server_.Stop(), 0);
  ASSERT_EQ(EuRowsMentioning(leaver), 0);
  ASSERT_EQ(EuRowsMentioning("/gone/"), 0);

  auto restored = Restore(BackupPath(), AdminKeyFile());
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_NE(restored.out.find("1 erasures applied again"), std::string::npos)
      << restored.out;

  // The erased principal stays gone, from the API and from the store file
  // itself; its key entry is the erasure's keyless tombstone again.
  EXPECT_EQ(EuRowsMentioning(leaver), 0);
  EXPECT_EQ(EuRowsMentioning(pseudonym), 1);
  EXPECT_TRUE(server_.StoreHasKey("eu", "pkey/acme/" + pseudonym));
  EXPECT_EQ(EuRowsMentioning(stayer), 3);  // rec/, prec/ and bidx/
  // Nothing of the tenant disposed of after the backup comes back.
  EXPECT_EQ(EuRowsMentioning("/gone/"), 0);
  EXPECT_EQ(EuRowsMentioning(disposed), 0);

  ASSERT_TRUE(server_.Start());
  EXPECT_EQ(Get(t, leaver), 404);
  EXPECT_EQ(Get(t, stayer), 200);
  EXPECT_EQ(Get(t, newcomer), 404);  // written after the backup
  EXPECT_TRUE(IsError(
      server_.Call("GET", t.Base() + "/principals/leaver-1", Data(t.admin_key)),
      404, "not_found"));

  auto events = Restorations();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(Str(events[0], "reason"),
            "restore after the eu disk failed (ticket 42)");
  EXPECT_EQ(Str(events[0], "region"), "eu");
  EXPECT_EQ(Str(events[0], "outcome"), "ok");
  EXPECT_TRUE(Str(events[0], "backup").starts_with("bk_"));
  EXPECT_NE(backup.out.find(Str(events[0], "backup")), std::string::npos);
  auto whoami = server_.Call("GET", "/v1/whoami", Auth(server_.admin_key()));
  EXPECT_EQ(Str(events[0], "actor"), Str(whoami.Json(), "id"));
}

TEST_F(BackupTest, RefusedRestoresChangeNothing) {
  Tenant t = SetUpTenant(server_, "acme");
  Post(t, "before-1", "in the backup");
  auto auditor =
      server_.Call("POST", "/v1/identities", Auth(server_.admin_key()),
                   json::object{{"name", "auditor"}, {"role", "auditor"}});
  ASSERT_EQ(auditor.status, 201) << auditor.Describe();
  const std::string auditor_key = server_.root() + "/auditor.key";
  WriteFile(auditor_key, Str(auditor.Json(), "api_key") + "\n");
  const std::string unknown_key = server_.root() + "/unknown.key";
  WriteFile(unknown_key, "pv.id_nobody.bm90IGEga2V5\n");
  ASSERT_EQ(server_.Stop(), 0);
  ASSERT_EQ(Backup(BackupPath()).exit_code, 0);

  // A backup of another deployment (its own root and signing key).
  ServerProcess other;
  ASSERT_TRUE(other.init_ok());
  const std::string foreign = server_.root() + "/foreign.pvbk";
  auto foreign_backup =
      RunCommand({PiivaultBin(), "backup", "--config", other.config_path(),
                  "--region", "eu", "--out", foreign});
  ASSERT_EQ(foreign_backup.exit_code, 0) << foreign_backup.err;

  ASSERT_TRUE(server_.Start());
  Post(t, "after-1", "not in the backup");
  ASSERT_EQ(server_.Stop(), 0);
  const Rows before = server_.StoreRows("eu");

  const std::string good = BackupPath();
  const std::size_t size = ReadFile(good).size();
  // Inside the header's backup id: still a well-formed header.
  const std::size_t in_header = ReadFile(good).find("bk_") + 4;
  struct Case {
    std::string name;
    std::string file;
    std::string key_file;
    std::optional<std::string> reason = "a reason";
  };
  const std::vector<Case> cases = {
      {"a byte of the header", Copy(good, good + ".h", in_header),
       AdminKeyFile()},
      {"a byte of the ciphertext", Copy(good, good + ".c", size / 2),
       AdminKeyFile()},
      {"a byte of the signature", Copy(good, good + ".s", size - 10),
       AdminKeyFile()},
      {"a byte of the header's framing", Copy(good, good + ".f", 12),
       AdminKeyFile()},
      {"a truncated file", Copy(good, good + ".t", std::nullopt, size - 200),
       AdminKeyFile()},
      {"another deployment's backup", foreign, AdminKeyFile()},
      {"no reason", good, AdminKeyFile(), std::nullopt},
      {"an empty reason", good, AdminKeyFile(), ""},
      {"a reason with a bidi override", good, AdminKeyFile(),
       "restore \xe2\x80\xae"
       "eliaf"},
      {"an auditor's key", good, auditor_key},
      {"an unknown key", good, unknown_key},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = Restore(c.file, c.key_file, c.reason);
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_FALSE(r.err.empty());
    EXPECT_TRUE(server_.StoreRows("eu") == before);
    EXPECT_FALSE(server_.StoreHasKey("control", "restore/eu"));
  }
  ASSERT_TRUE(server_.Start());
  EXPECT_TRUE(Restorations().empty());
}

TEST_F(BackupTest, KilledRestoreIsFinishedByRunningItAgain) {
  Tenant t = SetUpTenant(server_, "acme");
  const std::string leaver = Post(t, "leaver-1", "erased after the backup");
  const std::string stayer = Post(t, "stayer-1", "stays");
  ASSERT_EQ(server_.Stop(), 0);
  ASSERT_EQ(Backup(BackupPath()).exit_code, 0);
  ASSERT_TRUE(server_.Start());
  Erase(t, "leaver-1");

  const std::vector<std::string> steps = {"restore.intent", "restore.replaced",
                                          "restore.erasures"};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(steps[i]);
    const std::string newcomer = Post(t, "newcomer-" + std::to_string(i), "x");
    ASSERT_EQ(server_.Stop(), 0);
    auto killed = Restore(BackupPath(), AdminKeyFile(), "drill",
                          {{"PIIVAULT_CRASH_AT", steps[i]}});
    ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
    EXPECT_TRUE(server_.StoreHasKey("control", "restore/eu"));

    std::string output;
    const uint16_t port = FreePort();
    EXPECT_TRUE(server_.ExpectServeRefuses("127.0.0.1:" + std::to_string(port),
                                           port, &output));
    EXPECT_NE(output.find("interrupted restore"), std::string::npos) << output;

    auto rerun = Restore(BackupPath(), AdminKeyFile(), "drill, finished");
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.out.find("finished the interrupted restore"),
              std::string::npos)
        << rerun.out;
    EXPECT_FALSE(server_.StoreHasKey("control", "restore/eu"));
    EXPECT_EQ(EuRowsMentioning(leaver), 0);
    EXPECT_EQ(EuRowsMentioning(newcomer), 0);
    EXPECT_EQ(EuRowsMentioning(stayer), 3);

    ASSERT_TRUE(server_.Start());
    EXPECT_EQ(Get(t, leaver), 404);
    EXPECT_EQ(Get(t, stayer), 200);
    EXPECT_EQ(Get(t, newcomer), 404);
    // One entry per restoration, not per run.
    EXPECT_EQ(Restorations().size(), i + 1);
  }
}

// A backup killed before its file is in place leaves none at --out (only
// ciphertext in the partial file), and no plaintext anywhere: TMPDIR, the
// data directory and the backup hold no field value.
TEST_F(BackupTest, KilledBackupLeavesNoFileAndNoPlaintext) {
  Tenant t = SetUpTenant(server_, "acme");
  for (int i = 0; i < 50; ++i)
    Post(t, "p-" + std::to_string(i), std::string(kDistinctive));
  ASSERT_EQ(server_.Stop(), 0);
  const std::string tmp = server_.root() + "/watched-tmp";
  std::filesystem::create_directories(tmp);
  const Headers env = {{"TMPDIR", tmp}};
  auto no_plaintext = [&](const std::string& where) {
    for (const std::string& dir : {tmp, server_.data_dir(), server_.root()}) {
      for (const std::string& file : ListFiles(dir)) {
        if (file.ends_with(".log")) continue;  // the server's own log
        EXPECT_FALSE(ContainsIgnoreCase(ReadFile(file), kDistinctive))
            << where << ": " << file;
      }
    }
  };

  auto killed = Backup(
      BackupPath(), {{"TMPDIR", tmp}, {"PIIVAULT_CRASH_AT", "backup.written"}});
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  EXPECT_FALSE(std::filesystem::exists(BackupPath()));
  ASSERT_TRUE(std::filesystem::exists(BackupPath() + ".partial"));
  struct stat st;
  ASSERT_EQ(::stat((BackupPath() + ".partial").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  no_plaintext("killed");

  auto again = Backup(BackupPath(), env);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(std::filesystem::exists(BackupPath()));
  EXPECT_FALSE(std::filesystem::exists(BackupPath() + ".partial"));
  no_plaintext("done");
  // An existing backup is never overwritten.
  EXPECT_NE(Backup(BackupPath(), env).exit_code, 0);

  ASSERT_EQ(Restore(BackupPath(), AdminKeyFile()).exit_code, 0);
  ASSERT_TRUE(server_.Start());
}

}  // namespace
}  // namespace it
