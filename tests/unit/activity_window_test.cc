#include "collector/activity_window.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/activity_json.h"

namespace optischema::collector {
namespace {

SessionSample Active(int64_t pid, std::optional<int64_t> queryid,
                     std::optional<std::string> wait_type = std::nullopt,
                     std::optional<std::string> wait_event = std::nullopt) {
  SessionSample s;
  s.pid = pid;
  s.backend_type = "client backend";
  s.state = "active";
  s.queryid = queryid;
  s.wait_event_type = std::move(wait_type);
  s.wait_event = std::move(wait_event);
  s.state_age_s = 1;
  s.xact_age_s = 1;
  return s;
}

SessionSample IdleInTransaction(int64_t pid, double idle_s, int64_t locks) {
  SessionSample s;
  s.pid = pid;
  s.backend_type = "client backend";
  s.state = "idle in transaction";
  s.wait_event_type = "Client";
  s.wait_event = "ClientRead";
  s.queryid = 77;
  s.state_age_s = idle_s;
  s.xact_age_s = idle_s + 1;
  s.locks_held = locks;
  return s;
}

SessionSample BlockedBy(int64_t pid, int64_t queryid, std::vector<int64_t> blockers,
                        double waited_s) {
  SessionSample s = Active(pid, queryid, "Lock", "transactionid");
  s.blocked_by = std::move(blockers);
  s.state_age_s = waited_s;
  return s;
}

ActivityWindowOptions Options() {
  ActivityWindowOptions o;
  o.sample_interval_s = 1;
  o.idle_in_transaction_warn_s = 60;
  return o;
}

TEST(ActivityWindow, LoadIsTheAverageNumberOfActiveSessionsPerSample) {
  ActivityWindow window(Options());
  SessionSample idle;
  idle.pid = 9;
  idle.backend_type = "client backend";
  idle.state = "idle";
  window.Add({Active(1, 11), Active(2, 22, "IO", "DataFileRead"), idle});
  window.Add({Active(1, 11), idle});
  window.Add({idle});
  window.Add({Active(1, 11, "Timeout", "PgSleep"), Active(2, 22, "IO", "DataFileRead"),
              Active(3, 11, "Timeout", "PgSleep")});
  auto a = window.Summarize();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->samples, 4);
  EXPECT_DOUBLE_EQ(a->load, 6.0 / 4);
  EXPECT_EQ(a->max_active, 3);
  ASSERT_EQ(a->by_wait_class.size(), 3u);
  // CPU 2, IO 2, Timeout 2 samples' worth: each 0.5.
  for (const auto& c : a->by_wait_class) EXPECT_DOUBLE_EQ(c.load, 0.5) << c.wait_class;
  ASSERT_FALSE(a->top_waits.empty());
  bool cpu_has_no_event = false;
  for (const auto& w : a->top_waits) {
    if (w.wait_class == protocol::kOnCpuWaitClass) cpu_has_no_event = !w.wait_event.has_value();
  }
  EXPECT_TRUE(cpu_has_no_event);
  // Statement 11: CPU 2 samples, Timeout 2 → 0.5 each; statement 22: IO 0.5.
  double s11_timeout = 0;
  double s22_io = 0;
  for (const auto& s : a->by_statement) {
    if (s.queryid == 11 && s.wait_class == "Timeout") s11_timeout = s.load;
    if (s.queryid == 22 && s.wait_class == "IO") s22_io = s.load;
  }
  EXPECT_DOUBLE_EQ(s11_timeout, 0.5);
  EXPECT_DOUBLE_EQ(s22_io, 0.5);
  ASSERT_EQ(a->by_backend_type.size(), 1u);
  EXPECT_EQ(a->by_backend_type[0].backend_type, "client backend");
}

TEST(ActivityWindow, WithoutQueryIdLoadIsNotAttributedAndTheNoteSaysWhy) {
  ActivityQuery pg13;
  pg13.has_query_id = false;
  ActivityWindow window = ActivityWindowFor(pg13, Options());
  window.Add({Active(1, std::nullopt)});
  auto a = window.Summarize();
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->statement_attribution);
  ASSERT_TRUE(a->attribution_note);
  EXPECT_NE(a->attribution_note->find("13"), std::string::npos);
  EXPECT_TRUE(a->by_statement.empty());
  EXPECT_DOUBLE_EQ(a->load, 1);
}

TEST(ActivityWindow, NoSampleMeansNoActivity) {
  ActivityWindow window(Options());
  EXPECT_FALSE(window.Summarize());
  window.Add({});
  window.Clear();
  EXPECT_FALSE(window.Summarize());
}

TEST(BlockingChains, AnIdleBlockerWithAQueueOfTwoIsOneChainOfDepthTwo) {
  // 10 holds the row; 20 waits on 10's transaction; 30 waits on 20's tuple lock.
  ActivitySample sample{IdleInTransaction(10, 5, 1), BlockedBy(20, 222, {10}, 4),
                        BlockedBy(30, 333, {20}, 3)};
  auto chains = BuildBlockingChains(sample);
  ASSERT_EQ(chains.size(), 1u);
  const auto& c = chains[0];
  EXPECT_EQ(c.root.pid, 10);
  EXPECT_EQ(c.root.state, "idle in transaction");
  EXPECT_EQ(c.root.level, 0);
  EXPECT_EQ(c.depth, 2);
  ASSERT_EQ(c.blocked.size(), 2u);
  EXPECT_EQ(c.blocked[0].pid, 20);
  EXPECT_EQ(c.blocked[0].level, 1);
  EXPECT_EQ(c.blocked[0].queryid, 222);
  EXPECT_EQ(c.blocked[1].pid, 30);
  EXPECT_EQ(c.blocked[1].level, 2);
  EXPECT_EQ(c.blocked[1].queryid, 333);
  EXPECT_DOUBLE_EQ(c.longest_wait_s, 4);
}

TEST(BlockingChains, ABlockerTheSampleDidNotSeeIsARootOfUnknownState) {
  auto chains = BuildBlockingChains({BlockedBy(20, 1, {99}, 2)});
  ASSERT_EQ(chains.size(), 1u);
  EXPECT_EQ(chains[0].root.pid, 99);
  EXPECT_EQ(chains[0].root.state, "unknown");
  EXPECT_EQ(chains[0].depth, 1);
}

TEST(BlockingChains, ACycleHasNoRootAndEndsTheWalk) {
  // A deadlock the server has not broken yet: nobody is a root, nothing loops.
  auto chains = BuildBlockingChains({BlockedBy(1, 1, {2}, 1), BlockedBy(2, 2, {1}, 1)});
  EXPECT_TRUE(chains.empty());
  // A cycle hanging off a root is walked once.
  chains = BuildBlockingChains(
      {IdleInTransaction(5, 1, 1), BlockedBy(1, 1, {5, 2}, 1), BlockedBy(2, 2, {1}, 1)});
  ASSERT_EQ(chains.size(), 1u);
  EXPECT_EQ(chains[0].blocked.size(), 2u);
  EXPECT_EQ(chains[0].depth, 2);
}

TEST(ActivityWindow, KeepsEachRootsWorstChainAndCountsItsSamples) {
  ActivityWindow window(Options());
  window.Add({IdleInTransaction(10, 61, 2), BlockedBy(20, 222, {10}, 1)});
  window.Add(
      {IdleInTransaction(10, 62, 2), BlockedBy(20, 222, {10}, 2), BlockedBy(30, 333, {20}, 1)});
  window.Add({IdleInTransaction(10, 63, 2), BlockedBy(20, 222, {10}, 0.5)});
  auto a = window.Summarize();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->lock_wait_samples, 3);
  ASSERT_EQ(a->blocking.size(), 1u);
  EXPECT_EQ(a->blocking[0].samples, 3);
  EXPECT_EQ(a->blocking[0].depth, 2);
  EXPECT_DOUBLE_EQ(a->blocking[0].longest_wait_s, 2);
  ASSERT_EQ(a->idle_in_transaction.size(), 1u);
  EXPECT_EQ(a->idle_in_transaction[0].pid, 10);
  EXPECT_DOUBLE_EQ(a->idle_in_transaction[0].idle_s, 63);
  EXPECT_EQ(a->idle_in_transaction[0].locks_held, 2);
  EXPECT_EQ(a->idle_in_transaction[0].blocking, 1);
}

TEST(ActivityWindow, IdleTransactionsAreReportedOnlyPastTheThresholdAndHoldingOrBlocking) {
  ActivityWindow window(Options());
  window.Add({IdleInTransaction(1, 59, 3),    // not long enough
              IdleInTransaction(2, 120, 0),   // holds no table lock, blocks nobody
              IdleInTransaction(3, 61, 1)});  // reported
  auto a = window.Summarize();
  ASSERT_TRUE(a);
  ASSERT_EQ(a->idle_in_transaction.size(), 1u);
  EXPECT_EQ(a->idle_in_transaction[0].pid, 3);
}

TEST(ActivityWindow, ListsAreBounded) {
  ActivityWindow window(Options());
  ActivitySample sample;
  for (int64_t pid = 1; pid <= 400; ++pid) {
    sample.push_back(Active(pid, pid, "LWLock", "event" + std::to_string(pid)));
    sample.push_back(IdleInTransaction(1000 + pid, 100, 1));
    sample.push_back(BlockedBy(2000 + pid, pid, {1000 + pid}, 1));
  }
  window.Add(sample);
  auto a = window.Summarize();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->top_waits.size(), protocol::kTopWaits);
  EXPECT_EQ(a->by_statement.size(), protocol::kTopStatementLoads);
  EXPECT_EQ(a->blocking.size(), protocol::kTopChains);
  EXPECT_EQ(a->idle_in_transaction.size(), protocol::kTopIdle);
}

TEST(ActivityReader, ParsesPgBlockingPidsArraysAndRejectsAnythingElse) {
  EXPECT_EQ(ParsePidArray("{}"), std::vector<int64_t>{});
  EXPECT_EQ(ParsePidArray("{12}"), std::vector<int64_t>{12});
  EXPECT_EQ(ParsePidArray("{12,345}"), (std::vector<int64_t>{12, 345}));
  EXPECT_TRUE(ParsePidArray("{12,x}").empty());
  EXPECT_TRUE(ParsePidArray("12").empty());
  EXPECT_TRUE(ParsePidArray("{-1}").empty());
  EXPECT_TRUE(ParsePidArray("{1,,2}").empty());
}

TEST(ActivityReader, TheSampleNeverReadsTheQueryTextAndSkipsItsOwnSession) {
  ActivityQuery q;
  q.database_oid = 5;
  q.has_query_id = true;
  const std::string sql = ActivitySql(q);
  EXPECT_EQ(sql.find("a.query,"), std::string::npos);
  EXPECT_EQ(sql.find("a.query "), std::string::npos);
  EXPECT_NE(sql.find("a.query_id"), std::string::npos);
  EXPECT_NE(sql.find("pg_catalog.pg_backend_pid()"), std::string::npos);
  EXPECT_NE(sql.find("a.datid = 5::pg_catalog.oid"), std::string::npos);
  q.has_query_id = false;
  EXPECT_EQ(ActivitySql(q).find("query_id"), std::string::npos);
}

TEST(ActivityJson, WritesEveryMemberWithQueryidsAsStrings) {
  ActivityWindow window(Options());
  window.Add({IdleInTransaction(10, 61, 2), BlockedBy(20, 9007199254740993, {10}, 1.23456)});
  auto a = window.Summarize();
  ASSERT_TRUE(a);
  const auto j = nlohmann::json::parse(protocol::ActivityToJson(*a));
  for (const char* key :
       {"samples", "sample_interval_s", "statement_attribution", "load", "max_active",
        "by_wait_class", "top_waits", "by_statement", "by_backend_type", "lock_wait_samples",
        "blocking", "idle_in_transaction_warn_s", "idle_in_transaction"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  const auto& blocked = j["blocking"][0]["blocked"][0];
  EXPECT_EQ(blocked["queryid"], "9007199254740993");
  EXPECT_EQ(blocked["wait_class"], "Lock");
  EXPECT_DOUBLE_EQ(blocked["state_age_s"].get<double>(), 1.235);
  EXPECT_EQ(j["blocking"][0]["root"]["state"], "idle in transaction");
  EXPECT_EQ(j["idle_in_transaction"][0]["queryid"], "77");
}

}  // namespace
}  // namespace optischema::collector
