#include "audit/audit_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "audit/verify.h"
#include "crypto/random.h"
#include "crypto/seal.h"
#include "storage/memory/memory_backend.h"
#include "storage/sqlite/sqlite_backend.h"
#include "support/failing_backend.h"
#include "support/fixed_clock.h"
#include "support/temp_dir.h"

namespace piivault::audit {
namespace {

using piivault::testing::FailingBackend;
using piivault::testing::FixedClock;
using piivault::testing::ScopedTempDir;

Event MakeEvent(int i, Outcome outcome = Outcome::kOk) {
  Event e;
  e.at = FromUnixMicros(1'800'000'000'000'000 + i);
  e.actor = "id_actor";
  e.action = "records.get";
  e.purpose = "service_delivery";
  e.collection = "people";
  e.record = "rec_" + std::to_string(i);
  e.principal_pseudonym = "ab12";
  e.fields = {"email", "name"};
  e.region = "eu";
  e.outcome = outcome;
  e.request_id = "req-" + std::to_string(i);
  return e;
}

class AuditLogTest : public ::testing::Test {
 protected:
  AuditLogTest()
      : failing(&memory),
        keyring(crypto::RandomSecret(crypto::kMasterKeySize), &failing),
        signer(crypto::Ed25519Key::Generate()),
        log(&failing, &keyring, &signer, &clock) {}

  void AppendN(std::string_view log_id, int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(log.Append(log_id, MakeEvent(i)));
  }

  storage::MemoryBackend memory;
  FailingBackend failing;
  crypto::Keyring keyring;
  crypto::Ed25519Key signer;
  FixedClock clock;
  AuditLog log;
};

TEST_F(AuditLogTest, EntriesRoundTripWithSequenceNumbers) {
  for (int i = 0; i < 5; ++i) {
    auto seq = log.Append("t/acme", MakeEvent(i));
    ASSERT_TRUE(seq.has_value()) << seq.error().ToString();
    EXPECT_EQ(*seq, static_cast<uint64_t>(i));
  }
  ASSERT_TRUE(log.Append("operator", MakeEvent(9)).has_value());
  auto events = log.Read("t/acme", 1, 10);
  ASSERT_TRUE(events.has_value()) << events.error().ToString();
  ASSERT_EQ(events->size(), 4u);
  Event expected = MakeEvent(1);
  expected.seq = 1;
  EXPECT_EQ((*events)[0], expected);
  EXPECT_EQ(log.Size("t/acme").value_or(0), 5u);
  EXPECT_EQ(log.Size("operator").value_or(0), 1u);
  EXPECT_EQ(log.Size("t/other").value_or(9), 0u);
}

TEST_F(AuditLogTest, EntriesAreCiphertextAtRest) {
  AppendN("t/acme", 3);
  auto rows = memory.Scan("audit/", "", SIZE_MAX);
  ASSERT_TRUE(rows.has_value());
  for (auto& row : *rows) {
    EXPECT_EQ(row.value.find("records.get"), std::string::npos) << row.key;
    EXPECT_EQ(row.value.find("req-1"), std::string::npos) << row.key;
  }
}

TEST_F(AuditLogTest, ProofsVerifyAgainstSignedHeads) {
  std::vector<SignedHead> heads;
  for (int n = 1; n <= 23; ++n) {
    ASSERT_TRUE(log.Append("t/acme", MakeEvent(n)));
    auto head = log.Head("t/acme");
    ASSERT_TRUE(head.has_value()) << head.error().ToString();
    ASSERT_EQ(head->tree_size, static_cast<uint64_t>(n));
    ASSERT_TRUE(head->Verify(signer.public_key()));
    heads.push_back(*head);
  }
  auto entries = log.Entries("t/acme", 0, 100);
  ASSERT_TRUE(entries.has_value());
  std::vector<Hash> leaves;
  for (auto& e : *entries) leaves.push_back(LeafHash(e));
  for (uint64_t size = 1; size <= 23; ++size) {
    const SignedHead& head = heads[size - 1];
    EXPECT_EQ(head.root, RootOf(std::span(leaves).first(size)));
    for (uint64_t i = 0; i < size; ++i) {
      auto proof = log.ProveInclusion("t/acme", i, size);
      ASSERT_TRUE(proof.has_value());
      EXPECT_EQ(proof->leaf_hash, leaves[i]);
      EXPECT_TRUE(
          VerifyInclusion(proof->leaf_hash, i, size, proof->path, head.root))
          << i << "/" << size;
    }
    for (uint64_t first = 1; first <= size; ++first) {
      auto proof = log.ProveConsistency("t/acme", first, size);
      ASSERT_TRUE(proof.has_value());
      EXPECT_TRUE(VerifyConsistency(first, size, heads[first - 1].root,
                                    head.root, *proof))
          << first << "->" << size;
    }
  }
}

TEST_F(AuditLogTest, ProofRequestsOutOfRangeAreInvalid) {
  AppendN("t/acme", 4);
  for (auto [i, n] : std::vector<std::pair<uint64_t, uint64_t>>{
           {4, 4}, {0, 5}, {0, 0}, {7, 3}}) {
    EXPECT_EQ(log.ProveInclusion("t/acme", i, n).error().code(),
              StatusCode::kInvalidArgument);
  }
  for (auto [m, n] :
       std::vector<std::pair<uint64_t, uint64_t>>{{0, 3}, {3, 2}, {2, 5}}) {
    EXPECT_EQ(log.ProveConsistency("t/acme", m, n).error().code(),
              StatusCode::kInvalidArgument);
  }
}

TEST_F(AuditLogTest, HeadIsSignedOnlyWhenTheLogGrew) {
  AppendN("t/acme", 2);
  auto first = log.Head("t/acme");
  ASSERT_TRUE(first.has_value());
  clock.now += std::chrono::seconds(5);
  auto same = log.Head("t/acme");
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->timestamp, first->timestamp);
  EXPECT_EQ(same->signature, first->signature);
  AppendN("t/acme", 1);
  ASSERT_TRUE(log.SignGrownHeads().ok());
  auto grown = log.Head("t/acme");
  EXPECT_EQ(grown->tree_size, 3u);
  EXPECT_EQ(grown->timestamp, first->timestamp + 5);
  // A head names its log: it does not verify as another log's.
  SignedHead moved = *grown;
  moved.log_id = "t/other";
  EXPECT_FALSE(moved.Verify(signer.public_key()));
  auto parsed = SignedHead::FromJson(grown->ToJson());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->Verify(signer.public_key()));
}

TEST_F(AuditLogTest, FailsClosedAndWritesNothingWhenTheStoreFails) {
  AppendN("t/acme", 2);
  auto before = memory.Scan("", "", SIZE_MAX).value();
  failing.fail_writes = true;
  auto seq = log.Append("t/acme", MakeEvent(7));
  ASSERT_FALSE(seq.has_value());
  EXPECT_EQ(seq.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(memory.Scan("", "", SIZE_MAX).value(), before);
  failing.fail_writes = false;
  EXPECT_EQ(log.Append("t/acme", MakeEvent(8)).value_or(99), 2u);
}

TEST_F(AuditLogTest, TamperedRowsAreDetected) {
  AppendN("t/acme", 4);
  auto entry_key = [](int i) {
    return "audit/t/acme/e/" + std::string(15, '0') + std::to_string(i);
  };
  auto value = [&](int i) { return *memory.Get(entry_key(i)).value(); };
  {  // reordered: entry 2's row holds entry 1's ciphertext
    storage::WriteBatch b;
    b.Put(entry_key(2), value(1));
    ASSERT_TRUE(memory.Write(b).ok());
    EXPECT_EQ(log.Read("t/acme", 0, 10).error().code(), StatusCode::kDataLoss);
  }
  {  // removed
    storage::WriteBatch b;
    b.Delete(entry_key(2));
    ASSERT_TRUE(memory.Write(b).ok());
    auto read = log.Read("t/acme", 0, 10);
    ASSERT_FALSE(read.has_value());
    EXPECT_NE(read.error().message().find("2 is missing"), std::string::npos);
  }
}

// Enough events for three tile levels (256^2 < n), appended in big groups
// and then one by one by a second instance that loads the tree's edge from
// the stored tiles: heads and proofs agree with the tree over the entries at
// every tile boundary.
TEST_F(AuditLogTest, ProofsHoldAcrossTileBoundaries) {
  constexpr int kBulk = 65536 + 300;
  std::atomic<int> failed{0};
  std::promise<void> all_done;
  std::atomic<int> left{kBulk};
  for (int i = 0; i < kBulk; ++i)
    log.AppendAsync("t/acme", MakeEvent(i), [&](Result<uint64_t> seq) {
      if (!seq) ++failed;
      if (--left == 0) all_done.set_value();
    });
  all_done.get_future().wait();
  ASSERT_EQ(failed.load(), 0);
  {
    AuditLog cold(&failing, &keyring, &signer, &clock);
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(cold.Append("t/acme", MakeEvent(i)));
  }
  const uint64_t n = kBulk + 5;
  auto entries = log.Entries("t/acme", 0, n);
  ASSERT_TRUE(entries.has_value()) << entries.error().ToString();
  ASSERT_EQ(entries->size(), n);
  std::vector<Hash> leaves;
  for (auto& e : *entries) leaves.push_back(LeafHash(e));
  auto head = log.Head("t/acme");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->tree_size, n);
  EXPECT_EQ(head->root, RootOf(leaves));

  const uint64_t sizes[] = {1,   255,   256,   257,   511, 512,
                            513, 65535, 65536, 65537, n};
  std::map<uint64_t, Hash> roots;
  for (uint64_t size : sizes)
    roots[size] = RootOf(std::span(leaves).first(size));
  for (uint64_t size : sizes) {
    for (uint64_t index :
         {uint64_t{0}, uint64_t{255}, uint64_t{256}, size / 2, size - 1}) {
      if (index >= size) continue;
      auto proof = log.ProveInclusion("t/acme", index, size);
      ASSERT_TRUE(proof.has_value()) << proof.error().ToString();
      EXPECT_TRUE(
          VerifyInclusion(leaves[index], index, size, proof->path, roots[size]))
          << index << " in " << size;
    }
    for (uint64_t first : sizes) {
      if (first > size) continue;
      auto proof = log.ProveConsistency("t/acme", first, size);
      ASSERT_TRUE(proof.has_value());
      EXPECT_TRUE(
          VerifyConsistency(first, size, roots[first], roots[size], *proof))
          << first << " -> " << size;
    }
  }
  auto exported = log.Export("t/acme");
  ASSERT_TRUE(exported.has_value());
  EXPECT_EQ(exported->leaf_hashes, leaves);
}

// Retention: expired entries go, oldest first, behind a signed checkpoint; the
// tree, the heads and every proof stay valid, and an export still verifies,
// also against a head saved before pruning.
TEST_F(AuditLogTest, RetentionPrunesExpiredEntriesBehindASignedCheckpoint) {
  AppendN("t/acme", 100);
  auto head100 = log.Head("t/acme");
  ASSERT_TRUE(head100.has_value());
  for (int i = 100; i < 600; ++i)
    ASSERT_TRUE(log.Append("t/acme", MakeEvent(i)));
  auto entries = log.Entries("t/acme", 0, 600);
  ASSERT_TRUE(entries.has_value());
  std::vector<Hash> leaves;
  for (auto& e : *entries) leaves.push_back(LeafHash(e));
  const Hash root = RootOf(leaves);

  // Entries 0..519 are older than entry 520.
  TimePoint cutoff = MakeEvent(520).at;
  EXPECT_EQ(log.Prune("t/acme", cutoff).value_or(0), 520u);
  EXPECT_EQ(log.PrunedBefore("t/acme").value_or(0), 520u);
  EXPECT_EQ(log.Prune("t/acme", cutoff).value_or(0), 520u);
  auto runs = memory.Scan("audit/t/acme/e/", "", SIZE_MAX);
  ASSERT_TRUE(runs.has_value());
  ASSERT_FALSE(runs->empty());
  EXPECT_EQ(runs->front().key, "audit/t/acme/e/0000000000000208");  // 520
  EXPECT_EQ(log.Read("t/acme", 0, 10).error().code(), StatusCode::kDataLoss);
  auto kept = log.Read("t/acme", 520, 100);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->size(), 80u);

  // The tree is untouched: same size and root, proofs for pruned and kept
  // entries, consistency from the head saved before pruning.
  auto head = log.Head("t/acme");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->tree_size, 600u);
  EXPECT_EQ(head->root, root);
  for (uint64_t index : {3u, 300u, 550u}) {
    auto proof = log.ProveInclusion("t/acme", index, 600);
    ASSERT_TRUE(proof.has_value());
    EXPECT_TRUE(VerifyInclusion(leaves[index], index, 600, proof->path, root));
  }
  auto consistency = log.ProveConsistency("t/acme", 100, 600);
  ASSERT_TRUE(consistency.has_value());
  EXPECT_TRUE(VerifyConsistency(100, 600, head100->root, root, *consistency));

  // Offline: verifies with the checkpoint; without it, or with its range
  // widened, the absent entries are caught.
  auto exported = log.Export("t/acme");
  ASSERT_TRUE(exported.has_value());
  ASSERT_TRUE(exported->pruned.has_value());
  auto reread = LogExport::FromJson(exported->ToJson());
  ASSERT_TRUE(reread.has_value());
  Verdict good = VerifyExport(*reread, signer.public_key(), *head100);
  EXPECT_TRUE(good.ok) << good.problem;

  LogExport no_checkpoint = *exported;
  no_checkpoint.pruned.reset();
  Verdict missing = VerifyExport(no_checkpoint, signer.public_key(), *head100);
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.first_bad_index, std::optional<uint64_t>(0));

  LogExport widened = *exported;
  widened.pruned->pruned_before = 600;
  EXPECT_FALSE(VerifyExport(widened, signer.public_key(), *head100).ok);

  LogExport forged_leaf = *exported;
  forged_leaf.leaf_hashes[7][0] ^= 1;
  EXPECT_FALSE(VerifyExport(forged_leaf, signer.public_key(), *head100).ok);
}

// A missing entry is never pruned away: pruning stops there.
TEST_F(AuditLogTest, PruningStopsAtATamperedEntry) {
  AppendN("t/acme", 600);
  storage::WriteBatch b;
  b.Delete("audit/t/acme/e/000000000000012c");  // entry 300's run
  ASSERT_TRUE(memory.Write(b).ok());
  auto later = FromUnixMicros(1'900'000'000'000'000);
  EXPECT_EQ(log.Prune("t/acme", later).value_or(0), 300u);
  auto exported = log.Export("t/acme");
  ASSERT_TRUE(exported.has_value());
  Verdict verdict = VerifyExport(*exported, signer.public_key(), std::nullopt);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.first_bad_index, std::optional<uint64_t>(300));
}

TEST_F(AuditLogTest, PruneExpiredCoversEveryLogAndKeepsRecentEvents) {
  AppendN("t/acme", 300);
  AppendN("operator", 300);
  clock.now += std::chrono::hours(24 * 3);
  // t/fresh's events are an hour old.
  for (int i = 0; i < 300; ++i) {
    Event e = MakeEvent(i);
    e.at = clock.now - std::chrono::hours(1);
    ASSERT_TRUE(log.Append("t/fresh", e));
  }
  ASSERT_TRUE(log.PruneExpired(std::chrono::hours(24 * 2)).ok());
  EXPECT_EQ(log.PrunedBefore("t/acme").value_or(0), 300u);
  EXPECT_EQ(log.PrunedBefore("operator").value_or(0), 300u);
  EXPECT_EQ(log.PrunedBefore("t/fresh").value_or(9), 0u);
}

// Many threads append at once: every event gets its own index, the indexes
// are contiguous, and far fewer commits than events happen.
TEST(AuditLogSqliteTest, GroupCommitBatchesConcurrentAppends) {
  ScopedTempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  {
    auto sqlite = storage::SqliteBackend::Open(dir.File("control.db"));
    ASSERT_TRUE(sqlite.has_value());
    crypto::Keyring keyring(crypto::RandomSecret(crypto::kMasterKeySize),
                            sqlite->get());
    auto signer = crypto::Ed25519Key::Generate();
    FixedClock clock;
    AuditLog log(sqlite->get(), &keyring, &signer, &clock);
    // Two "nodes" on one store must not interleave badly either.
    AuditLog other_node(sqlite->get(), &keyring, &signer, &clock);
    constexpr int kThreads = 16, kEach = 50;
    std::mutex mu;
    std::set<uint64_t> seqs;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        AuditLog& node = t % 4 == 0 ? other_node : log;
        for (int i = 0; i < kEach; ++i) {
          auto seq = node.Append("t/acme", MakeEvent(t * kEach + i));
          ASSERT_TRUE(seq.has_value()) << seq.error().ToString();
          std::lock_guard lock(mu);
          EXPECT_TRUE(seqs.insert(*seq).second) << "duplicate index " << *seq;
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(seqs.size(), static_cast<std::size_t>(kThreads * kEach));
    EXPECT_EQ(*seqs.rbegin(), static_cast<uint64_t>(kThreads * kEach - 1));
    std::cout << "[ info     ] " << kThreads * kEach << " events in "
              << (*sqlite)->committed_transactions() << " commits\n";
    EXPECT_LT((*sqlite)->committed_transactions(),
              static_cast<uint64_t>(kThreads * kEach) / 2);
    // The tree over what is stored is the tree the heads sign.
    auto entries = log.Entries("t/acme", 0, SIZE_MAX);
    ASSERT_TRUE(entries.has_value());
    std::vector<Hash> leaves;
    for (auto& e : *entries) leaves.push_back(LeafHash(e));
    auto head = other_node.Head("t/acme");
    ASSERT_TRUE(head.has_value());
    EXPECT_EQ(head->root, RootOf(leaves));
  }
}

}  // namespace
}  // namespace piivault::audit
