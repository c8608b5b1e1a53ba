// GET /v1/jobs: the scheduler's jobs with state and progress, a page at a
// time, for operator-admins.
#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using lifecycle::JobKind;

class AppJobsTest : public testing::AppTest {
 protected:
  void Schedule(const std::string& id, TimePoint due) {
    auto job = h.vault->scheduler.Schedule(
        vault::RequestContext(),
        {.kind = JobKind::kNoop, .due_at = due, .params = {}, .id = id});
    ASSERT_TRUE(job.has_value()) << job.error().ToString();
  }

  json::object List(const std::string& query) {
    auto r = Call("GET", "/v1/jobs" + query, operator_key);
    EXPECT_EQ(r.status, 200) << r.body;
    auto v = json::parse(r.body);
    return v.is_object() ? v.as_object() : json::object();
  }
};

TEST_F(AppJobsTest, ListsJobsWithStateAndProgress) {
  const TimePoint due = h.clock.now;
  Schedule("job-a", due);
  Schedule("job-b", due + std::chrono::hours(1));
  auto ran = h.vault->scheduler.RunDue(h.clock.now);  // runs job-a
  ASSERT_TRUE(ran.has_value()) << ran.error().ToString();
  ASSERT_EQ(ran->completed, 1);

  json::object page = List("");
  const json::array& jobs = page.at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 2u);
  const json::object& a = jobs[0].as_object();
  EXPECT_EQ(a.at("id"), "job-a");
  EXPECT_EQ(a.at("kind"), "noop");
  EXPECT_EQ(a.at("state"), "completed");
  EXPECT_EQ(a.at("due_at").as_string(), FormatRfc3339(due));
  EXPECT_EQ(a.at("progress"), (json::object{{"done", 0}, {"total", 0}}));
  EXPECT_EQ(a.at("attempts"), 1);
  EXPECT_FALSE(a.contains("error"));
  const json::object& b = jobs[1].as_object();
  EXPECT_EQ(b.at("id"), "job-b");
  EXPECT_EQ(b.at("state"), "scheduled");
  EXPECT_EQ(b.at("due_at").as_string(),
            FormatRfc3339(due + std::chrono::hours(1)));
  EXPECT_EQ(b.at("attempts"), 0);
  EXPECT_TRUE(page.at("next").is_null());
}

TEST_F(AppJobsTest, PagesWithLimitAndNext) {
  for (const char* id : {"j-1", "j-2", "j-3"}) Schedule(id, h.clock.now);
  json::object first = List("?limit=2");
  ASSERT_EQ(first.at("jobs").as_array().size(), 2u);
  ASSERT_EQ(first.at("next"), "j-2");
  json::object second = List("?limit=2&after=j-2");
  ASSERT_EQ(second.at("jobs").as_array().size(), 1u);
  EXPECT_EQ(second.at("jobs").as_array()[0].at("id"), "j-3");
  EXPECT_TRUE(second.at("next").is_null());
}

TEST_F(AppJobsTest, RefusesABadPage) {
  for (const char* query : {"?limit=0", "?limit=1001", "?limit=x",
                            "?after=a%2Fb", "?after=job%00"}) {
    auto r = Call("GET", std::string("/v1/jobs") + query, operator_key);
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
    EXPECT_EQ(Error(r).first, "invalid_argument") << query;
  }
}

}  // namespace
}  // namespace piivault::api
