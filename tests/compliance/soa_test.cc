// The live Statement of Applicability over a real vault: every control of
// the catalogue once with a valid status, and each failing check (a plain
// listener off loopback, an audit log that no longer verifies, an overdue
// breach notice, no or an old external audit) turning its control to a
// nonconformity that fixing the fact clears, computed again each time.
#include "compliance/soa.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "audit/audit_log.h"
#include "regional_tenants.h"
#include "services/compliance_evidence.h"

namespace piivault::vault {
namespace {

namespace json = boost::json;
using compliance::ControlKind;
using compliance::SoaStatus;
using std::chrono::days;
using std::chrono::hours;

class SoaTest : public testing::RegionalTenantsTest {
 protected:
  SoaTest()
      : signer(crypto::Ed25519Key::Generate()),
        audit(&h.router->control(), h.keyring.get(), &signer, &h.clock) {}

  std::vector<compliance::SoaEntry> Soa() {
    auto in = services::GatherSoaInputs(RequestContext(), *h.vault, audit);
    EXPECT_TRUE(in.has_value()) << in.error().ToString();
    return in ? compliance::BuildSoa(*in) : std::vector<compliance::SoaEntry>{};
  }
  const compliance::SoaEntry* Entry(const std::vector<compliance::SoaEntry>& s,
                                    std::string_view id) {
    for (auto& e : s)
      if (e.control->id == id) return &e;
    ADD_FAILURE() << "no control " << id;
    return nullptr;
  }
  SoaStatus StatusOf(std::string_view id) {
    auto soa = Soa();
    auto* e = Entry(soa, id);
    return e ? e->status : SoaStatus::kNotApplicable;
  }

  // A recent external audit, so that 18.2.1 holds unless a test says so.
  void RecordAudit(TimePoint issued) {
    compliance::ExternalAudit a;
    a.standard = "ISO/IEC 27018:2019";
    a.body = "Cert AG";
    a.scope = "piivault production";
    a.period_start = issued - days(90);
    a.period_end = issued - days(10);
    a.issued_at = issued;
    a.expires_at = issued + days(365);
    a.report_sha256 = std::string(64, 'c');
    auto r = h.vault->external_audits.Record(RequestContext(), a, "idn_admin");
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
  }

  crypto::Ed25519Key signer;
  audit::AuditLog audit;
};

TEST(ControlsTest, EveryControlOnceWithWellFormedIds) {
  const std::regex annex(R"(A\.\d+\.\d+)"), iso27002(R"(\d+\.\d+\.\d+)");
  std::set<std::string_view> ids, ids_2014;
  for (auto& c : compliance::Controls()) {
    EXPECT_TRUE(ids.insert(c.id).second) << c.id;
    EXPECT_TRUE(ids_2014.insert(c.id_2014).second) << c.id_2014;
    const std::string id(c.id), id_2014(c.id_2014);
    const bool annex_a = id.starts_with("A.");
    EXPECT_TRUE(std::regex_match(id, annex_a ? annex : iso27002)) << id;
    EXPECT_TRUE(std::regex_match(id_2014, annex_a ? annex : iso27002)) << id;
    EXPECT_FALSE(c.title.empty()) << id;
    EXPECT_FALSE(c.implementation.empty()) << id;
    EXPECT_EQ(compliance::FindControl(c.id), &c);
  }
  // ISO27018.md: 25 Annex A controls and 9 ISO/IEC 27002 ones.
  EXPECT_EQ(ids.size(), 34u);
  EXPECT_EQ(
      std::ranges::count_if(ids, [](auto id) { return id.starts_with("A."); }),
      25);
  for (auto id : {"A.2.1", "A.12.2", "A.11.13", "12.4.1", "12.4.2", "18.2.1"})
    EXPECT_TRUE(ids.contains(id)) << id;
  EXPECT_EQ(compliance::FindControl("A.11.1")->id_2014, "A.10.1");
  EXPECT_EQ(compliance::FindControl("A.99.1"), nullptr);
}

TEST_F(SoaTest, EveryControlAppearsOnceWithAValidStatus) {
  RecordAudit(h.clock.now - days(30));
  auto in = services::GatherSoaInputs(RequestContext(), *h.vault, audit);
  ASSERT_TRUE(in.has_value()) << in.error().ToString();
  auto doc = compliance::SoaDocument(*in, compliance::BuildSoa(*in));
  EXPECT_EQ(doc.at("standard").as_string(), "ISO/IEC 27018:2019");
  std::set<std::string> seen;
  const json::array* regions = nullptr;
  for (auto& v : doc.at("controls").as_array()) {
    auto& c = v.as_object();
    const std::string id(c.at("id").as_string());
    if (id == "A.12.1") regions = &c.at("evidence").at("regions").as_array();
    EXPECT_TRUE(seen.insert(id).second) << id;
    auto status = compliance::ParseSoaStatus(c.at("status").as_string());
    ASSERT_TRUE(status.has_value()) << id;
    const auto* control = compliance::FindControl(id);
    ASSERT_NE(control, nullptr) << id;
    EXPECT_EQ(c.at("id_2014").as_string(), control->id_2014);
    // Organizational controls are never shown as implemented by code.
    if (control->kind == ControlKind::kOrganizational)
      EXPECT_EQ(*status, SoaStatus::kOrganizational) << id;
    else
      EXPECT_EQ(*status, SoaStatus::kImplemented) << id;
  }
  EXPECT_EQ(seen.size(), compliance::Controls().size());
  EXPECT_TRUE(doc.at("nonconformities").as_array().empty());
  EXPECT_FALSE(doc.at("in_scope_services").as_array().empty());
  // Live evidence: the regions with their countries and tenants.
  ASSERT_NE(regions, nullptr);
  ASSERT_EQ(regions->size(), 2u);
  EXPECT_EQ(regions->at(0).at("id").as_string(), "eu");
  EXPECT_FALSE(regions->at(0).at("countries").as_array().empty());
  EXPECT_EQ(regions->at(0).at("tenants").as_int64(), 2);  // acme, euco
}

TEST_F(SoaTest, PlainListenerOffLoopbackIsANonconformityUntilFixed) {
  h.vault->listeners = {{"api", "127.0.0.1", 8200, false, ""}};
  EXPECT_EQ(StatusOf("A.11.6"), SoaStatus::kImplemented);
  h.vault->listeners = {{"api", "0.0.0.0", 8200, false, ""}};
  auto soa = Soa();
  auto* e = Entry(soa, "A.11.6");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, SoaStatus::kNonconformity);
  ASSERT_EQ(e->reasons.size(), 1u);
  EXPECT_NE(e->reasons[0].find("plain HTTP off loopback"), std::string::npos);
  h.vault->listeners = {{"api", "0.0.0.0", 8200, true, "TLSv1.2"}};
  EXPECT_EQ(StatusOf("A.11.6"), SoaStatus::kImplemented);
}

TEST_F(SoaTest, TamperedAuditLogIsANonconformityUntilRestored) {
  audit::Event e;
  e.actor = "idn_x";
  e.action = "records.get";
  e.outcome = audit::Outcome::kOk;
  for (int i = 0; i < 4; ++i) {
    e.at = h.clock.now;
    e.request_id = "req-" + std::to_string(i);
    ASSERT_TRUE(audit.Append(audit::AuditLog::TenantLog("acme"), e));
  }
  EXPECT_EQ(StatusOf("12.4.2"), SoaStatus::kImplemented);

  // Entry 2's row holds entry 1's ciphertext (as an attacker with the
  // database could arrange).
  auto key = [](int i) {
    return "audit/t/acme/e/" + std::string(15, '0') + std::to_string(i);
  };
  auto original = h.control_backend->Get(key(2));
  ASSERT_TRUE(original.has_value() && original->has_value());
  storage::WriteBatch tamper;
  tamper.Put(key(2), **h.control_backend->Get(key(1)));
  ASSERT_TRUE(h.control_backend->Write(tamper).ok());
  auto soa = Soa();
  auto* entry = Entry(soa, "12.4.2");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->status, SoaStatus::kNonconformity);
  ASSERT_EQ(entry->reasons.size(), 1u);
  EXPECT_NE(entry->reasons[0].find("t/acme"), std::string::npos);
  bool acme_fails = false;
  for (auto& l : entry->evidence.at("audit_logs").as_array())
    if (l.at("log").as_string() == "t/acme")
      acme_fails = !l.at("verifies").as_bool();
  EXPECT_TRUE(acme_fails);

  storage::WriteBatch restore;
  restore.Put(key(2), **original);
  ASSERT_TRUE(h.control_backend->Write(restore).ok());
  EXPECT_EQ(StatusOf("12.4.2"), SoaStatus::kImplemented);
}

TEST_F(SoaTest, OverdueBreachNoticeIsANonconformityUntilSent) {
  auto incident = h.vault->incidents.Create(RequestContext(),
                                            {"Backup bucket exposed",
                                             "public for 2h",
                                             h.clock.now - hours(2),
                                             true,
                                             {"euco"},
                                             {}},
                                            "idn_sec");
  ASSERT_TRUE(incident.has_value()) << incident.error().ToString();
  EXPECT_EQ(StatusOf("A.10.1"), SoaStatus::kImplemented);
  h.clock.now += hours(72);  // past detected_at + 72 h
  auto soa = Soa();
  auto* e = Entry(soa, "A.10.1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, SoaStatus::kNonconformity);
  EXPECT_EQ(e->evidence.at("overdue_count").as_int64(), 1);
  ASSERT_TRUE(
      h.vault->incidents.Notify(RequestContext(), incident->id, "idn_sec")
          .has_value());
  EXPECT_EQ(StatusOf("A.10.1"), SoaStatus::kImplemented);
}

TEST_F(SoaTest, ExternalAuditMissingOrOldIsANonconformity) {
  {
    auto soa = Soa();
    auto* e = Entry(soa, "18.2.1");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->status, SoaStatus::kNonconformity);
    EXPECT_EQ(e->reasons,
              std::vector<std::string>{"no external audit recorded"});
  }
  RecordAudit(h.clock.now - days(300));
  EXPECT_EQ(StatusOf("18.2.1"), SoaStatus::kImplemented);
  h.clock.now += days(66);  // 366 days after it was issued
  EXPECT_EQ(StatusOf("18.2.1"), SoaStatus::kNonconformity);
  RecordAudit(h.clock.now - days(1));
  EXPECT_EQ(StatusOf("18.2.1"), SoaStatus::kImplemented);
}

TEST_F(SoaTest, DeclarationsShowOnOrganizationalControlsOnly) {
  auto& declarations = h.vault->declarations;
  EXPECT_EQ(
      declarations.Record(RequestContext(), "A.11.6", "we use TLS", "idn_admin")
          .error()
          .field(),
      "control");
  EXPECT_EQ(declarations.Record(RequestContext(), "A.11.1", "", "idn_admin")
                .error()
                .field(),
            "text");
  ASSERT_TRUE(declarations
                  .Record(RequestContext(), "A.11.1", "NDA v1 for all staff",
                          "idn_admin")
                  .has_value());
  h.clock.now += hours(1);
  ASSERT_TRUE(declarations
                  .Record(RequestContext(), "A.11.1", "NDA v2 for all staff",
                          "idn_admin")
                  .has_value());
  auto soa = Soa();
  auto* e = Entry(soa, "A.11.1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, SoaStatus::kOrganizational);
  auto& d = e->evidence.at("declaration").as_object();
  EXPECT_EQ(d.at("text").as_string(), "NDA v2 for all staff");
  EXPECT_EQ(d.at("by").as_string(), "idn_admin");
  // Without a declaration it is still organizational, saying none exists.
  auto* hardcopy = Entry(soa, "A.11.7");
  ASSERT_NE(hardcopy, nullptr);
  EXPECT_EQ(hardcopy->status, SoaStatus::kOrganizational);
  EXPECT_TRUE(hardcopy->evidence.at("declaration").is_null());
}

}  // namespace
}  // namespace piivault::vault
