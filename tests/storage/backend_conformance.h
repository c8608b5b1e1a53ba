// The storage conformance suite: behaviour every Backend must have.
//
// It is a type-parameterized GoogleTest suite, so a backend joins it with one
// small test file:
//
//   #include "backend_conformance.h"
//   struct MyFactory {
//     MyFactory();   // prepare a fresh, empty store (temp dir, new schema...)
//     ~MyFactory();  // remove it
//     std::unique_ptr<piivault::storage::Backend> Open();  // open the store
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, BackendConformanceTest, MyFactory);
//
// A new factory (hence a new, empty store) is made for every test.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "storage/backend.h"

namespace piivault::storage::testing {

// Builds a std::string from a literal that may contain NUL bytes.
template <std::size_t N>
std::string Bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

inline std::vector<std::string> KeysOf(const std::vector<KeyValue>& kvs) {
  std::vector<std::string> keys;
  for (const KeyValue& kv : kvs) keys.push_back(kv.key);
  return keys;
}

template <typename Factory>
class BackendConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = factory_.Open();
    ASSERT_NE(backend_, nullptr);
  }
  void TearDown() override { backend_.reset(); }

  Backend& db() { return *backend_; }

  void Put(std::string key, std::string value) {
    WriteBatch batch;
    batch.Put(std::move(key), std::move(value));
    const Status s = db().Write(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Delete(std::string key) {
    WriteBatch batch;
    batch.Delete(std::move(key));
    const Status s = db().Write(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // The value at `key`, failing the test on an error.
  std::optional<std::string> Value(std::string_view key) {
    auto r = db().Get(key);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.has_value() ? *r : std::nullopt;
  }
  std::vector<KeyValue> ScanOk(std::string_view prefix, std::string_view start,
                               std::size_t limit) {
    auto r = db().Scan(prefix, start, limit);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.has_value() ? *r : std::vector<KeyValue>{};
  }

  Factory factory_;
  std::unique_ptr<Backend> backend_;  // destroyed before factory_
};

TYPED_TEST_SUITE_P(BackendConformanceTest);

TYPED_TEST_P(BackendConformanceTest, GetMissingAndPresent) {
  EXPECT_EQ(this->Value("missing"), std::nullopt);
  this->Put("k", "v");
  EXPECT_EQ(this->Value("k"), "v");
  EXPECT_EQ(this->Value("k2"), std::nullopt);
  EXPECT_EQ(this->Value(""), std::nullopt);
}

TYPED_TEST_P(BackendConformanceTest, PutOverwrites) {
  this->Put("k", "first");
  this->Put("k", "second value");
  EXPECT_EQ(this->Value("k"), "second value");
  this->Put("k", "3");
  EXPECT_EQ(this->Value("k"), "3");
  EXPECT_EQ(this->ScanOk("", "", 10).size(), 1u);
}

TYPED_TEST_P(BackendConformanceTest, DeleteRemoves) {
  this->Put("a", "1");
  this->Put("b", "2");
  this->Delete("a");
  EXPECT_EQ(this->Value("a"), std::nullopt);
  EXPECT_EQ(this->Value("b"), "2");
  this->Delete("never-existed");  // deleting an absent key is fine
  this->Delete("a");
  EXPECT_EQ(this->Value("a"), std::nullopt);
  this->Put("a", "again");
  EXPECT_EQ(this->Value("a"), "again");
}

TYPED_TEST_P(BackendConformanceTest, BinaryKeysAndValues) {
  const std::vector<std::string> keys = {
      Bytes("\0"),         Bytes("\0\0"),       Bytes("a\0b"),
      Bytes("a\0"),        Bytes("a"),          Bytes("\xff"),
      Bytes("\xff\xff\0"), Bytes("\x80\x7f\0"), Bytes("\x01\x02"),
  };
  for (std::size_t i = 0; i < keys.size(); ++i) {
    this->Put(keys[i], Bytes("v\0\xff") + std::to_string(i) + Bytes("\0"));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(this->Value(keys[i]),
              Bytes("v\0\xff") + std::to_string(i) + Bytes("\0"))
        << "key #" << i;
  }
  EXPECT_EQ(this->Value(Bytes("a\0b\0")), std::nullopt);
  EXPECT_EQ(this->ScanOk("", "", 100).size(), keys.size());

  // Every byte value, as a key and in a value.
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  this->Put(all, all + all);
  EXPECT_EQ(this->Value(all), all + all);
}

TYPED_TEST_P(BackendConformanceTest, EmptyValueIsNotAbsent) {
  this->Put("empty", "");
  auto v = this->Value("empty");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "");
  auto many = this->db().MultiGet(std::vector<std::string>{"empty", "nope"});
  ASSERT_TRUE(many.has_value());
  EXPECT_EQ(*many, (std::vector<std::optional<std::string>>{std::string(),
                                                            std::nullopt}));
  EXPECT_EQ(this->ScanOk("", "", 10), (std::vector<KeyValue>{{"empty", ""}}));
}

TYPED_TEST_P(BackendConformanceTest, MultiGetOrderDuplicatesAndMissing) {
  this->Put("a", "1");
  this->Put("b", "2");
  this->Put(Bytes("c\0"), "3");
  const std::vector<std::string> keys = {"b",          "zz", "a", "b",
                                         Bytes("c\0"), "c",  "a"};
  auto r = this->db().MultiGet(keys);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(*r, (std::vector<std::optional<std::string>>{
                    "2", std::nullopt, "1", "2", "3", std::nullopt, "1"}));

  auto empty = this->db().MultiGet(std::vector<std::string>{});
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());

  auto one = this->db().MultiGet(std::vector<std::string>{"a"});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(*one, (std::vector<std::optional<std::string>>{"1"}));
}

TYPED_TEST_P(BackendConformanceTest, ScanPrefixBoundaries) {
  for (const std::string& k :
       {Bytes("`"), Bytes("a"), Bytes("a\0"), Bytes("a1"), Bytes("ab"),
        Bytes("ab\xff"), Bytes("a\xff"), Bytes("b"), Bytes("ba"),
        Bytes("abc")}) {
    this->Put(k, "v:" + k);
  }
  EXPECT_EQ(KeysOf(this->ScanOk("a", "", 100)),
            (std::vector<std::string>{Bytes("a"), Bytes("a\0"), Bytes("a1"),
                                      Bytes("ab"), Bytes("abc"),
                                      Bytes("ab\xff"), Bytes("a\xff")}));
  EXPECT_EQ(
      KeysOf(this->ScanOk("ab", "", 100)),
      (std::vector<std::string>{Bytes("ab"), Bytes("abc"), Bytes("ab\xff")}));
  EXPECT_EQ(KeysOf(this->ScanOk("b", "", 100)),
            (std::vector<std::string>{Bytes("b"), Bytes("ba")}));
  EXPECT_TRUE(this->ScanOk("c", "", 100).empty());
  EXPECT_TRUE(this->ScanOk("abd", "", 100).empty());
  // Values come with their keys.
  auto kvs = this->ScanOk("ab", "", 100);
  ASSERT_EQ(kvs.size(), 3u);
  for (const KeyValue& kv : kvs) EXPECT_EQ(kv.value, "v:" + kv.key);
}

TYPED_TEST_P(BackendConformanceTest, ScanPrefixesEndingInFF) {
  for (const std::string& k :
       {Bytes("\xfe"), Bytes("\xfe\xff"), Bytes("\xff"), Bytes("\xff\0"),
        Bytes("\xff\xfe"), Bytes("\xff\xff"), Bytes("\xff\xff\0"),
        Bytes("\xff\xff\xff\xff"), Bytes("a\xff"), Bytes("a\xff\x01"),
        Bytes("b")}) {
    this->Put(k, "v");
  }
  EXPECT_EQ(KeysOf(this->ScanOk(Bytes("a\xff"), "", 100)),
            (std::vector<std::string>{Bytes("a\xff"), Bytes("a\xff\x01")}));
  EXPECT_EQ(KeysOf(this->ScanOk(Bytes("\xff\xff"), "", 100)),
            (std::vector<std::string>{Bytes("\xff\xff"), Bytes("\xff\xff\0"),
                                      Bytes("\xff\xff\xff\xff")}));
  EXPECT_EQ(
      KeysOf(this->ScanOk(Bytes("\xff"), "", 100)),
      (std::vector<std::string>{
          Bytes("\xff"), Bytes("\xff\0"), Bytes("\xff\xfe"), Bytes("\xff\xff"),
          Bytes("\xff\xff\0"), Bytes("\xff\xff\xff\xff")}));
  EXPECT_EQ(KeysOf(this->ScanOk(Bytes("\xfe"), "", 100)),
            (std::vector<std::string>{Bytes("\xfe"), Bytes("\xfe\xff")}));
  EXPECT_TRUE(this->ScanOk(Bytes("\xff\xff\xff\xff\xff"), "", 100).empty());
}

TYPED_TEST_P(BackendConformanceTest, EmptyPrefixScansEverything) {
  EXPECT_TRUE(this->ScanOk("", "", 100).empty());
  const std::vector<std::string> sorted = {
      Bytes("\0"),   Bytes("\0\0"),    Bytes("\x01"), Bytes("A"),
      Bytes("a"),    Bytes("z"),       Bytes("\x7f"), Bytes("\x80"),
      Bytes("\xff"), Bytes("\xff\xff")};
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) this->Put(*it, "");
  EXPECT_EQ(KeysOf(this->ScanOk("", "", 100)), sorted);
  EXPECT_EQ(KeysOf(this->ScanOk("", Bytes("\x7f"), 100)),
            (std::vector<std::string>{Bytes("\x7f"), Bytes("\x80"),
                                      Bytes("\xff"), Bytes("\xff\xff")}));
}

TYPED_TEST_P(BackendConformanceTest, ScanUnsignedByteOrder) {
  // Inserted out of order; a signed-char order would put 0x80..0xFF first.
  for (int b : {0xff, 0x80, 0x7f, 0x00, 0x01, 0xc3, 0x7e, 0x81}) {
    this->Put("p" + std::string(1, static_cast<char>(b)), "");
  }
  this->Put("p", "");
  this->Put(Bytes("p\x7f\xff"), "");
  this->Put(Bytes("p\x80\0"), "");
  EXPECT_EQ(
      KeysOf(this->ScanOk("p", "", 100)),
      (std::vector<std::string>{
          Bytes("p"), Bytes("p\0"), Bytes("p\x01"), Bytes("p\x7e"),
          Bytes("p\x7f"), Bytes("p\x7f\xff"), Bytes("p\x80"), Bytes("p\x80\0"),
          Bytes("p\x81"), Bytes("p\xc3"), Bytes("p\xff")}));
}

TYPED_TEST_P(BackendConformanceTest, ScanStartInclusiveAndLimit) {
  for (int i = 0; i < 10; ++i) this->Put("k" + std::to_string(i), "");
  this->Put("j", "");
  this->Put("l", "");
  // Start is inclusive.
  EXPECT_EQ(KeysOf(this->ScanOk("k", "k3", 3)),
            (std::vector<std::string>{"k3", "k4", "k5"}));
  // A start between keys begins at the next key.
  EXPECT_EQ(KeysOf(this->ScanOk("k", Bytes("k3\0"), 2)),
            (std::vector<std::string>{"k4", "k5"}));
  // Start before the prefix: from the beginning of the prefix.
  EXPECT_EQ(KeysOf(this->ScanOk("k", "a", 2)),
            (std::vector<std::string>{"k0", "k1"}));
  EXPECT_EQ(KeysOf(this->ScanOk("k", "k", 1)),
            (std::vector<std::string>{"k0"}));
  // Start past the prefix range: nothing.
  EXPECT_TRUE(this->ScanOk("k", "l", 10).empty());
  EXPECT_TRUE(this->ScanOk("k", "k9\x01", 10).empty());
  // Limits.
  EXPECT_TRUE(this->ScanOk("k", "", 0).empty());
  EXPECT_EQ(this->ScanOk("k", "", 1).size(), 1u);
  EXPECT_EQ(this->ScanOk("k", "", 10).size(), 10u);
  EXPECT_EQ(this->ScanOk("k", "", 11).size(), 10u);
  EXPECT_EQ(
      this->ScanOk("", "", std::numeric_limits<std::size_t>::max()).size(),
      12u);
  // Paging with the last key + "\0" as the next start visits every key once.
  std::vector<std::string> paged;
  std::string start;
  for (;;) {
    auto page = this->ScanOk("k", start, 3);
    if (page.empty()) break;
    for (const KeyValue& kv : page) paged.push_back(kv.key);
    start = page.back().key + std::string(1, '\0');
  }
  EXPECT_EQ(paged.size(), 10u);
  EXPECT_EQ(paged.front(), "k0");
  EXPECT_EQ(paged.back(), "k9");
}

TYPED_TEST_P(BackendConformanceTest, BatchAppliesOpsInOrder) {
  this->Put("deleted", "old");
  this->Put("keep", "same");
  WriteBatch batch;
  batch.Put("x", "1");
  batch.Put("x", "2");  // later op wins
  batch.Put("y", "temp");
  batch.Delete("y");
  batch.Delete("z");
  batch.Put("z", "back");
  batch.Delete("deleted");
  batch.Put("w", "");
  ASSERT_TRUE(this->db().Write(batch).ok());
  EXPECT_EQ(this->Value("x"), "2");
  EXPECT_EQ(this->Value("y"), std::nullopt);
  EXPECT_EQ(this->Value("z"), "back");
  EXPECT_EQ(this->Value("deleted"), std::nullopt);
  EXPECT_EQ(this->Value("keep"), "same");
  EXPECT_EQ(this->Value("w"), "");
  EXPECT_EQ(KeysOf(this->ScanOk("", "", 100)),
            (std::vector<std::string>{"keep", "w", "x", "z"}));
}

TYPED_TEST_P(BackendConformanceTest, EmptyBatchIsOk) {
  WriteBatch batch;
  EXPECT_TRUE(this->db().Write(batch).ok());
  EXPECT_TRUE(this->ScanOk("", "", 10).empty());
}

TYPED_TEST_P(BackendConformanceTest, RequireAbsent) {
  WriteBatch create;
  create.RequireAbsent("lock");
  create.Put("lock", "owner-1");
  create.Put("other", "x");
  ASSERT_TRUE(this->db().Write(create).ok());
  EXPECT_EQ(this->Value("lock"), "owner-1");

  WriteBatch again;
  again.RequireAbsent("lock");
  again.Put("lock", "owner-2");
  again.Put("other", "y");
  again.Delete("other");
  again.Put("new", "z");
  const Status s = this->db().Write(again);
  EXPECT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
  // Nothing of the failed batch is applied.
  EXPECT_EQ(this->Value("lock"), "owner-1");
  EXPECT_EQ(this->Value("other"), "x");
  EXPECT_EQ(this->Value("new"), std::nullopt);

  // An empty value is present, not absent.
  this->Put("empty", "");
  WriteBatch on_empty;
  on_empty.RequireAbsent("empty");
  on_empty.Put("empty", "x");
  EXPECT_EQ(this->db().Write(on_empty).code(), StatusCode::kAborted);
  EXPECT_EQ(this->Value("empty"), "");
}

TYPED_TEST_P(BackendConformanceTest, RequireValue) {
  this->Put("counter", "1");
  WriteBatch ok;
  ok.RequireValue("counter", "1");
  ok.Put("counter", "2");
  ok.Put("log/1", "a");
  ASSERT_TRUE(this->db().Write(ok).ok());
  EXPECT_EQ(this->Value("counter"), "2");
  EXPECT_EQ(this->Value("log/1"), "a");

  // Stale expectation.
  WriteBatch stale;
  stale.RequireValue("counter", "1");
  stale.Put("counter", "2");
  stale.Put("log/2", "b");
  Status s = this->db().Write(stale);
  EXPECT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
  EXPECT_EQ(this->Value("counter"), "2");
  EXPECT_EQ(this->Value("log/2"), std::nullopt);

  // Expecting a value where the key is absent.
  WriteBatch absent;
  absent.RequireValue("nothing", "");
  absent.Put("nothing", "x");
  EXPECT_EQ(this->db().Write(absent).code(), StatusCode::kAborted);
  EXPECT_EQ(this->Value("nothing"), std::nullopt);

  // The comparison is on exact bytes.
  this->Put("bin", Bytes("a\0b"));
  WriteBatch prefix_only;
  prefix_only.RequireValue("bin", "a");
  prefix_only.Delete("bin");
  EXPECT_EQ(this->db().Write(prefix_only).code(), StatusCode::kAborted);
  WriteBatch exact;
  exact.RequireValue("bin", Bytes("a\0b"));
  exact.Delete("bin");
  EXPECT_TRUE(this->db().Write(exact).ok());
  EXPECT_EQ(this->Value("bin"), std::nullopt);

  // RequireValue(key, nullopt) means absent; a condition-only batch works.
  WriteBatch cond_only;
  cond_only.RequireValue("bin", std::nullopt);
  EXPECT_TRUE(this->db().Write(cond_only).ok());
  WriteBatch cond_only_fail;
  cond_only_fail.RequireAbsent("counter");
  EXPECT_EQ(this->db().Write(cond_only_fail).code(), StatusCode::kAborted);

  // The condition may guard a key the batch does not write, and a batch may
  // delete the key it guards.
  WriteBatch guard_other;
  guard_other.RequireValue("counter", "2");
  guard_other.Put("guarded", "yes");
  EXPECT_TRUE(this->db().Write(guard_other).ok());
  EXPECT_EQ(this->Value("guarded"), "yes");
}

TYPED_TEST_P(BackendConformanceTest, LargeValues) {
  std::string big(std::size_t{1} << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  }
  std::string big2 = big;
  big2.back() = static_cast<char>(big2.back() ^ 1);
  WriteBatch batch;
  batch.Put("big1", big);
  batch.Put("big2", big2);
  ASSERT_TRUE(this->db().Write(batch).ok());
  EXPECT_TRUE(this->Value("big1") == big);
  EXPECT_TRUE(this->Value("big2") == big2);
  auto many = this->db().MultiGet(std::vector<std::string>{"big2", "big1"});
  ASSERT_TRUE(many.has_value());
  ASSERT_EQ(many->size(), 2u);
  EXPECT_TRUE((*many)[0] == big2);
  EXPECT_TRUE((*many)[1] == big);
  auto scanned = this->ScanOk("big", "", 10);
  ASSERT_EQ(scanned.size(), 2u);
  EXPECT_TRUE(scanned[0].value == big);
  // Shrinking a large value.
  this->Put("big1", "small");
  EXPECT_EQ(this->Value("big1"), "small");
}

TYPED_TEST_P(BackendConformanceTest, ConcurrentCasIncrementsAreExact) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 25;
  std::atomic<int> errors{0};
  std::atomic<int> aborted{0};
  Backend& db = this->db();
  auto worker = [&] {
    for (int i = 0; i < kIncrements; ++i) {
      for (;;) {
        auto current = db.Get("counter");
        if (!current.has_value()) {
          ++errors;
          return;
        }
        const int n = current->has_value() ? std::stoi(**current) : 0;
        WriteBatch batch;
        batch.RequireValue("counter", *current);
        batch.Put("counter", std::to_string(n + 1));
        const Status s = db.Write(batch);
        if (s.ok()) break;
        if (s.code() != StatusCode::kAborted) {
          ++errors;
          return;
        }
        ++aborted;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(this->Value("counter"), std::to_string(kThreads * kIncrements));
}

TYPED_TEST_P(BackendConformanceTest, RacingCreatesHaveOneWinner) {
  constexpr int kThreads = 8;
  std::atomic<int> wins{0};
  std::atomic<int> losses{0};
  std::atomic<int> errors{0};
  Backend& db = this->db();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      WriteBatch batch;
      batch.RequireAbsent("owner");
      batch.Put("owner", std::to_string(t));
      batch.Put("by/" + std::to_string(t), "x");
      const Status s = db.Write(batch);
      if (s.ok()) {
        ++wins;
      } else if (s.code() == StatusCode::kAborted) {
        ++losses;
      } else {
        ++errors;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(losses.load(), kThreads - 1);
  EXPECT_EQ(errors.load(), 0);
  auto owner = this->Value("owner");
  ASSERT_TRUE(owner.has_value());
  // Only the winner's other op was applied.
  EXPECT_EQ(KeysOf(this->ScanOk("by/", "", 100)),
            (std::vector<std::string>{"by/" + *owner}));
}

TYPED_TEST_P(BackendConformanceTest, ReadersNeverSeeHalfABatch) {
  constexpr int kWrites = 150;
  constexpr int kReaders = 3;
  Backend& db = this->db();
  this->Put("pair/a", "0");
  this->Put("pair/b", "0");
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> errors{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      const std::vector<std::string> keys = {"pair/a", "pair/b"};
      while (!done.load()) {
        if (r % 2 == 0) {
          auto got = db.MultiGet(keys);
          if (!got.has_value() || got->size() != 2) {
            ++errors;
            return;
          }
          if ((*got)[0] != (*got)[1]) ++torn;
        } else {
          auto got = db.Scan("pair/", "", 10);
          if (!got.has_value() || got->size() != 2) {
            ++errors;
            return;
          }
          if ((*got)[0].value != (*got)[1].value) ++torn;
        }
        ++reads;
        std::this_thread::yield();  // let the writer in (2-core machines)
      }
    });
  }
  // Start writing once the readers are reading (bounded wait).
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reads.load() < kReaders &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  int write_errors = 0;
  for (int i = 1; i <= kWrites; ++i) {
    WriteBatch batch;
    batch.Put("pair/a", std::to_string(i));
    batch.Put("filler/" + std::to_string(i), std::string(100, 'f'));
    batch.Put("pair/b", std::to_string(i));
    if (!db.Write(batch).ok()) ++write_errors;
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(write_errors, 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(this->Value("pair/a"), std::to_string(kWrites));
}

TYPED_TEST_P(BackendConformanceTest, AllConditionsMustHold) {
  this->Put("a", "1");
  this->Put("b", "2");
  WriteBatch both;
  both.RequireValue("a", "1");
  both.RequireValue("b", "2");
  both.RequireAbsent("c");
  both.Put("c", "3");
  ASSERT_TRUE(this->db().Write(both).ok());
  EXPECT_EQ(this->Value("c"), "3");

  // The last of three conditions fails: nothing is applied.
  WriteBatch one_stale;
  one_stale.RequireValue("a", "1");
  one_stale.RequireAbsent("d");
  one_stale.RequireValue("b", "stale");
  one_stale.Put("a", "changed");
  one_stale.Put("d", "4");
  one_stale.Add("n", 1);
  EXPECT_EQ(this->db().Write(one_stale).code(), StatusCode::kAborted);
  EXPECT_EQ(this->Value("a"), "1");
  EXPECT_EQ(this->Value("d"), std::nullopt);
  EXPECT_EQ(this->db().SumCounters("n").value_or(-1), 0);

  // A later condition on the same key replaces the earlier one.
  WriteBatch replaced;
  replaced.RequireValue("a", "stale");
  replaced.RequireValue("a", "1");
  replaced.Put("e", "5");
  EXPECT_TRUE(this->db().Write(replaced).ok());
  EXPECT_EQ(this->Value("e"), "5");
}

TYPED_TEST_P(BackendConformanceTest, CountersAddAndSumByPrefix) {
  auto sum = [&](std::string_view prefix) {
    auto r = this->db().SumCounters(prefix);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.value_or(-999);
  };
  EXPECT_EQ(sum("cnt/"), 0);
  WriteBatch first;
  first.Add("cnt/t1/eu/0", 5);
  first.Add("cnt/t1/eu/1", 2);
  first.Add("cnt/t1/eu/0", -1);
  first.Add("cnt/t1/us/0", 7);
  first.Add("cnt/t10/eu/0", 100);
  first.Put("cnt/t1/eu/0", "a plain key of the same name");
  ASSERT_TRUE(this->db().Write(first).ok());
  EXPECT_EQ(sum("cnt/t1/eu/"), 6);
  EXPECT_EQ(sum("cnt/t1/"), 13);
  EXPECT_EQ(sum("cnt/t1"), 113);
  EXPECT_EQ(sum(""), 113);
  EXPECT_EQ(sum("cnt/t2/"), 0);
  // Counters and plain keys are separate key spaces.
  EXPECT_EQ(this->Value("cnt/t1/eu/0"), "a plain key of the same name");
  EXPECT_EQ(KeysOf(this->ScanOk("cnt/", "", 100)),
            (std::vector<std::string>{"cnt/t1/eu/0"}));
  WriteBatch del;
  del.Delete("cnt/t1/eu/0");
  ASSERT_TRUE(this->db().Write(del).ok());
  EXPECT_EQ(sum("cnt/t1/eu/"), 6);

  // Negative totals, large values and binary keys.
  WriteBatch more;
  more.Add("cnt/t1/eu/1", -10);
  more.Add(Bytes("z\xff\0"), int64_t{1} << 40);
  ASSERT_TRUE(this->db().Write(more).ok());
  EXPECT_EQ(sum("cnt/t1/eu/"), -4);
  EXPECT_EQ(sum(Bytes("z\xff")), int64_t{1} << 40);
  EXPECT_EQ(sum("\xff"), 0);
}

TYPED_TEST_P(BackendConformanceTest, ConcurrentCounterAddsAreExact) {
  constexpr int kThreads = 8;
  constexpr int kAdds = 50;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAdds; ++i) {
        WriteBatch batch;
        batch.Add("hits/" + std::to_string(i % 2), 1);
        batch.Put("row/" + std::to_string(t) + "/" + std::to_string(i), "");
        if (!this->db().Write(batch).ok()) ++errors;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(this->db().SumCounters("hits/").value_or(-1), kThreads * kAdds);
  EXPECT_EQ(this->ScanOk("row/", "", 10000).size(),
            static_cast<std::size_t>(kThreads * kAdds));
}

// Everything Dump() gives, as "r:<key>=<value>" and "c:<key>=<n>" lines.
inline Result<std::vector<std::string>> DumpLines(Backend& db) {
  std::vector<std::string> lines;
  Status s = db.Dump([&](const DumpItem& item) {
    lines.push_back(item.kind == DumpItem::Kind::kRow
                        ? "r:" + item.key + "=" + item.value
                        : "c:" + item.key + "=" + std::to_string(item.counter));
    return Status::Ok();
  });
  if (!s.ok()) return Err(s);
  return lines;
}

// A source giving `items` in order, then (if `fail`) an error.
inline DumpSource SourceOf(std::vector<DumpItem> items,
                           std::optional<Status> fail = std::nullopt) {
  auto next = std::make_shared<std::size_t>(0);
  auto all = std::make_shared<std::vector<DumpItem>>(std::move(items));
  return [next, all, fail](DumpItem& item) -> Result<bool> {
    if (*next < all->size()) {
      item = (*all)[(*next)++];
      return true;
    }
    if (fail) return Err(*fail);
    return false;
  };
}

inline DumpItem Row(std::string key, std::string value) {
  return {DumpItem::Kind::kRow, std::move(key), std::move(value), 0};
}
inline DumpItem Counter(std::string key, int64_t n) {
  return {DumpItem::Kind::kCounter, std::move(key), {}, n};
}

TYPED_TEST_P(BackendConformanceTest, DumpGivesRowsThenCountersInKeyOrder) {
  auto empty = DumpLines(this->db());
  ASSERT_TRUE(empty.has_value()) << empty.error().ToString();
  EXPECT_TRUE(empty->empty());
  WriteBatch batch;
  batch.Put("b", "2");
  batch.Put(Bytes("a\xff"), "");
  batch.Put("a", Bytes("1\0x"));
  batch.Add("n/1", 3);
  batch.Add("m", -4);
  ASSERT_TRUE(this->db().Write(batch).ok());
  auto lines = DumpLines(this->db());
  ASSERT_TRUE(lines.has_value()) << lines.error().ToString();
  EXPECT_EQ(*lines,
            (std::vector<std::string>{"r:a=" + Bytes("1\0x"), Bytes("r:a\xff="),
                                      "r:b=2", "c:m=-4", "c:n/1=3"}));
}

// More rows than a page of a networked backend's dump: every one comes,
// once, in order.
TYPED_TEST_P(BackendConformanceTest, DumpPagesThroughLargeStores) {
  constexpr int kRows = 2500;
  WriteBatch batch;
  for (int i = 0; i < kRows; ++i) {
    batch.Put("k/" + std::to_string(100000 + i), std::to_string(i));
  }
  // (A counter never written is 0: a zero add may store nothing.)
  for (int i = 0; i < 1200; ++i) {
    batch.Add("c/" + std::to_string(1000 + i), i + 1);
  }
  ASSERT_TRUE(this->db().Write(batch).ok());
  int rows = 0, counters = 0;
  std::string last;
  Status s = this->db().Dump([&](const DumpItem& item) {
    if (item.kind == DumpItem::Kind::kRow) {
      EXPECT_EQ(item.key, "k/" + std::to_string(100000 + rows));
      EXPECT_EQ(item.value, std::to_string(rows));
      ++rows;
    } else {
      EXPECT_EQ(item.key, "c/" + std::to_string(1000 + counters));
      EXPECT_EQ(item.counter, counters + 1);
      ++counters;
    }
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(rows, kRows);
  EXPECT_EQ(counters, 1200);
}

TYPED_TEST_P(BackendConformanceTest, DumpStopsAtTheSinksError) {
  this->Put("a", "1");
  this->Put("b", "2");
  int seen = 0;
  Status s = this->db().Dump([&](const DumpItem&) {
    ++seen;
    return Unavailable("sink full");
  });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(seen, 1);
  // The backend is still usable (its snapshot was released).
  this->Put("c", "3");
  EXPECT_EQ(this->Value("c"), "3");
}

// A batch committed while a dump runs is in it wholly or not at all.
TYPED_TEST_P(BackendConformanceTest, DumpIsOneSnapshot) {
  WriteBatch setup;
  for (int i = 0; i < 1500; ++i)
    setup.Put("k/" + std::to_string(1000 + i), "old");
  setup.Add("n", 1);
  ASSERT_TRUE(this->db().Write(setup).ok());
  const std::vector<std::string> before = *DumpLines(this->db());

  std::future<Status> writer;
  std::vector<std::string> lines;
  Status s = this->db().Dump([&](const DumpItem& item) {
    if (!writer.valid()) {
      // Changes a row not yet dumped and one dumped already, and a counter.
      writer = std::async(std::launch::async, [&] {
        WriteBatch change;
        change.Put("k/1000", "new");
        change.Put("k/2499", "new");
        change.Put("k/9999", "new");
        change.Add("n", 1);
        return this->db().Write(change);
      });
      // A backend that holds writers off during a dump (memory) never
      // finishes the write here; the others commit it now, mid-dump.
      (void)writer.wait_for(std::chrono::seconds(2));
    }
    lines.push_back(item.kind == DumpItem::Kind::kRow
                        ? "r:" + item.key + "=" + item.value
                        : "c:" + item.key + "=" + std::to_string(item.counter));
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(writer.get().ok());
  const std::vector<std::string> after = *DumpLines(this->db());
  ASSERT_NE(before, after);
  EXPECT_TRUE(lines == before || lines == after);
}

TYPED_TEST_P(BackendConformanceTest, ReplaceAllReplacesEveryRowAndCounter) {
  WriteBatch batch;
  batch.Put("old", "x");
  batch.Put("kept", "old value");
  batch.Add("n/old", 5);
  batch.Add("n/kept", 7);
  ASSERT_TRUE(this->db().Write(batch).ok());
  Status s = this->db().ReplaceAll(
      SourceOf({Row("kept", "new value"), Row(Bytes("z\0\xff"), ""),
                Row("dup", "first"), Row("dup", "second"), Counter("n/kept", 2),
                Counter("n/new", 3), Counter("n/new", 4)}));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*DumpLines(this->db()),
            (std::vector<std::string>{"r:dup=second", "r:kept=new value",
                                      Bytes("r:z\0\xff="), "c:n/kept=2",
                                      "c:n/new=7"}));
  EXPECT_EQ(this->db().SumCounters("n/").value_or(-1), 9);
  EXPECT_EQ(this->Value("old"), std::nullopt);
  // Writes carry on as before.
  this->Put("after", "1");
  EXPECT_EQ(this->Value("after"), "1");
}

TYPED_TEST_P(BackendConformanceTest, ReplaceAllFailingChangesNothing) {
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Add("n", 5);
  ASSERT_TRUE(this->db().Write(batch).ok());
  const std::vector<std::string> before = *DumpLines(this->db());
  std::vector<DumpItem> many;
  for (int i = 0; i < 2500; ++i)
    many.push_back(Row("r/" + std::to_string(i), "v"));
  many.push_back(Counter("n", 100));
  Status s = this->db().ReplaceAll(
      SourceOf(std::move(many), DataLoss("chunk 7 failed to authenticate")));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(*DumpLines(this->db()), before);
  EXPECT_EQ(this->db().SumCounters("n").value_or(-1), 5);
}

TYPED_TEST_P(BackendConformanceTest, DumpThenReplaceAllRoundTrips) {
  WriteBatch batch;
  for (int i = 0; i < 1100; ++i) {
    batch.Put("k/" + std::to_string(i), Bytes("v\0") + std::to_string(i));
  }
  batch.Add("count/t/records/0", 1100);
  batch.Add("count/t/records/1", -2);
  ASSERT_TRUE(this->db().Write(batch).ok());
  std::vector<DumpItem> items;
  ASSERT_TRUE(this->db()
                  .Dump([&](const DumpItem& item) {
                    items.push_back(item);
                    return Status::Ok();
                  })
                  .ok());
  const std::vector<std::string> before = *DumpLines(this->db());
  WriteBatch later;
  later.Put("k/later", "x");
  later.Delete("k/7");
  later.Add("count/t/records/0", 1);
  ASSERT_TRUE(this->db().Write(later).ok());
  ASSERT_TRUE(this->db().ReplaceAll(SourceOf(std::move(items))).ok());
  EXPECT_EQ(*DumpLines(this->db()), before);
}

TYPED_TEST_P(BackendConformanceTest, DeleteCountersRemovesOnlyThePrefix) {
  WriteBatch adds;
  adds.Add("count/t1/records/0", 5);
  adds.Add("count/t1/records/1", 2);
  adds.Add("count/t10/records/0", 7);  // shares "count/t1" but not "count/t1/"
  adds.Add("count/t2/records/0", 3);
  adds.Put("count/t1/records/x", "a row, not a counter");
  ASSERT_TRUE(this->db().Write(adds).ok());

  ASSERT_TRUE(this->db().DeleteCounters("count/t1/").ok());
  EXPECT_EQ(this->db().SumCounters("count/t1/").value_or(-1), 0);
  EXPECT_EQ(this->db().SumCounters("count/t10/").value_or(-1), 7);
  EXPECT_EQ(this->db().SumCounters("count/t2/").value_or(-1), 3);
  EXPECT_EQ(this->Value("count/t1/records/x"), "a row, not a counter");
  // Idempotent, and a counter deleted counts from zero again.
  ASSERT_TRUE(this->db().DeleteCounters("count/t1/").ok());
  WriteBatch again;
  again.Add("count/t1/records/0", 1);
  ASSERT_TRUE(this->db().Write(again).ok());
  EXPECT_EQ(this->db().SumCounters("count/t1/").value_or(-1), 1);
}

TYPED_TEST_P(BackendConformanceTest, CompactKeepsEveryLiveRow) {
  WriteBatch batch;
  for (int i = 0; i < 50; ++i) batch.Put("k" + std::to_string(i), "v");
  batch.Add("n", 3);
  ASSERT_TRUE(this->db().Write(batch).ok());
  WriteBatch deletes;
  for (int i = 0; i < 25; ++i) deletes.Delete("k" + std::to_string(i));
  ASSERT_TRUE(this->db().Write(deletes).ok());

  Status compacted = this->db().Compact();
  ASSERT_TRUE(compacted.ok()) << compacted.ToString();
  auto rows = this->db().Scan("k", "", 100);
  ASSERT_TRUE(rows.has_value());
  EXPECT_EQ(rows->size(), 25u);
  EXPECT_EQ(this->db().SumCounters("n").value_or(-1), 3);
}

REGISTER_TYPED_TEST_SUITE_P(
    BackendConformanceTest, GetMissingAndPresent, PutOverwrites, DeleteRemoves,
    BinaryKeysAndValues, EmptyValueIsNotAbsent,
    MultiGetOrderDuplicatesAndMissing, ScanPrefixBoundaries,
    ScanPrefixesEndingInFF, EmptyPrefixScansEverything, ScanUnsignedByteOrder,
    ScanStartInclusiveAndLimit, BatchAppliesOpsInOrder, EmptyBatchIsOk,
    RequireAbsent, RequireValue, LargeValues, ConcurrentCasIncrementsAreExact,
    RacingCreatesHaveOneWinner, ReadersNeverSeeHalfABatch,
    AllConditionsMustHold, CountersAddAndSumByPrefix,
    ConcurrentCounterAddsAreExact, DumpGivesRowsThenCountersInKeyOrder,
    DumpPagesThroughLargeStores, DumpStopsAtTheSinksError, DumpIsOneSnapshot,
    ReplaceAllReplacesEveryRowAndCounter, ReplaceAllFailingChangesNothing,
    DumpThenReplaceAllRoundTrips, DeleteCountersRemovesOnlyThePrefix,
    CompactKeepsEveryLiveRow);

}  // namespace piivault::storage::testing
