// The control plane's input bounds without HTTP: the JSON shape scan that runs before any parse,
// the per-route body and element bounds the Api applies, the in-flight memory budget, retention of
// heartbeats and snapshots, and the modes of the data directory.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "controlplane/api.h"
#include "controlplane/api_keys.h"
#include "controlplane/command_output.h"
#include "controlplane/data_directory.h"
#include "controlplane/input_limits.h"
#include "controlplane/message_validation.h"
#include "controlplane/request_budget.h"
#include "controlplane/retention.h"
#include "controlplane/signing_key.h"
#include "controlplane/store.h"
#include "protocol/json_bounds.h"
#include "tests/support/manual_clock.h"
#include "tests/support/wait_for.h"

namespace optischema::controlplane {
namespace {

namespace fs = std::filesystem;
using protocol::CheckJsonBounds;
using protocol::JsonBounds;

constexpr char kKey[] = "osk_unit-test-key";
constexpr char kAgent[] = "0b8a3c1e-1111-4222-8333-444455556666";

std::string Nested(std::size_t depth) {
  return "{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

std::string ManyEmptyObjects(std::size_t count) {
  std::string text = "{\"a\":[";
  for (std::size_t i = 0; i < count; ++i) text += i == 0 ? "{}" : ",{}";
  return text + "]}";
}

unsigned ModeOf(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) throw std::runtime_error("lstat " + path);
  return info.st_mode & 07777;
}

// ---------------------------------------------------------------------------------------------
// The shape scan

TEST(JsonBoundsTest, CountsDepthAndElementsOfValidJson) {
  const auto shape =
      CheckJsonBounds(R"({"a":[1,2,{"b":"x,]}[{"}],"c":{},"d":[]})", JsonBounds{64, 100});

  ASSERT_TRUE(shape.ok()) << shape.error().message;
  EXPECT_EQ(shape->depth, 3U);
  // a, c, d members; 1, 2, {...} elements; b member. Brackets and commas in strings do not count.
  EXPECT_EQ(shape->elements, 7U);
}

TEST(JsonBoundsTest, EscapedQuoteDoesNotEndAString) {
  const auto shape = CheckJsonBounds(R"({"a":"\"[[[[","b":"\\"})", JsonBounds{1, 2});

  ASSERT_TRUE(shape.ok()) << shape.error().message;
  EXPECT_EQ(shape->depth, 1U);
  EXPECT_EQ(shape->elements, 2U);
}

TEST(JsonBoundsTest, NestingOneDeeperThanTheBoundIsRefusedNamingIt) {
  EXPECT_TRUE(CheckJsonBounds(Nested(63), JsonBounds{64, 100}).ok());

  const auto refused = CheckJsonBounds(Nested(64), JsonBounds{64, 100});

  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused.error().message, "body: JSON nested deeper than 64 levels");
}

TEST(JsonBoundsTest, TheIssuesHundredThousandBracketsAreRefusedWithoutRecursion) {
  const auto refused = CheckJsonBounds(Nested(100'000), JsonBounds{kMaxJsonDepth, 1'000'000});

  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "body: JSON nested deeper than 64 levels");
}

TEST(JsonBoundsTest, OneElementMoreThanTheBoundIsRefusedNamingIt) {
  // One member "a" plus the objects.
  EXPECT_TRUE(CheckJsonBounds(ManyEmptyObjects(99), JsonBounds{64, 100}).ok());

  const auto refused = CheckJsonBounds(ManyEmptyObjects(100), JsonBounds{64, 100});

  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "body: more than 100 JSON elements (array elements and object members)");
}

TEST(JsonBoundsTest, UnbalancedOrTruncatedTextIsLeftToTheParser) {
  for (const char* text : {"]]]]{", "{\"a\":[[[", "\"unterminated", "", "}{"}) {
    EXPECT_TRUE(CheckJsonBounds(text, JsonBounds{64, 100}).ok()) << text;
  }
}

TEST(JsonBoundsTest, ListingsPrintADeepBodyStoredBeforeTheBoundsAsNull) {
  EXPECT_TRUE(StoredJson(Nested(100'000)).is_null());
  EXPECT_EQ(StoredJson(Nested(3)), nlohmann::json::parse(Nested(3)));
}

// ---------------------------------------------------------------------------------------------
// The in-flight budget

TEST(RequestBudgetTest, ClaimPastTheBudgetIsRefusedWhileAnotherRequestHoldsSome) {
  RequestBudget budget(1000);
  RequestBudget::Claim first(&budget);
  RequestBudget::Claim second(&budget);
  ASSERT_TRUE(first.Add(600));

  EXPECT_FALSE(second.Add(500));
  EXPECT_TRUE(second.Add(400));
  EXPECT_EQ(budget.in_use(), 1000U);
  EXPECT_EQ(second.held(), 400U);
}

TEST(RequestBudgetTest, RequestAloneInFlightMayPassTheBudget) {
  RequestBudget budget(1000);
  RequestBudget::Claim alone(&budget);

  EXPECT_TRUE(alone.Add(700));
  EXPECT_TRUE(alone.Add(700));
  EXPECT_EQ(budget.in_use(), 1400U);
}

TEST(RequestBudgetTest, EndedRequestGivesItsShareBack) {
  RequestBudget budget(1000);
  {
    RequestBudget::Claim ended(&budget);
    ASSERT_TRUE(ended.Add(900));
  }
  RequestBudget::Claim next(&budget);
  RequestBudget::Claim other(&budget);

  EXPECT_EQ(budget.in_use(), 0U);
  EXPECT_TRUE(next.Add(500));
  EXPECT_TRUE(other.Add(500));
}

TEST(RequestBudgetTest, ReleasedClaimMakesRoomAtOnce) {
  RequestBudget budget(1000);
  RequestBudget::Claim refused(&budget);
  RequestBudget::Claim other(&budget);
  ASSERT_TRUE(refused.Add(900));

  refused.Release();

  EXPECT_EQ(refused.held(), 0U);
  EXPECT_TRUE(other.Add(1000));
}

// ---------------------------------------------------------------------------------------------
// The Api's bounds, over a real store

class ApiBoundsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "optischema-bounds-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    auto store = Store::Open(dir_ + "/data", Store::OpenMode::kCreate, clock_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(store_->AddApiKey("test", ApiKeySha256Hex(kKey)).ok());
    api_ = std::make_unique<Api>(*store_, ApiOptions{}, clock_);
    const std::string registration = nlohmann::json{
        {"protocol", "1.0"},
        {"agent_id", kAgent},
        {"hostname", "h"},
        {"version", "0.1.0"},
        {"databases",
         nlohmann::json::array()}}.dump();
    ASSERT_EQ(Call("/v1/agents/register", registration).status, 200);
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  ApiReply Call(const std::string& path, const std::string& body,
                RequestBudget::Claim* memory = nullptr) {
    const ApiRequest request{"POST", path, "", std::string("Bearer ") + kKey, ""};
    return api_->Handle(
        request,
        [this, body](std::size_t max_bytes) -> std::variant<std::string, ApiReply> {
          max_bytes_.push_back(max_bytes);
          return body;
        },
        memory);
  }

  static std::string ErrorOf(const ApiReply& reply) {
    const nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, false);
    return body.is_object() && body.contains("error") ? body["error"].get<std::string>() : "";
  }

  std::string dir_;
  testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Api> api_;
  std::vector<std::size_t> max_bytes_;  // the bound given to each body read
};

const std::vector<std::string>& PostRoutes() {
  static const std::vector<std::string> routes = {
      "/v1/agents/register",
      std::string("/v1/agents/") + kAgent + "/heartbeat",
      std::string("/v1/agents/") + kAgent + "/snapshots",
      std::string("/v1/agents/") + kAgent + "/audit",
      std::string("/v1/agents/") + kAgent + "/recommendations/r-1/events",
  };
  return routes;
}

TEST_F(ApiBoundsTest, DeepNestingIsRefusedWith400OnEveryRouteAndNothingIsStored) {
  for (const std::string& route : PostRoutes()) {
    const ApiReply reply = Call(route, Nested(100'000));

    EXPECT_EQ(reply.status, 400) << route;
    EXPECT_EQ(ErrorOf(reply), "body: JSON nested deeper than 64 levels") << route;
  }
  auto audit = store_->ListAuditRecords(std::nullopt);
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->empty());
}

TEST_F(ApiBoundsTest, BodyWithANulByteIsRefusedOnEveryRoute) {
  // nlohmann's parser stops at the NUL: what follows would be stored unchecked.
  const std::string body = std::string(R"({"protocol":"1.0"})") + '\0' + R"(,"x":[[[[[[[[)";
  for (const std::string& route : PostRoutes()) {
    const ApiReply reply = Call(route, body);

    EXPECT_EQ(reply.status, 400) << route;
    EXPECT_EQ(ErrorOf(reply), "body: not valid JSON") << route;
  }
}

TEST_F(ApiBoundsTest, SmallRoutesRefuseMoreThanTheirElements) {
  const std::string body = ManyEmptyObjects(kSmallBodyJsonElements);

  const ApiReply heartbeat = Call(std::string("/v1/agents/") + kAgent + "/heartbeat", body);
  const ApiReply audit = Call(std::string("/v1/agents/") + kAgent + "/audit", body);

  EXPECT_EQ(heartbeat.status, 400);
  EXPECT_EQ(ErrorOf(heartbeat), "body: more than " + std::to_string(kSmallBodyJsonElements) +
                                    " JSON elements (array elements and object members)");
  // The audit route takes large batches: this body passes the shape check and is stored.
  EXPECT_EQ(audit.status, 202) << audit.body;
}

TEST_F(ApiBoundsTest, EachRouteReadsItsBodyWithinItsOwnBound) {
  max_bytes_.clear();
  for (const std::string& route : PostRoutes()) (void)Call(route, "{}");

  EXPECT_EQ(max_bytes_,
            (std::vector<std::size_t>{kRegisterBodyBytes, kHeartbeatBodyBytes, kDefaultMaxBodyBytes,
                                      kAuditBodyBytes, kEventBodyBytes}));
  EXPECT_EQ(api_->MaxBodyBytes(std::string("/v1/agents/") + kAgent + "/heartbeat"),
            kHeartbeatBodyBytes);
  EXPECT_EQ(api_->MaxBodyBytes("/no/such/route"), kDefaultMaxBodyBytes);
}

TEST_F(ApiBoundsTest, MaxBodyBytesCapsEveryRoute) {
  ApiOptions options;
  options.max_body_bytes = 4096;
  const Api small(*store_, options, clock_);

  EXPECT_EQ(small.MaxBodyBytes("/v1/agents/register"), 4096U);
  EXPECT_EQ(small.MaxBodyBytes(std::string("/v1/agents/") + kAgent + "/audit"), 4096U);
  EXPECT_EQ(small.MaxBodyBytes(std::string("/v1/agents/") + kAgent + "/snapshots"), 4096U);
}

TEST_F(ApiBoundsTest, ParsedBodyTheBudgetCannotTakeGets503WithRetryAfter) {
  RequestBudget budget(64 * kKiB);
  RequestBudget::Claim other_request(&budget);
  ASSERT_TRUE(other_request.Add(1));
  RequestBudget::Claim memory(&budget);
  // 1,000 elements claim about 128 KB of tree, more than the budget leaves.
  const ApiReply reply =
      Call(std::string("/v1/agents/") + kAgent + "/audit", ManyEmptyObjects(1000), &memory);

  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(ErrorOf(reply),
            "control plane busy: the requests in flight hold its 65536 bytes of "
            "request memory; retry later");
  ASSERT_EQ(reply.headers.size(), 1U);
  EXPECT_EQ(reply.headers[0].first, "Retry-After");
  EXPECT_EQ(reply.headers[0].second, std::to_string(kBusyRetryAfter.count()));
  EXPECT_EQ(memory.held(), 0U);
}

// ---------------------------------------------------------------------------------------------
// Retention

class RetentionTest : public ApiBoundsTest {
 protected:
  void Heartbeat() {
    const std::string body = R"({"protocol":"1.0","status":"ok","uptime_s":1,"spool_depth":0,)"
                             R"("last_collect_at":null,"recent_errors":[]})";
    ASSERT_EQ(Call(std::string("/v1/agents/") + kAgent + "/heartbeat", body).status, 200);
  }
  void Snapshot(const std::string& id) {
    SnapshotRecord record{kAgent, id, "orders", "2026-11-21T22:30:05.123Z", 0, "{}"};
    auto outcome = store_->AddSnapshot(record);
    ASSERT_TRUE(outcome.ok());
    ASSERT_EQ(*outcome, StoreOutcome::kStored);
  }
  int64_t Heartbeats() {
    auto agents = store_->ListAgents();
    if (!agents.ok() || agents->empty()) return -1;
    return (*agents)[0].heartbeats;
  }
  std::vector<std::string> SnapshotIds() {
    std::vector<std::string> ids;
    auto rows = store_->ListSnapshots({.agent_id = {}, .database = {}, .with_bodies = false});
    if (rows.ok()) {
      for (const auto& row : *rows) ids.push_back(row.record.snapshot_id);
    }
    return ids;
  }
};

TEST_F(RetentionTest, SweepDeletesOldHeartbeatsAndSnapshotsButKeepsTheLatestHeartbeat) {
  Heartbeat();
  Heartbeat();
  Snapshot("old");
  clock_.Advance(std::chrono::days(31));
  Snapshot("new");

  const Result<PruneCounts> counts = SweepRetention(*store_, clock_, {30, 0});

  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(counts->heartbeats, 1);
  EXPECT_EQ(counts->snapshots, 1);
  EXPECT_EQ(Heartbeats(), 1);  // the latest one stays, however old
  EXPECT_EQ(SnapshotIds(), std::vector<std::string>{"new"});
}

TEST_F(RetentionTest, NothingYoungerThanTheRetentionIsDeleted) {
  Heartbeat();
  Heartbeat();
  Snapshot("s");
  clock_.Advance(std::chrono::days(29));

  const Result<PruneCounts> counts = SweepRetention(*store_, clock_, {30, 0});

  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->heartbeats, 0);
  EXPECT_EQ(counts->snapshots, 0);
  EXPECT_EQ(Heartbeats(), 2);
}

TEST_F(RetentionTest, SweeperSweepsAtStart) {
  Snapshot("old");
  clock_.Advance(std::chrono::days(2));
  const RetentionSweeper sweeper(*store_, clock_, {1, 0}, std::chrono::hours(1));

  EXPECT_TRUE(testing::WaitFor([&] { return SnapshotIds().empty(); }, std::chrono::seconds(10),
                               std::chrono::milliseconds(10)));
}

TEST_F(RetentionTest, ZeroDaysKeepsEverything) {
  Snapshot("old");
  clock_.Advance(std::chrono::days(3650));
  RetentionSweeper sweeper(*store_, clock_, {0, 0}, std::chrono::milliseconds(1));
  sweeper.Stop();

  EXPECT_EQ(SnapshotIds(), std::vector<std::string>{"old"});
}

// ---------------------------------------------------------------------------------------------
// File modes

TEST(DataDirectoryTest, ExistingOpenDirectoryAndFilesBecomePrivate) {
  std::string dir = (fs::temp_directory_path() / "optischema-modes-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string data = dir + "/data";
  ASSERT_EQ(::mkdir(data.c_str(), 0755), 0);
  ::chmod(data.c_str(), 0755);
  const std::string db = data + "/" + kDatabaseFileName;
  for (const std::string& file : {db, db + "-wal", db + "-shm"}) {
    std::ofstream(file) << "";
    ::chmod(file.c_str(), 0644);
  }
  const std::string key = data + "/" + kSigningKeyFileName;
  std::ofstream(key) << "k\n";
  ::chmod(key.c_str(), 0644);
  const std::string outside = dir + "/outside";
  std::ofstream(outside) << "";
  ::chmod(outside.c_str(), 0644);
  ASSERT_EQ(::symlink(outside.c_str(), (data + "/" + kSigningKeyFileName + ".link").c_str()), 0);

  const Status st = MakeDataDirectoryPrivate(data);

  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(ModeOf(data), 0700U);
  for (const std::string& file : {db, db + "-wal", db + "-shm", key}) {
    EXPECT_EQ(ModeOf(file), 0600U) << file;
  }
  EXPECT_EQ(ModeOf(outside), 0644U);  // not followed
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

TEST(DataDirectoryTest, StoreOpenMakesAnExistingOpenDirectoryPrivate) {
  std::string dir = (fs::temp_directory_path() / "optischema-modes-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  ::chmod(dir.c_str(), 0755);
  const testing::ManualClock clock;

  auto store = Store::Open(dir, Store::OpenMode::kCreate, clock);

  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(ModeOf(dir), 0700U);
  EXPECT_EQ(ModeOf(dir + "/" + kDatabaseFileName), 0600U);
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string file = dir + "/" + kDatabaseFileName + suffix;
    ASSERT_TRUE(fs::exists(file)) << file;  // WAL mode, the store is open
    EXPECT_EQ(ModeOf(file), 0600U) << file;
  }
  store->reset();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

}  // namespace
}  // namespace optischema::controlplane
