#include "audit/event.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace piivault::audit {
namespace {

Event Sample() {
  Event e;
  e.seq = 42;
  e.at = FromUnixMicros(1'800'000'000'123'456);
  e.actor = "id_actor";
  e.action = "records.get";
  e.purpose = "service_delivery";
  e.collection = "people";
  e.record = "rec_1";
  e.principal_pseudonym = "ab12";
  e.fields = {"email", "name"};
  e.region = "eu";
  e.outcome = Outcome::kOk;
  e.request_id = "req-1";
  return e;
}

// The entry is the format the trees hash: the direct encoder must write
// exactly what boost::json writes for EntryObject(), for every character.
TEST(EventEncodingTest, EntryBytesAreThoseOfTheJsonObject) {
  Event e = Sample();
  EXPECT_EQ(EncodeEntry(e), boost::json::serialize(EntryObject(e)));
  std::string every;
  for (int c = 1; c < 128; ++c) every.push_back(static_cast<char>(c));
  every += "\xc3\xa9\xe2\x82\xac";  // é €
  e.request_id = every;
  e.actor = "";
  e.fields = {every, "", "\"quoted\""};
  e.seq = UINT64_MAX;
  e.at = FromUnixMicros(-5);
  EXPECT_EQ(EncodeEntry(e), boost::json::serialize(EntryObject(e)));
  e.fields.clear();
  EXPECT_EQ(EncodeEntry(e), boost::json::serialize(EntryObject(e)));
}

TEST(EventEncodingTest, EntriesRoundTripAndOnlyCanonicalBytesDecode) {
  Event e = Sample();
  std::string entry = EncodeEntry(e);
  auto decoded = DecodeEntry(entry);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, e);
  // Same JSON value, other bytes: not an entry.
  std::string spaced = entry;
  spaced.insert(1, " ");
  EXPECT_EQ(DecodeEntry(spaced).error().code(), StatusCode::kDataLoss);
  EXPECT_FALSE(DecodeEntry("{}").has_value());
  EXPECT_FALSE(DecodeEntry("not json").has_value());
}

// An operator's reason and the backup a restore used are members written
// only when set, so entries without them keep their bytes.
TEST(EventEncodingTest, ReasonAndBackupAreWrittenOnlyWhenSet) {
  Event e = Sample();
  const std::string without = EncodeEntry(e);
  EXPECT_EQ(without.find("reason"), std::string::npos);
  e.reason = "restore after a disk failure \"x\"";
  e.backup = "bk_1";
  const std::string with = EncodeEntry(e);
  EXPECT_EQ(with, boost::json::serialize(EntryObject(e)));
  auto decoded = DecodeEntry(with);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, e);
  EXPECT_EQ(decoded->reason, e.reason);
  EXPECT_EQ(decoded->backup, "bk_1");
}

// The outcome is written by name, and only the three names decode.
TEST(EventEncodingTest, OutcomesAreWrittenByName) {
  Event e = Sample();
  for (auto [outcome, name] :
       {std::pair{Outcome::kOk, "ok"}, std::pair{Outcome::kDenied, "denied"},
        std::pair{Outcome::kError, "error"}}) {
    e.outcome = outcome;
    std::string entry = EncodeEntry(e);
    EXPECT_NE(entry.find(std::string("\"outcome\":\"") + name + "\""),
              std::string::npos)
        << entry;
    auto decoded = DecodeEntry(entry);
    ASSERT_TRUE(decoded.has_value()) << entry;
    EXPECT_EQ(decoded->outcome, outcome);
  }
  e.outcome = Outcome::kOk;
  std::string entry = EncodeEntry(e);
  for (const char* other : {"", "no", "OK", "denied "}) {
    std::string edited = entry;
    edited.replace(edited.find("\"outcome\":\"ok\""), 14,
                   std::string("\"outcome\":\"") + other + "\"");
    EXPECT_FALSE(DecodeEntry(edited).has_value()) << edited;
  }
}

TEST(EventSubjectsTest, EachSubjectOnceAndTheSingularOnlyForOne) {
  Event e;
  for (const char* id : {"rec_b", "rec_a", "rec_b", "", "rec_b", "rec_a"})
    e.NoteRecord(id);
  e.NotePrincipal("p1");
  e.NotePrincipal("p1");
  e.NotePrincipal("");
  e.SettleSubjects();
  EXPECT_EQ(e.records, (std::vector<std::string>{"rec_a", "rec_b"}));
  EXPECT_EQ(e.record, "") << "two records: no singular member";
  EXPECT_EQ(e.principal_pseudonyms, (std::vector<std::string>{"p1"}));
  EXPECT_EQ(e.principal_pseudonym, "p1");
  // Settling again changes nothing; more subjects clear the singular.
  e.NotePrincipal("p0");
  e.SettleSubjects();
  EXPECT_EQ(e.principal_pseudonyms, (std::vector<std::string>{"p0", "p1"}));
  EXPECT_EQ(e.principal_pseudonym, "");
}

}  // namespace
}  // namespace piivault::audit
