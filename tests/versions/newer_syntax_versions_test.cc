// Statements in PostgreSQL 16–18 syntax on a real server of each major that accepts them: the
// texts pg_stat_statements keeps of them reach the snapshot anonymized (from the scanner where the
// agent's PostgreSQL 15 grammar cannot parse them) with no part of any secret left in the snapshot.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "collector/collector.h"
#include "core/clock.h"
#include "protocol/snapshot_json.h"
#include "tests/support/collector_readings.h"
#include "tests/support/newer_syntax_statements.h"
#include "tests/support/pg_cluster.h"

namespace optischema::testing {
namespace {

TEST(NewerSyntaxVersionsTest, TextsTheParserCannotReadLeaveAnonymizedWithNoSecret) {
  if (PgCluster::DefaultMajor() < 16) GTEST_SKIP() << "no newer syntax before PostgreSQL 16";
  auto cluster = PgCluster::Start();
  cluster->Exec("CREATE EXTENSION pg_stat_statements");
  cluster->Exec(kNewerSyntaxSetupSql);
  SystemClock clock;
  collector::CollectorOptions options;
  options.database_name = "main";
  collector::Collector c(options, SessionFactoryFor(cluster->ConnectionString()), clock);
  auto baseline = c.Collect();
  ASSERT_TRUE(baseline.ok()) << baseline.error().ToString();

  std::vector<const NewerSyntaxStatement*> ran;
  for (const NewerSyntaxStatement& statement : NewerSyntaxStatements()) {
    if (statement.min_major > cluster->major()) continue;
    ASSERT_NO_THROW(cluster->Exec(statement.sql)) << statement.sql;
    ran.push_back(&statement);
  }
  ASSERT_FALSE(ran.empty());
  // Secrets the server itself keeps in its texts (utility statements are not normalized): what
  // the agent has to remove.
  std::string kept_by_server;
  for (const auto& row : cluster->Query("SELECT query FROM pg_stat_statements")) {
    kept_by_server += row[0] + "\n";
  }
  int secrets_in_server_texts = 0;
  for (const NewerSyntaxStatement* statement : ran) {
    secrets_in_server_texts += static_cast<int>(LeakedSecretParts(kept_by_server, *statement).size());
  }
  EXPECT_GT(secrets_in_server_texts, 0) << kept_by_server;

  SnapshotTexts texts;
  const protocol::Snapshot snap = texts.Take(c);
  // The texts are the snapshot's only free text: every part of a secret is looked for in them;
  // the rest of the snapshot (ids, times, counters) is searched for the secrets as written.
  std::string sent_texts;
  for (const auto& [queryid, text] : texts.texts()) sent_texts += text + "\n";
  const std::string json = protocol::SnapshotToJson(snap);
  for (const NewerSyntaxStatement* statement : ran) {
    for (const std::string& leaked : LeakedSecretParts(sent_texts, *statement)) {
      ADD_FAILURE() << "leaked " << leaked << " of: " << statement->sql;
    }
    for (const std::string& secret : statement->secrets) {
      // Digit runs alone turn up in ids and counters by chance; a secret with a letter does not.
      const bool has_letter = std::any_of(secret.begin(), secret.end(), [](char ch) {
        return std::isalpha(static_cast<unsigned char>(ch)) != 0;
      });
      if (has_letter && secret.size() >= 5) {
        EXPECT_EQ(json.find(secret), std::string::npos) << secret;
      }
    }
  }
  int from_scanner = 0;
  for (const protocol::StatementMetrics& s : snap.statements) {
    if (!s.include_text) continue;
    EXPECT_TRUE(s.text.has_value()) << "queryid " << s.queryid << " lost its text";
    if (s.text && s.text_source == protocol::TextSource::kScanner) ++from_scanner;
  }
  EXPECT_GT(from_scanner, 0) << texts.Describe();
}

}  // namespace
}  // namespace optischema::testing
