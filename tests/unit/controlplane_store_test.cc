// The control plane's store (store.h) on its own: the schema upgrade of an existing database and
// the rules of recommendation records.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "controlplane/sqlite_handle.h"
#include "controlplane/store.h"
#include "tests/support/manual_clock.h"

namespace optischema::controlplane {
namespace {

namespace fs = std::filesystem;

constexpr char kAgent[] = "0b8a3c1e-1111-4222-8333-444455556666";

// The recommendations table as schema 1 created it, with one row.
constexpr char kSchema1[] = R"sql(
CREATE TABLE agents (agent_id TEXT PRIMARY KEY, hostname TEXT NOT NULL, version TEXT NOT NULL,
  databases TEXT NOT NULL, registered_at TEXT NOT NULL, last_seen_at TEXT NOT NULL);
CREATE TABLE recommendations (id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents (agent_id), status TEXT NOT NULL, expires_at TEXT,
  body TEXT NOT NULL, created_at TEXT NOT NULL);
INSERT INTO agents VALUES ('0b8a3c1e-1111-4222-8333-444455556666', 'h', '1', '[]',
  '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
INSERT INTO recommendations VALUES ('r-old', '0b8a3c1e-1111-4222-8333-444455556666', 'approved',
  NULL, '{"id":"r-old"}', '2026-01-02T00:00:00.000Z');
PRAGMA user_version = 1;
)sql";

// The users table as schema 3 created it, with one user.
constexpr char kSchema3Users[] = R"sql(
CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
  totp_secret TEXT, disabled INTEGER NOT NULL, failed_login_attempts INTEGER NOT NULL,
  locked_until_s INTEGER, created_at TEXT NOT NULL);
INSERT INTO users VALUES ('alice', 'approver', '$argon2id$x', NULL, 0, 2, NULL,
  '2026-01-01T00:00:00.000Z');
PRAGMA user_version = 3;
)sql";

// The databases table as schema 4 created it, with one database and its advice.
constexpr char kSchema4Databases[] = R"sql(
CREATE TABLE databases (agent_id TEXT NOT NULL, database TEXT NOT NULL,
  last_collected_s INTEGER NOT NULL, advice TEXT, advice_collected_s INTEGER,
  PRIMARY KEY (agent_id, database));
INSERT INTO databases VALUES ('0b8a3c1e-1111-4222-8333-444455556666', 'orders', 1790000000,
  '{"index_findings":[]}', 1789990000);
PRAGMA user_version = 4;
)sql";

class ControlPlaneStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "optischema-store-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::unique_ptr<Store> Open() {
    auto store = Store::Open(dir_, Store::OpenMode::kCreate, clock_);
    if (!store.ok()) throw std::runtime_error(store.error().message);
    return std::move(store).value();
  }

  std::string dir_;
  testing::ManualClock clock_;
};

TEST_F(ControlPlaneStoreTest, Schema1DatabaseIsUpgradedKeepingItsRecommendations) {
  {
    auto db = OpenSqlite(dir_ + "/" + kDatabaseFileName, /*create=*/true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(ExecSql(db->get(), kSchema1).ok());
  }
  const std::string stranger = "11111111-2222-4333-8444-555555555555";

  std::unique_ptr<Store> store = Open();
  const Status unregistered =
      store->AddRecommendation({"r-new", stranger, kStatusProposed, std::nullopt, "{}"});

  EXPECT_TRUE(unregistered.ok()) << unregistered.error().message;
  auto old = store->GetRecommendation("r-old");
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->record.body_json, R"({"id":"r-old"})");
  EXPECT_EQ((*old)->updated_at, "2026-01-02T00:00:00.000Z");
  auto served = store->Recommendations(kAgent, kStatusApproved, /*include_expired=*/false);
  ASSERT_TRUE(served.ok());
  EXPECT_EQ(served->size(), 1U);
}

TEST_F(ControlPlaneStoreTest, Schema3DatabaseIsUpgradedKeepingItsUsers) {
  {
    auto db = OpenSqlite(dir_ + "/" + kDatabaseFileName, /*create=*/true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(ExecSql(db->get(), kSchema3Users).ok());
  }
  std::unique_ptr<Store> store = Open();
  auto alice = store->GetUser("alice");
  ASSERT_TRUE(alice.ok()) << alice.error().message;
  ASSERT_TRUE(alice->has_value());
  EXPECT_EQ((*alice)->failed_login_attempts, 2);
  EXPECT_FALSE((*alice)->must_change_password);
  ConsoleUser bob;
  bob.name = "bob";
  bob.password_hash = "$argon2id$y";
  bob.must_change_password = true;
  ASSERT_TRUE(store->AddUser(bob).ok());
  EXPECT_TRUE((*store->GetUser("bob"))->must_change_password);
}

TEST_F(ControlPlaneStoreTest, Schema4DatabaseIsUpgradedKeepingItsAdviceAndStoresActivity) {
  {
    auto db = OpenSqlite(dir_ + "/" + kDatabaseFileName, /*create=*/true);
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(ExecSql(db->get(), kSchema4Databases).ok());
  }
  std::unique_ptr<Store> store = Open();
  auto databases = store->ListDatabases();
  ASSERT_TRUE(databases.ok()) << databases.error().message;
  ASSERT_EQ(databases->size(), 1u);
  EXPECT_EQ((*databases)[0].advice_json, R"({"index_findings":[]})");
  EXPECT_EQ((*databases)[0].advice_collected_s, 1789990000);
  EXPECT_FALSE(store->GetLatestActivity(kAgent, "orders").value().has_value());

  DatabaseSample sample;
  sample.agent_id = kAgent;
  sample.database = "orders";
  sample.collected_s = 1790000060;
  sample.window_s = 60;
  sample.activity = ActivitySample{{{"CPU", 1.5}}, R"({"load":1.5})"};
  ASSERT_TRUE(store->AddSeriesSamples(sample, {}, std::nullopt).ok());
  const auto latest = store->GetLatestActivity(kAgent, "orders").value();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->json, R"({"load":1.5})");
  EXPECT_EQ(latest->collected_s, 1790000060);
  EXPECT_EQ(store->WaitClassSeries(kAgent, "orders", Resolution::kHour, 0).value().size(), 1u);
  store.reset();
  EXPECT_TRUE(Open() != nullptr) << "opening an upgraded database again changes nothing";
}

TEST_F(ControlPlaneStoreTest, RecommendationIdIsNeverReused) {
  std::unique_ptr<Store> store = Open();
  ASSERT_TRUE(store->AddRecommendation({"r-1", kAgent, kStatusApproved, std::nullopt, "{}"}).ok());

  const Status again =
      store->AddRecommendation({"r-1", kAgent, kStatusProposed, std::nullopt, "{}"});

  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->GetRecommendation("r-1").value()->record.status, kStatusApproved);
}

TEST_F(ControlPlaneStoreTest, TransitionHappensOnlyFromTheExpectedStatuses) {
  std::unique_ptr<Store> store = Open();
  ASSERT_TRUE(
      store->AddRecommendation({"r-1", kAgent, kStatusProposed, std::nullopt, "{\"a\":1}"}).ok());

  auto wrong =
      store->TransitionRecommendation("r-1", {"applied"}, kStatusRollbackRequested, std::nullopt);
  auto missing =
      store->TransitionRecommendation("r-2", {kStatusProposed}, kStatusApproved, std::nullopt);
  clock_.Advance(std::chrono::minutes(1));
  auto approved = store->TransitionRecommendation("r-1", {kStatusProposed}, kStatusApproved,
                                                  std::string("{\"a\":2}"));

  ASSERT_TRUE(wrong.ok() && missing.ok() && approved.ok());
  EXPECT_FALSE(*wrong);
  EXPECT_FALSE(*missing);
  EXPECT_TRUE(*approved);
  const RecommendationRow row = store->GetRecommendation("r-1").value().value();
  EXPECT_EQ(row.record.status, kStatusApproved);
  EXPECT_EQ(row.record.body_json, "{\"a\":2}");
  EXPECT_NE(row.updated_at, row.created_at);
}

TEST_F(ControlPlaneStoreTest, RequestedRollbackStaysRequestedUntilTheAgentAnswersIt) {
  std::unique_ptr<Store> store = Open();
  ASSERT_TRUE(store->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
  ASSERT_TRUE(
      store->AddRecommendation({"r-1", kAgent, kStatusRollbackRequested, std::nullopt, "{}"}).ok());
  const auto report = [&](const std::string& event) {
    EXPECT_EQ(store->AddRecommendationEvent(kAgent, "r-1", event, "{\"event\":\"" + event + "\"}")
                  .value(),
              StoreOutcome::kStored);
    return store->GetRecommendation("r-1").value()->record.status;
  };

  const std::string after_late_event = report("verified");
  const std::string after_answer = report("rolled_back");

  EXPECT_EQ(after_late_event, kStatusRollbackRequested);
  EXPECT_EQ(after_answer, "rolled_back");
  EXPECT_EQ(store->GetRecommendation("r-1").value()->last_event_json,
            "{\"event\":\"rolled_back\"}");
}

TEST_F(ControlPlaneStoreTest, LateRejectedNeverHidesAChangeThatWasMade) {
  std::unique_ptr<Store> store = Open();
  ASSERT_TRUE(store->UpsertAgent({kAgent, "h", "1", "[]"}).ok());
  ASSERT_TRUE(store->AddRecommendation({"r-1", kAgent, kStatusApproved, std::nullopt, "{}"}).ok());
  ASSERT_TRUE(store->AddRecommendation({"r-2", kAgent, kStatusApproved, std::nullopt, "{}"}).ok());
  const auto report = [&](const std::string& id, const std::string& event) {
    EXPECT_EQ(
        store->AddRecommendationEvent(kAgent, id, event, "{\"event\":\"" + event + "\"}").value(),
        StoreOutcome::kStored);
    return store->GetRecommendation(id).value()->record.status;
  };

  EXPECT_EQ(report("r-1", "validated"), "validated");
  EXPECT_EQ(report("r-1", "applied"), "applied");
  EXPECT_EQ(report("r-1", "rejected"), "applied");
  EXPECT_EQ(report("r-1", "verified"), "verified");
  EXPECT_EQ(report("r-1", "rejected"), "verified");
  // The event is still kept, for the timeline.
  EXPECT_EQ(store->GetRecommendation("r-1").value()->last_event_json, "{\"event\":\"rejected\"}");
  // Refused before anything ran: rejected as before.
  EXPECT_EQ(report("r-2", "validated"), "validated");
  EXPECT_EQ(report("r-2", "rejected"), "rejected");
}

}  // namespace
}  // namespace optischema::controlplane
