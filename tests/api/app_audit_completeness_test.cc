// Issue 11's audit completeness acceptance test. Every route whose
// operation touches personal data (policy::OperationSpec::personal_data)
// has cases here, with several data subjects wherever the route allows
// them, and its event must name exactly the records and principals the
// response or the change involved: no fewer (a disclosure nobody can find
// by `audit/events?principal=`) and no more (a subject the request never
// read). Every such route that writes must leave its final outcome on
// record when a store write fails after its event was written ahead.
//
// What "involved" means here:
// - reads and changes of records: each record read, returned or changed,
//   and the principals they belong to;
// - a principal-wide request (view, export, consents, relocation,
//   erasure): the principal it names, whether or not it exists (an attempt
//   is on record), and the records it returned; relocation and erasure
//   move or destroy all of the principal's rows, which the principal names
//   (the certificate counts the records);
// - a tenant export (create, download): the tenant as a whole, whose log
//   holds the event; no single record or principal is named (an export
//   holds every one of them, and its signed manifest counts them);
// - a refusal: at most the subject the request named (so that an attempt
//   is on record) and what it read before it was refused, never more.
#include <functional>
#include <map>
#include <set>

#include "app_fixture.h"

namespace piivault::api {
namespace {

namespace json = boost::json;
using Subjects = std::set<std::string>;

// What one request must answer and its event name.
struct Expected {
  int status = 200;
  Subjects records;
  Subjects principals;  // principal ids; the test pseudonymizes them
  std::string outcome = "ok";
  // A create: the event names the new record too (the response's id, or on
  // failure the one id its intent named).
  bool new_record = false;
};

// One request, ready to run, and what it must log.
struct Case {
  std::string what;
  std::function<HttpResponse()> call;
  Expected want;
};

class AuditCompletenessTest : public testing::AppTest {
 protected:
  using Factory = std::function<Case()>;

  void SetUp() override {
    AppTest::SetUp();
    // A second collection, so that a principal's records span two.
    ASSERT_NO_FATAL_FAILURE(PutOrders());
  }

  // A principal id no other case uses.
  std::string Fresh(const std::string& stem) {
    return stem + "-" + std::to_string(++serial_);
  }
  // A record in "people" of `principal`.
  std::string Person(const std::string& principal, const std::string& email) {
    return CreatePerson(principal,
                        R"({"email":")" + email + R"(","ssn":"123-45-6789"})");
  }
  // A record in "orders" of `principal`.
  std::string Order(const std::string& principal) {
    auto r = Data(
        "POST", "/v1/tenants/acme/collections/orders/records", admin_key,
        R"({"principal":")" + principal + R"(","fields":{"item":"book"}})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Member(r, "id");
  }
  // The token of `record`'s `field` in "people".
  std::string Token(const std::string& record, const std::string& field) {
    auto r = Data("POST", "/v1/tenants/acme/tokenize", admin_key,
                  R"({"collection":"people","record":")" + record +
                      R"(","fields":[")" + field + R"("]})");
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(json::parse(r.body).at("tokens").at(field).as_string());
  }
  void Consent(const std::string& principal, const std::string& purpose) {
    auto r =
        Call("POST", "/v1/tenants/acme/principals/" + principal + "/consents",
             admin_key, R"({"purpose":")" + purpose + R"(","granted":true})");
    EXPECT_EQ(r.status, 201) << r.body;
  }
  // An approved lockbox request of the operator for `scope` (JSON).
  std::string Lockbox(const std::string& scope) {
    const std::string base = "/v1/tenants/acme/lockbox-requests";
    auto r = Call("POST", base, operator_key,
                  R"({"reason":"ticket 4711","scope":)" + scope +
                      R"(,"duration":"PT2H"})");
    EXPECT_EQ(r.status, 201) << r.body;
    std::string id = Member(r, "id");
    EXPECT_EQ(Call("POST", base + "/" + id + "/approve", admin_key).status,
              200);
    return id;
  }
  // A data-plane request of the operator under lockbox request `id`.
  HttpResponse AsOperator(const std::string& method, const std::string& path,
                          const std::string& id, std::string body = "") {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.headers.emplace_back("authorization", "Bearer " + operator_key);
    req.headers.emplace_back("x-purpose", "service_delivery");
    req.headers.emplace_back("x-lockbox-request", id);
    req.body = std::move(body);
    req.remote_address = source;
    return app.Handle(req);
  }
  // A tenant-app whose policy allows `actions` on `collections` (JSON
  // arrays) under service_delivery, in plain; `fields` (JSON array) limits
  // the fields when not empty.
  std::string App(const std::string& actions, const std::string& collections,
                  const std::string& fields = "") {
    std::string rule = R"({"purposes":["service_delivery"],"collections":)" +
                       collections + R"(,"actions":)" + actions +
                       R"(,"transform":"plain")";
    if (!fields.empty()) rule += R"(,"fields":)" + fields;
    return CreateApp(Fresh("app"), "[" + rule + "}]");
  }

  std::string Pseudonym(const std::string& principal) {
    auto tenant = h.vault->tenants.Get(vault::RequestContext(), "acme");
    EXPECT_TRUE(tenant.has_value());
    // The same keyed HMAC the server names principals by.
    return h.vault->records.Pseudonym(*tenant, principal).value_or("");
  }
  Subjects Pseudonyms(const Subjects& principals) {
    Subjects out;
    for (auto& p : principals) out.insert(Pseudonym(p));
    return out;
  }

  // The entries the request since `before` wrote: the event, or the event
  // written ahead and the outcome entry linked to it. Returns the final word.
  audit::Event FinalEntry(uint64_t before, const audit::Event** intent) {
    auto events = audit.Read("t/acme", before, Events() - before);
    EXPECT_TRUE(events.has_value());
    if (!events || events->empty() || events->size() > 2) {
      ADD_FAILURE() << "a request writes one event, or an intent and its "
                       "outcome; got "
                    << (events ? events->size() : 0);
      return {};
    }
    intent_ = events->front();
    *intent = events->size() == 2 ? &intent_ : nullptr;
    if (events->size() == 2) {
      const audit::Event& outcome = events->back();
      EXPECT_EQ(intent_.intent, std::nullopt);
      EXPECT_EQ(outcome.intent, intent_.seq);
      EXPECT_EQ(outcome.request_id, intent_.request_id);
      EXPECT_EQ(outcome.action, intent_.action);
    }
    return events->back();
  }

  // Runs `c` and checks its answer and event against c.want.
  void Check(const std::string& action, const Case& c) {
    SCOPED_TRACE(action + ": " + c.what);
    const uint64_t before = Events();
    HttpResponse r = c.call();
    ASSERT_EQ(r.status, c.want.status) << r.body;
    const audit::Event* intent = nullptr;
    audit::Event e = FinalEntry(before, &intent);
    EXPECT_EQ(e.action, action);
    EXPECT_EQ(audit::OutcomeName(e.outcome), c.want.outcome);
    Subjects records = c.want.records;
    if (c.want.new_record) records.insert(Member(r, "id"));
    ExpectSubjects(e, records, Pseudonyms(c.want.principals));
    // What the intent named, the final word names too.
    if (intent) ExpectNamedIn(*intent, e);
  }

  static void ExpectSubjects(const audit::Event& e, const Subjects& records,
                             const Subjects& pseudonyms) {
    EXPECT_EQ(Subjects(e.records.begin(), e.records.end()), records);
    EXPECT_EQ(e.records.size(), records.size()) << "each record once";
    EXPECT_EQ(
        Subjects(e.principal_pseudonyms.begin(), e.principal_pseudonyms.end()),
        pseudonyms);
    EXPECT_EQ(e.principal_pseudonyms.size(), pseudonyms.size());
    // The singular members name the subject while there is one.
    EXPECT_EQ(e.record, records.size() == 1 ? *records.begin() : "");
    EXPECT_EQ(e.principal_pseudonym,
              pseudonyms.size() == 1 ? *pseudonyms.begin() : "");
  }
  static void ExpectNamedIn(const audit::Event& intent,
                            const audit::Event& final_word) {
    for (auto& r : intent.records)
      EXPECT_NE(
          std::find(final_word.records.begin(), final_word.records.end(), r),
          final_word.records.end());
    for (auto& p : intent.principal_pseudonyms)
      EXPECT_NE(std::find(final_word.principal_pseudonyms.begin(),
                          final_word.principal_pseudonyms.end(), p),
                final_word.principal_pseudonyms.end());
  }

  // The ids of the records a search answered with.
  static Subjects Returned(const HttpResponse& r) {
    Subjects out;
    auto doc = json::parse(r.body);
    for (auto& rec : doc.at("records").as_array())
      out.emplace(rec.at("id").as_string());
    return out;
  }

  // The cases of every route that touches personal data, by route name.
  std::map<std::string, std::vector<Factory>> Cases();

  int serial_ = 0;
  audit::Event intent_;
};

const std::string kRecords = "/v1/tenants/acme/collections/people/records/";
const std::string kPrincipals = "/v1/tenants/acme/principals/";

std::map<std::string, std::vector<AuditCompletenessTest::Factory>>
AuditCompletenessTest::Cases() {
  using Request = std::function<HttpResponse()>;
  auto data = [this](std::string method, std::string path, std::string key,
                     std::string body = "") -> Request {
    return [this, method, path, key, body] {
      return Data(method, path, key, body);
    };
  };
  auto control = [this](std::string method, std::string path,
                        std::string body = "") -> Request {
    return [this, method, path, body] {
      return Call(method, path, admin_key, body);
    };
  };
  std::map<std::string, std::vector<Factory>> cases;

  // A create of a record of `principal` in "people" by `key`.
  auto create = [=, this](const std::string& key,
                          const std::string& principal) {
    return data("POST", "/v1/tenants/acme/collections/people/records", key,
                R"({"principal":")" + principal +
                    R"(","fields":{"email":"n@example.org"}})");
  };
  cases["records.create"] = {
      [=, this] {
        std::string p = Fresh("new");
        return Case{"a new principal",
                    create(admin_key, p),
                    {201, {}, {p}, "ok", true}};
      },
      [=, this] {
        std::string p = Fresh("known");
        Person(p, "k@example.org");  // not involved in the next create
        Order(p);
        return Case{"a principal with records",
                    create(admin_key, p),
                    {201, {}, {p}, "ok", true}};
      },
      [=, this] {
        return Case{"a tenant-app without policy",
                    create(app_key, Fresh("nopolicy")),
                    {403, {}, {}, "denied"}};
      },
  };

  // A request on one record of a principal that has another, in another
  // collection: it names that record and its principal, or, when refused
  // before reading, the record asked for alone.
  auto one_record = [=, this](std::string what,
                              std::function<Request(const std::string&)> call,
                              int status = 200,
                              std::string outcome = "ok") -> Factory {
    return [=, this] {
      std::string p = Fresh("one");
      std::string id = Person(p, "one@example.org");
      Order(p);
      Subjects principals;
      if (outcome == "ok") principals.insert(p);
      return Case{what, call(id), {status, {id}, principals, outcome}};
    };
  };
  cases["records.get"] = {
      one_record("one record",
                 [=, this](const std::string& id) {
                   return data("GET", kRecords + id, admin_key);
                 }),
      one_record(
          "refused by the app's policy before reading",
          [=, this](const std::string& id) {
            return data("GET", kRecords + id,
                        App(R"(["read"])", R"(["orders"])"));
          },
          403, "denied"),
      one_record(
          "no consent under marketing",
          [=, this](const std::string& id) -> Request {
            return [=, this] {
              return Call("GET", kRecords + id, admin_key, "", "marketing");
            };
          },
          403, "denied"),
  };
  const std::string patch = R"({"fields":{"email":"new@example.org"}})";
  cases["records.update"] = {
      one_record("one record",
                 [=, this](const std::string& id) {
                   return data("PATCH", kRecords + id, admin_key, patch);
                 }),
      one_record("by a write-only app (the reply shows nothing)",
                 [=, this](const std::string& id) {
                   return data("PATCH", kRecords + id,
                               App(R"(["write"])", R"(["people"])"), patch);
                 }),
  };
  cases["records.delete"] = {
      one_record(
          "one record",
          [=, this](const std::string& id) {
            return data("DELETE", kRecords + id, admin_key);
          },
          204),
  };

  cases["records.search"] = {
      [=, this] {
        std::string a = Fresh("ann"), b = Fresh("bob"), c = Fresh("cy");
        std::string email = Fresh("shared") + "@example.org";
        std::string a1 = Person(a, email), a2 = Person(a, email),
                    b1 = Person(b, email);
        Person(c, Fresh("other") + "@example.org");  // not a match
        Order(a);
        return Case{
            "three records of two principals",
            data("POST", "/v1/tenants/acme/collections/people/search",
                 admin_key, R"({"match":{"email":")" + email + R"("}})"),
            {200, {a1, a2, b1}, {a, b}}};
      },
      [=, this] {
        // Two principals match, one has consented to marketing: only its
        // records are read.
        std::string a = Fresh("ann"), b = Fresh("bob");
        std::string email = Fresh("shared") + "@example.org";
        std::string a1 = Person(a, email), a2 = Person(a, email);
        Person(b, email);
        Consent(a, "marketing");
        return Case{"under marketing, the consenting principal only",
                    [=, this] {
                      return Call("POST",
                                  "/v1/tenants/acme/collections/people/search",
                                  admin_key,
                                  R"({"match":{"email":")" + email + R"("}})",
                                  "marketing");
                    },
                    {200, {a1, a2}, {a}}};
      },
      [=, this] {
        // A lockbox naming one principal: the other's match is neither
        // returned nor on record.
        std::string a = Fresh("ann"), b = Fresh("bob");
        std::string email = Fresh("shared") + "@example.org";
        std::string a1 = Person(a, email);
        Person(b, email);
        std::string lockbox = Lockbox(R"({"collections":["people"],)"
                                      R"("principals":[")" +
                                      a + R"("]})");
        return Case{"under a lockbox for one principal",
                    [=, this] {
                      return AsOperator(
                          "POST", "/v1/tenants/acme/collections/people/search",
                          lockbox, R"({"match":{"email":")" + email + R"("}})");
                    },
                    {200, {a1}, {a}}};
      },
  };

  cases["tokens.tokenize"] = {
      one_record("two fields of one record",
                 [=, this](const std::string& id) {
                   return data("POST", "/v1/tenants/acme/tokenize", admin_key,
                               R"({"collection":"people","record":")" + id +
                                   R"(","fields":["ssn","email"]})");
                 }),
  };

  cases["tokens.detokenize"] = {
      [=, this] {
        std::string a = Fresh("ann"), b = Fresh("bob"), c = Fresh("cy");
        std::string a1 = Person(a, "a1@example.org"),
                    a2 = Person(a, "a2@example.org"),
                    b1 = Person(b, "b1@example.org");
        Person(c, "c1@example.org");  // not asked for
        std::string tokens = "[\"" + Token(a1, "ssn") + "\",\"" +
                             Token(a1, "email") + "\",\"" + Token(a2, "ssn") +
                             "\",\"" + Token(b1, "ssn") + "\",\"" +
                             Token(b1, "ssn") + "\"]";
        return Case{"five tokens of three records of two principals",
                    data("POST", "/v1/tenants/acme/detokenize", admin_key,
                         R"({"tokens":)" + tokens + "}"),
                    {200, {a1, a2, b1}, {a, b}}};
      },
      [=, this] {
        // The app may detokenize SSNs only: the second token is refused
        // after the first was read.
        std::string a = Fresh("ann"), b = Fresh("bob");
        std::string a1 = Person(a, "a1@example.org"),
                    b1 = Person(b, "b1@example.org");
        std::string tokens =
            "[\"" + Token(a1, "ssn") + "\",\"" + Token(b1, "email") + "\"]";
        return Case{
            "refused at the second token",
            data("POST", "/v1/tenants/acme/detokenize",
                 App(R"(["detokenize"])", R"(["people"])", R"(["ssn"])"),
                 R"({"tokens":)" + tokens + "}"),
            {403, {a1}, {a}, "denied"}};
      },
  };

  // A principal with two records in "people" and one in "orders".
  struct Spread {
    std::string principal, p1, p2, o1;
  };
  auto spread = [this] {
    Spread s{Fresh("pv"), "", "", ""};
    s.p1 = Person(s.principal, "p1@example.org");
    s.p2 = Person(s.principal, "p2@example.org");
    s.o1 = Order(s.principal);
    Person(Fresh("other"), "o@example.org");  // another principal
    return s;
  };
  for (std::string suffix : {"", "/export"}) {
    const std::string action = suffix.empty() ? "read" : "export";
    cases[suffix.empty() ? "principals.get" : "principals.export"] = {
        [=, this] {
          Spread s = spread();
          return Case{
              "every record in two collections",
              data("GET", kPrincipals + s.principal + suffix, admin_key),
              {200, {s.p1, s.p2, s.o1}, {s.principal}}};
        },
        [=, this] {
          Spread s = spread();
          return Case{"an app granted one collection sees its records only",
                      data("GET", kPrincipals + s.principal + suffix,
                           App("[\"" + action + "\"]", R"(["people"])")),
                      {200, {s.p1, s.p2}, {s.principal}}};
        },
        [=, this] {
          std::string p = Fresh("nobody");
          return Case{"no such principal: the attempt is on record",
                      data("GET", kPrincipals + p + suffix, admin_key),
                      {404, {}, {p}, "error"}};
        },
    };
  }
  // The operator reads the view (never the export) under a lockbox for one
  // collection.
  cases["principals.get"].push_back([=, this] {
    Spread s = spread();
    std::string lockbox = Lockbox(R"({"collections":["people"]})");
    return Case{"under a lockbox for one collection",
                [=, this] {
                  return AsOperator("GET", kPrincipals + s.principal, lockbox);
                },
                {200, {s.p1, s.p2}, {s.principal}}};
  });

  // A request on a principal as a whole (records in two collections, a
  // consent): it names the principal; its records go with it.
  auto whole = [=, this](std::string method, std::string suffix,
                         std::string body, int status,
                         bool purpose) -> Factory {
    return [=, this] {
      Spread s = spread();
      Consent(s.principal, "advertising");
      std::string path = kPrincipals + s.principal + suffix;
      return Case{"a principal with records and a consent",
                  purpose ? data(method, path, admin_key, body)
                          : control(method, path, body),
                  {status, {}, {s.principal}}};
    };
  };
  cases["principals.erase"] = {whole("DELETE", "", "", 200, true)};
  cases["principals.relocate"] = {
      whole("POST", "/relocate", R"({"region":"us"})", 200, false)};
  cases["principals.consents.record"] = {
      whole("POST", "/consents", R"({"purpose":"marketing","granted":true})",
            201, false)};
  cases["principals.consents.list"] = {
      whole("GET", "/consents", "", 200, false)};

  cases["exports.create"] = {[=, this] {
    spread();
    return Case{"the tenant as a whole",
                data("POST", "/v1/tenants/acme/exports", admin_key),
                {202, {}, {}}};
  }};
  cases["exports.download"] = {[=, this] {
    spread();
    std::string id =
        Member(Data("POST", "/v1/tenants/acme/exports", admin_key), "id");
    EXPECT_TRUE(h.vault->scheduler.RunDue(h.clock.Now()).has_value());
    return Case{
        "the tenant as a whole",
        data("GET", "/v1/tenants/acme/exports/" + id + "/download", admin_key),
        {200, {}, {}}};
  }};
  // A legal disclosure: each principal's access is its own event in the
  // tenant's log (one principal here, so one event; several in
  // AppDisclosureTest), naming the records disclosed.
  cases["disclosure.fulfil"] = {[=, this] {
    Spread s = spread();
    auto legal = [&](const char* name) {
      auto made = h.vault->identities.Create(vault::RequestContext(), name,
                                             vault::Role::kOperatorLegal, "");
      EXPECT_TRUE(made.has_value());
      return made ? made->api_key : "";
    };
    std::string asks = legal("legal asks"), approves = legal("legal approves");
    auto created =
        Call("POST", "/v1/disclosure-requests", asks,
             R"({"tenant":"acme","authority":"Court","instrument":{"type":)"
             R"("warrant","reference":"W-1","jurisdiction":"DE",)"
             R"("legally_binding":true},"scope":{"principals":[")" +
                 s.principal + R"("],"collections":["people"]}})");
    EXPECT_EQ(created.status, 201) << created.body;
    std::string id = Member(created, "id");
    EXPECT_EQ(
        Call("POST", "/v1/disclosure-requests/" + id + "/approve", approves)
            .status,
        200);
    return Case{"one principal, the records of the scoped collection",
                [this, id, asks] {
                  return Call("POST",
                              "/v1/disclosure-requests/" + id + "/fulfil",
                              asks);
                },
                {200, {s.p1, s.p2}, {s.principal}}};
  }};
  return cases;
}

// The routes the table must cover: those whose operation declares
// personal data.
std::vector<App::RouteInfo> PersonalDataRoutes(const App& app) {
  std::vector<App::RouteInfo> out;
  for (auto& route : app.RouteTable())
    if (policy::Spec(route.op).personal_data) out.push_back(route);
  return out;
}

TEST_F(AuditCompletenessTest, EveryPersonalDataRouteNamesExactlyItsSubjects) {
  auto cases = Cases();
  auto routes = PersonalDataRoutes(app);
  ASSERT_FALSE(routes.empty());
  std::set<std::string> covered;
  for (auto& route : routes) {
    auto it = cases.find(route.name);
    if (it == cases.end() || it->second.empty()) {
      ADD_FAILURE() << "no audit completeness case for the personal-data "
                       "route "
                    << route.name << " (" << route.method << " "
                    << route.pattern << ")";
      continue;
    }
    covered.insert(route.name);
    for (auto& make : it->second) Check(route.name, make());
  }
  // And no case for a route that is not (or no longer) one.
  for (auto& [name, factories] : cases)
    EXPECT_TRUE(covered.contains(name))
        << name << " is not a registered personal-data route";
}

// Each writing personal-data route, with a store write failing after its
// event was written ahead: the first write, the second, and so on until the
// request has no more writes to fail. The log must end with an outcome
// entry saying error, linked to the intent, naming the same subjects.
TEST_F(AuditCompletenessTest, EveryWritingRouteLogsItsFinalOutcome) {
  auto cases = Cases();
  for (auto& route : PersonalDataRoutes(app)) {
    if (!policy::Spec(route.op).writes) continue;
    auto it = cases.find(route.name);
    if (it == cases.end() || it->second.empty()) {
      ADD_FAILURE() << "no case for " << route.name;
      continue;
    }
    int failed = 0;
    for (int n = 1; n < 32; ++n) {
      SCOPED_TRACE(route.name + ", write " + std::to_string(n) + " fails");
      Case c = it->second.front()();
      const uint64_t before = Events();
      h.faults.fail_write_in = n;
      HttpResponse r = c.call();
      const bool reached = h.faults.fail_write_in == 0;
      h.faults.fail_write_in = 0;
      const audit::Event* intent = nullptr;
      audit::Event e = FinalEntry(before, &intent);
      EXPECT_EQ(e.action, route.name);
      if (!reached) {
        // Fewer than n writes: the request ran as without a fault.
        EXPECT_EQ(r.status, c.want.status) << r.body;
        EXPECT_EQ(e.outcome, audit::Outcome::kOk);
        break;
      }
      ASSERT_NE(intent, nullptr)
          << "a change is on record before its first write";
      EXPECT_EQ(intent->outcome, audit::Outcome::kOk);
      if (r.status >= 200 && r.status < 300) {
        // A step after the change took effect failed and is finished
        // later: the request's outcome stands.
        EXPECT_EQ(e.outcome, audit::Outcome::kOk) << r.body;
      } else {
        ++failed;
        EXPECT_EQ(r.status, 503) << r.body;
        EXPECT_EQ(e.outcome, audit::Outcome::kError);
      }
      Subjects records = c.want.records;
      if (c.want.new_record) {
        ASSERT_EQ(intent->records.size(), 1u);
        records.insert(intent->records.front());
      }
      ExpectSubjects(e, records, Pseudonyms(c.want.principals));
      ExpectNamedIn(*intent, e);
    }
    EXPECT_GT(failed, 0) << route.name;
  }
}

}  // namespace
}  // namespace piivault::api
