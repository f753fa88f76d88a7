#include "collector/statement_text.h"

#include <gtest/gtest.h>
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "collector/scanner_anonymizer.h"
#include "pg/pg_session.h"

namespace optischema::collector {
namespace {

bool IsHex16(const std::string& s) {
  return s.size() == 16 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string TextOf(std::string_view sql) {
  return AnalyzeStatementText(sql, 1).text.value_or("<nullopt>");
}

Exclusion ExclusionOf(std::string_view sql) { return AnalyzeStatementText(sql, 1).exclusion; }

struct AnonymizationCase {
  std::string sql;
  std::vector<std::string> secrets;  // substrings that must not appear in the output text
};

TEST(StatementText, AnonymizedTextContainsNoLiteralValue) {
  const std::vector<AnonymizationCase> cases = {
      {"SELECT * FROM users WHERE name = 'alice-secret'", {"alice-secret"}},
      {"SELECT * FROM t WHERE a = 424242 AND b = 3.14159 AND c = -777",
       {"424242", "3.14159", "777"}},
      {"SELECT * FROM t WHERE id IN (1111, 2222, 3333)", {"1111", "2222", "3333"}},
      {"SELECT * FROM t LIMIT 10 OFFSET 20", {"10", "20"}},
      {"SELECT a FROM t -- contact alice@example.com\nWHERE b = 1", {"alice@example.com", "--"}},
      {"SELECT /* bob@example.com */ a FROM t", {"bob@example.com", "/*"}},
      {"ALTER ROLE bob PASSWORD 'hunter2'", {"hunter2"}},
      {"CREATE ROLE x LOGIN PASSWORD 'S3cr3t!'", {"S3cr3t!"}},
      {"ALTER USER u WITH ENCRYPTED PASSWORD 'pw'", {"'pw'", "pw'"}},
      {"SELECT $$secret-dollar$$, $tag$secret-tagged$tag$", {"secret-dollar", "secret-tagged"}},
      {"SELECT E'esc\\'aped\\n' AS x", {"esc", "aped"}},
      {"SELECT B'1010', X'ff00ee'", {"1010", "ff00ee"}},
      {"SELECT now() - interval '3 days', DATE '2024-01-01'", {"3 days", "2024-01-01"}},
      {"INSERT INTO t (a, b) VALUES (101, 'r1'), (202, 'r2'), (303, 'r3'), (404, 'r4')",
       {"101", "202", "303", "404", "'r1'", "'r2'", "'r3'", "'r4'"}},
      {"UPDATE accounts SET email = 'carol@example.org' WHERE id = 5",
       {"carol@example.org", "= 5"}},
      {"SELECT U&'d\\0061t\\+000061' AS u", {"0061", "000061"}},
      {"SELECT 'first-part'\n'second-part'", {"first-part", "second-part"}},
      {"COMMENT ON TABLE t IS 'internal note'", {"internal note"}},
      {"CREATE TABLE t (a varchar(255) DEFAULT 'dflt-value', b int DEFAULT 99)",
       {"dflt-value", "99", "255"}},
      {"COPY t FROM '/srv/private/export.csv'", {"/srv/private/export.csv"}},
      {"ALTER SYSTEM SET work_mem = '1GB'", {"1GB"}},
      {"PREPARE TRANSACTION 'gid-secret'", {"gid-secret"}},
      {"NOTIFY channel, 'payload-secret'", {"payload-secret"}},
      {"SELECT 1e10, .5, 6.02E+23", {"1e10", ".5", "6.02", "E+23"}},
  };
  for (const AnonymizationCase& c : cases) {
    SCOPED_TRACE(c.sql);
    const AnalyzedText result = AnalyzeStatementText(c.sql, 42);
    ASSERT_TRUE(result.text.has_value());
    for (const std::string& secret : c.secrets) {
      EXPECT_EQ(result.text->find(secret), std::string::npos)
          << "leaked: " << secret << " in: " << *result.text;
    }
    EXPECT_TRUE(IsHex16(result.fingerprint)) << result.fingerprint;
  }
}

TEST(StatementText, ReplacesStringLiteralsWithPlaceholders) {
  EXPECT_EQ(TextOf("SELECT * FROM users WHERE name = 'alice'"),
            "SELECT * FROM users WHERE name = $1");
}

TEST(StatementText, ReplacesNumericLiteralsIncludingNegativeOnes) {
  EXPECT_EQ(TextOf("SELECT * FROM t WHERE a = 1 AND b = 2.5 AND c = -3"),
            "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3");
}

TEST(StatementText, ReplacesPasswordsInRoleStatements) {
  EXPECT_EQ(TextOf("ALTER ROLE bob PASSWORD 'hunter2'"), "ALTER ROLE bob PASSWORD $1");
  EXPECT_EQ(TextOf("CREATE ROLE x LOGIN PASSWORD 'S3cr3t!'"), "CREATE ROLE x LOGIN PASSWORD $1");
  EXPECT_EQ(TextOf("ALTER USER u WITH ENCRYPTED PASSWORD 'pw'"),
            "ALTER USER u WITH ENCRYPTED PASSWORD $1");
}

TEST(StatementText, RemovesCommentsAndCollapsesTheirWhitespace) {
  EXPECT_EQ(TextOf("SELECT a /* bob@example.com */ FROM t"), "SELECT a FROM t");
  EXPECT_EQ(TextOf("SELECT a -- contact alice@example.com\n  FROM t"), "SELECT a FROM t");
  EXPECT_EQ(TextOf("/* leading */ SELECT a FROM t /* trailing */"), "SELECT a FROM t");
  EXPECT_EQ(TextOf("SELECT/**/a FROM t"), "SELECT a FROM t");
  EXPECT_EQ(TextOf("SELECT a /* outer /* nested */ still outer */ FROM t"), "SELECT a FROM t");
}

TEST(StatementText, KeepsExistingPlaceholdersAndNumbersNewOnesAfterTheHighest) {
  EXPECT_EQ(TextOf("SELECT * FROM t WHERE a = $1 AND b = $2"),
            "SELECT * FROM t WHERE a = $1 AND b = $2");
  EXPECT_EQ(TextOf("SELECT * FROM t WHERE a = $3 AND b = 'x'"),
            "SELECT * FROM t WHERE a = $3 AND b = $4");
}

TEST(StatementText, ReplacesLiteralsThatNormalizationLeaves) {
  EXPECT_EQ(TextOf("COMMENT ON TABLE t IS 'note'"), "COMMENT ON TABLE t IS $1");
  EXPECT_EQ(TextOf("SELECT $2 FROM t; COPY t FROM '/tmp/x.csv'"),
            "SELECT $2 FROM t; COPY t FROM $3");
}

TEST(StatementText, KeepsQuotedIdentifiers) {
  EXPECT_EQ(TextOf("SELECT \"Weird Col\" FROM \"My Table\" WHERE x = 'v'"),
            "SELECT \"Weird Col\" FROM \"My Table\" WHERE x = $1");
}

TEST(StatementText, TrimsSurroundingWhitespace) {
  EXPECT_EQ(TextOf("  \n\tSELECT a\nFROM t  \n"), "SELECT a\nFROM t");
}

TEST(StatementText, UnparsableTextIsAnonymizedByTheScannerWithALiteralIndependentFingerprint) {
  const AnalyzedText first = AnalyzeStatementText("SELEC 'secret-token' FROM t", 7);
  const AnalyzedText second = AnalyzeStatementText("SELEC 'other' FROM t", 8);
  EXPECT_EQ(first.text, "SELEC $1 FROM t");
  EXPECT_EQ(first.text_source, TextSource::kScanner);
  EXPECT_TRUE(IsHex16(first.fingerprint)) << first.fingerprint;
  EXPECT_EQ(first.fingerprint, second.fingerprint);
  EXPECT_EQ(first.exclusion, Exclusion::kNone);
}

TEST(StatementText, TextThatNeitherParsesNorScansHasNoText) {
  for (const char* sql : {"SELECT JSON_OBJECT('k': 'unterminated secret", "SELEC /* open comment",
                          "SELECT \"unterminated identifier"}) {
    const AnalyzedText result = AnalyzeStatementText(sql, 3);
    EXPECT_FALSE(result.text.has_value()) << sql << " -> " << result.text.value_or("");
    EXPECT_TRUE(IsHex16(result.fingerprint)) << sql;
  }
}

TEST(StatementText, TextThatParsesComesFromTheParserAsBefore) {
  const AnalyzedText result = AnalyzeStatementText("SELECT a FROM t WHERE b = 'x' -- c", 1);
  EXPECT_EQ(result.text, "SELECT a FROM t WHERE b = $1");
  EXPECT_EQ(result.text_source, TextSource::kParser);
}

// Bare-word setting values in a text that does not parse count as literals in the token
// fingerprint: it would otherwise be a 64-bit hash of the value, open to guessing offline.
TEST(StatementText, UnparsableFingerprintDoesNotDependOnSettingOrOptionValues) {
  const auto fingerprint = [](const std::string& value) {
    return AnalyzeStatementText("ALTER ROLE r SET app.key = " + value +
                                    "; SELECT JSON_OBJECT('a': 1); COPY t TO STDOUT (FORMAT " +
                                    value + ")",
                                1)
        .fingerprint;
  };
  EXPECT_EQ(fingerprint("secret_a"), fingerprint("secret_b"));
  EXPECT_NE(AnalyzeStatementText("SELECT JSON_OBJECT('a': 1) FROM t", 1).fingerprint,
            AnalyzeStatementText("SELECT JSON_OBJECT('a': 1) FROM u", 1).fingerprint);
}

TEST(StatementText, UnparsableFingerprintIgnoresCommentContentAndNumbers) {
  EXPECT_EQ(AnalyzeStatementText("SELEC 1 /* a@example.com */ FROM t", 1).fingerprint,
            AnalyzeStatementText("SELEC 2.5 /* b@example.com */ FROM t", 2).fingerprint);
}

TEST(StatementText, UnparsableFingerprintDependsOnIdentifiers) {
  EXPECT_NE(AnalyzeStatementText("SELEC 'x' FROM t", 1).fingerprint,
            AnalyzeStatementText("SELEC 'x' FROM u", 1).fingerprint);
}

TEST(StatementText, UnscannableTextFallsBackToAQueryidFingerprint) {
  const AnalyzedText first = AnalyzeStatementText("SELECT 'unterminated secret", 12345);
  const AnalyzedText same_queryid = AnalyzeStatementText("SELECT 'other unterminated", 12345);
  const AnalyzedText other_queryid = AnalyzeStatementText("SELECT 'unterminated secret", 54321);
  EXPECT_FALSE(first.text.has_value());
  EXPECT_TRUE(IsHex16(first.fingerprint)) << first.fingerprint;
  EXPECT_EQ(first.fingerprint, same_queryid.fingerprint);
  EXPECT_NE(first.fingerprint, other_queryid.fingerprint);
}

TEST(StatementText, SameStatementWithDifferentConstantsHasSameFingerprint) {
  const AnalyzedText a = AnalyzeStatementText("SELECT * FROM orders WHERE id = 1 AND s = 'a'", 1);
  const AnalyzedText b = AnalyzeStatementText("SELECT * FROM orders WHERE id = 99 AND s = 'b'", 2);
  const AnalyzedText c = AnalyzeStatementText("SELECT * FROM orders WHERE id = $1 AND s = $2", 3);
  EXPECT_TRUE(IsHex16(a.fingerprint)) << a.fingerprint;
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.fingerprint, c.fingerprint);
}

TEST(StatementText, DifferentStatementsHaveDifferentFingerprints) {
  EXPECT_NE(AnalyzeStatementText("SELECT * FROM orders WHERE id = 1", 1).fingerprint,
            AnalyzeStatementText("SELECT * FROM customers WHERE id = 1", 1).fingerprint);
  EXPECT_NE(AnalyzeStatementText("SELECT a FROM orders", 1).fingerprint,
            AnalyzeStatementText("SELECT b FROM orders", 1).fingerprint);
}

TEST(StatementText, ClassifiesTransactionControl) {
  for (const char* sql : {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT a", "RELEASE SAVEPOINT a",
                          "BEGIN; COMMIT", "PREPARE TRANSACTION 'x'"}) {
    SCOPED_TRACE(sql);
    EXPECT_EQ(ExclusionOf(sql), Exclusion::kTransactionControl);
  }
}

TEST(StatementText, ClassifiesSessionUtility) {
  for (const char* sql : {"SET work_mem='64MB'", "SHOW work_mem", "RESET ALL", "DISCARD ALL",
                          "DEALLOCATE ALL", "LISTEN ch", "UNLISTEN *", "BEGIN; SET LOCAL x = 1"}) {
    SCOPED_TRACE(sql);
    EXPECT_EQ(ExclusionOf(sql), Exclusion::kSessionUtility);
  }
}

TEST(StatementText, ClassifiesCatalogOnlyReads) {
  for (const char* sql :
       {"SELECT * FROM pg_class", "SELECT * FROM pg_catalog.pg_stat_activity",
        "select * from information_schema.tables",
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
        "WITH x AS (SELECT * FROM pg_class) SELECT * FROM x"}) {
    SCOPED_TRACE(sql);
    EXPECT_EQ(ExclusionOf(sql), Exclusion::kCatalogOnly);
  }
}

TEST(StatementText, ClassifiesCatalogNamesWrittenInAnyCaseOrEscaped) {
  for (const char* sql :
       {"SELECT * FROM PG_CLASS", "select * from Pg_Catalog.pg_proc",
        "SELECT * FROM INFORMATION_SCHEMA.columns", "SELECT * FROM U&\"\\0070g_class\"",
        "with t as (select 1) select * from pg_class, t"}) {
    SCOPED_TRACE(sql);
    EXPECT_EQ(ExclusionOf(sql), Exclusion::kCatalogOnly);
  }
}

TEST(StatementText, PlainStatementsAreUserWorkloadWithAnonymizedTextAndFingerprint) {
  const std::pair<const char*, const char*> cases[] = {
      {"SELECT a FROM orders WHERE id = 5", "SELECT a FROM orders WHERE id = $1"},
      {"  insert into t values (7, 'x')", "insert into t values ($1, $2)"},
      {"UPDATE t SET a = 8", "UPDATE t SET a = $1"},
      {"DELETE FROM t WHERE b = 'y'", "DELETE FROM t WHERE b = $1"},
      {"WITH x AS (SELECT 9) SELECT * FROM x", "WITH x AS (SELECT $1) SELECT * FROM x"},
      {"VALUES (3), (4)", "VALUES ($1), ($2)"},
  };
  for (const auto& [sql, anonymized] : cases) {
    SCOPED_TRACE(sql);
    const AnalyzedText analyzed = AnalyzeStatementText(sql, 1);
    EXPECT_EQ(analyzed.exclusion, Exclusion::kNone);
    EXPECT_EQ(analyzed.text.value_or("<nullopt>"), anonymized);
    EXPECT_EQ(analyzed.fingerprint.size(), 16u);
  }
}

TEST(StatementText, ClassifyAndAnonymizeSplitTheAnalysis) {
  for (const char* sql : {"SELECT a FROM orders WHERE id = 5", "SET work_mem = '1GB'",
                          "SELECT * FROM pg_class WHERE relname = 'x'", "SELEC 'token-1' FROM t"}) {
    SCOPED_TRACE(sql);
    const AnalyzedText full = AnalyzeStatementText(sql, 7);
    const AnalyzedText classified = ClassifyStatementText(sql, 7);
    EXPECT_EQ(classified.exclusion, full.exclusion);
    EXPECT_EQ(classified.fingerprint, full.fingerprint);
    EXPECT_FALSE(classified.text.has_value());
    EXPECT_EQ(AnonymizeStatementText(sql).text, full.text);
  }
}

TEST(StatementText, DoesNotCountCteReferencesAsCatalogRelations) {
  EXPECT_EQ(ExclusionOf("WITH pg_x AS (SELECT 1) SELECT * FROM pg_x"), Exclusion::kNone);
}

TEST(StatementText, UserRelationNextToCatalogIsUserWorkload) {
  EXPECT_EQ(ExclusionOf("SELECT * FROM orders JOIN pg_class ON true"), Exclusion::kNone);
  EXPECT_EQ(ExclusionOf("SELECT * FROM pg_class WHERE oid IN (SELECT relid FROM public.t)"),
            Exclusion::kNone);
  EXPECT_EQ(ExclusionOf("SELECT * FROM myschema.pg_thing"), Exclusion::kNone);
}

TEST(StatementText, StatementsWithoutRelationsAreUserWorkload) {
  EXPECT_EQ(ExclusionOf("SELECT 1"), Exclusion::kNone);
  EXPECT_EQ(ExclusionOf("SELECT now()"), Exclusion::kNone);
  EXPECT_EQ(ExclusionOf("BEGIN; SELECT 1"), Exclusion::kNone);
}

TEST(StatementText, AgentMarkerTakesPrecedenceAndTextIsStillAnonymized) {
  const std::string sql = std::string("  \n") + std::string(pg::kAgentMarker) +
                          " SELECT * FROM pg_class WHERE relname = 'orders'";
  const AnalyzedText result = AnalyzeStatementText(sql, 1);
  EXPECT_EQ(result.exclusion, Exclusion::kAgentOwn);
  EXPECT_EQ(result.text, "SELECT * FROM pg_class WHERE relname = $1");
  EXPECT_TRUE(IsHex16(result.fingerprint)) << result.fingerprint;
  EXPECT_EQ(ExclusionOf(std::string(pg::kAgentMarker) + " BEGIN"), Exclusion::kAgentOwn);
}

TEST(StatementText, AgentMarkerOnUnparsableTextStillExcludes) {
  const AnalyzedText result =
      AnalyzeStatementText(std::string(pg::kAgentMarker) + " SELEC 'x' FROM t", 1);
  EXPECT_EQ(result.exclusion, Exclusion::kAgentOwn);
  EXPECT_EQ(result.text, "SELEC $1 FROM t");
}

TEST(StatementText, AgentMarkerLaterInTheTextDoesNotExclude) {
  EXPECT_EQ(ExclusionOf("SELECT * FROM orders " + std::string(pg::kAgentMarker)), Exclusion::kNone);
}

TEST(StatementText, GivesTheSameResultsWhenCalledFromSeveralThreads) {
  const std::string sql = "SELECT * FROM orders WHERE id = 5 AND note = 'n' -- c";
  const AnalyzedText expected = AnalyzeStatementText(sql, 1);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int& count : mismatches) {
    threads.emplace_back([&sql, &expected, &count] {
      for (int i = 0; i < 200; ++i) {
        const AnalyzedText got = AnalyzeStatementText(sql, 1);
        if (got.text != expected.text || got.fingerprint != expected.fingerprint) ++count;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(StatementText, SettingValuesLeaveAsPlaceholdersWhateverTheirTokenType) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ALTER ROLE mallory SET app.api_key = secretAA20ident",
       "ALTER ROLE mallory SET app.api_key = $1"},
      {"ALTER SYSTEM SET search_path = secretAA28ident", "ALTER SYSTEM SET search_path = $1"},
      {"SET search_path TO secret_a, \"Secret B\", 'c'", "SET search_path TO $1, $2, $3"},
      {"SET LOCAL app.pin = 4821", "SET LOCAL app.pin = $1"},
      {"SET SESSION app.flag = on", "SET SESSION app.flag = $1"},
      {"SET app.shift = -17", "SET app.shift = $1"},
      {"ALTER USER u IN DATABASE d SET app.k = secret_word",
       "ALTER USER u IN DATABASE d SET app.k = $1"},
      {"ALTER DATABASE d SET app.k TO secret_word", "ALTER DATABASE d SET app.k TO $1"},
      {"ALTER FUNCTION f(int) SET search_path = secret_schema, public",
       "ALTER FUNCTION f(int) SET search_path = $1, $2"},
      {"ALTER PROCEDURE p() SET app.k = secret_word SET work_mem = '1MB'",
       "ALTER PROCEDURE p() SET app.k = $1 SET work_mem = $2"},
      {"SET ROLE secret_role", "SET ROLE $1"},
      {"SELECT 1; SET app.k = secret_word", "SELECT $1; SET app.k = $2"},
      {"SELECT 1; ALTER ROLE r SET app.k = secret_word", "SELECT $1; ALTER ROLE r SET app.k = $2"},
      {"ALTER ROLE r SET app.k = /* c */ secret_word", "ALTER ROLE r SET app.k = $1"},
      {"CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = secret_schema AS 'SELECT 1'",
       "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = $1 AS $3"},
  };
  for (const auto& [sql, expected] : cases) {
    EXPECT_EQ(TextOf(sql), expected) << sql;
  }
}

TEST(StatementText, OptionValuesInListsLeaveAsPlaceholders) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"CREATE TABLE t (a int) WITH (autovacuum_enabled = off, toast.fillfactor = 70)",
       "CREATE TABLE t (a int) WITH (autovacuum_enabled = $1, toast.fillfactor = $2)"},
      {"ALTER TABLE t SET (autovacuum_enabled = secretword)",
       "ALTER TABLE t SET (autovacuum_enabled = $1)"},
      {"ALTER TABLE t RESET (fillfactor, autovacuum_enabled)",
       "ALTER TABLE t RESET (fillfactor, autovacuum_enabled)"},
      {"CREATE INDEX i ON t USING gist (a) WITH (buffering = secretword)",
       "CREATE INDEX i ON t USING gist (a) WITH (buffering = $1)"},
      {"COPY t TO STDOUT WITH (FORMAT csv, FORCE_QUOTE (secret_col, b), HEADER true)",
       "COPY t TO STDOUT WITH (FORMAT $1, FORCE_QUOTE $2, HEADER $3)"},
      {"EXPLAIN (ANALYZE, FORMAT json) SELECT 1", "EXPLAIN (ANALYZE, FORMAT $2) SELECT $1"},
      {"VACUUM (PARALLEL 4, INDEX_CLEANUP off) t", "VACUUM (PARALLEL $1, INDEX_CLEANUP $2) t"},
      {"CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (host 'db.secret', port '5432')",
       "CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (host $1, port $2)"},
      {"CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 'pw-secret')",
       "CREATE USER MAPPING FOR u SERVER s OPTIONS (user $1, password $2)"},
      {"ALTER SERVER s OPTIONS (SET host 'h', ADD port '1', DROP dbname)",
       "ALTER SERVER s OPTIONS (SET host $1, ADD port $2, DROP dbname)"},
      // Does not parse; from the scanner, the placeholder apart from the name before it.
      {"ALTER TABLE t SET (x\"Secret\")", "ALTER TABLE t SET (x $1)"},
      {"CREATE TABLE t (a int) WITH (fillfactor = /* c */ secret_word)",
       "CREATE TABLE t (a int) WITH (fillfactor = $1)"},
  };
  for (const auto& [sql, expected] : cases) {
    EXPECT_EQ(TextOf(sql), expected) << sql;
  }
}

// libpg_query's fingerprint hashes option values, literals included: the fingerprint of a user
// mapping would otherwise be a 64-bit hash of its password, open to guessing offline.
TEST(StatementText, FingerprintDoesNotDependOnSettingOrOptionValues) {
  const auto fingerprint = [](const char* sql) { return AnalyzeStatementText(sql, 1).fingerprint; };
  EXPECT_EQ(fingerprint("CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 'pw-a')"),
            fingerprint("CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'v', password 'pw-b')"));
  EXPECT_EQ(fingerprint("ALTER TABLE t SET (autovacuum_enabled = off)"),
            fingerprint("ALTER TABLE t SET (autovacuum_enabled = on)"));
  EXPECT_EQ(fingerprint("ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password 'a', ADD x 'b')"),
            fingerprint("ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password 'c', ADD x 'd')"));
  EXPECT_EQ(fingerprint("COPY t TO STDOUT (FORMAT csv)"),
            fingerprint("COPY t TO STDOUT (FORMAT text)"));
  EXPECT_EQ(fingerprint("ALTER ROLE r SET app.k = secret_a"),
            fingerprint("ALTER ROLE r SET app.k = secret_b"));
  EXPECT_EQ(fingerprint("SELECT 1; ALTER TABLE t SET (autovacuum_enabled = off)"),
            fingerprint("SELECT 1; ALTER TABLE t SET (autovacuum_enabled = on)"));
  // Names still count.
  EXPECT_NE(fingerprint("ALTER TABLE t SET (autovacuum_enabled = off)"),
            fingerprint("ALTER TABLE t SET (fillfactor = 70)"));
  EXPECT_NE(fingerprint("ALTER ROLE r SET app.k = x"), fingerprint("ALTER ROLE r SET app.j = x"));
}

TEST(StatementText, SettingNamesAndResetStayReadable) {
  EXPECT_EQ(TextOf("RESET app.api_key"), "RESET app.api_key");
  EXPECT_EQ(TextOf("ALTER ROLE r RESET ALL"), "ALTER ROLE r RESET ALL");
  EXPECT_EQ(TextOf("ALTER SYSTEM RESET work_mem"), "ALTER SYSTEM RESET work_mem");
  EXPECT_EQ(TextOf("ALTER ROLE r SET app.k FROM CURRENT"), "ALTER ROLE r SET app.k FROM CURRENT");
}

TEST(StatementText, SettingValueThatCannotBeMaskedWithCertaintyGivesNoText) {
  // Keyword-only grammar positions do not accept a placeholder, and a value that is an
  // expression (an interval) has no single token: no text rather than a guess.
  for (const char* sql : {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
                          "SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE"}) {
    const AnalyzedText result = AnalyzeStatementText(sql, 1);
    EXPECT_FALSE(result.text.has_value()) << sql << " -> " << result.text.value_or("");
    EXPECT_TRUE(IsHex16(result.fingerprint));
  }
}

// PostgreSQL 15 rejects 0x1F (PostgreSQL 16 syntax): the scanner's reading replaces the value.
TEST(StatementText, SettingValuesInNewerNumberSyntaxLeaveAsPlaceholdersFromTheScanner) {
  const std::pair<const char*, const char*> cases[] = {
      {"SET x = 0x1F", "SET x = $1"},
      {"ALTER TABLE t SET (fillfactor = 0x1F)", "ALTER TABLE t SET (fillfactor = $1)"},
      {"SET app.k = 1_000, secret_word", "SET app.k = $1, $2"},
  };
  for (const auto& [sql, expected] : cases) {
    const AnalyzedText result = AnalyzeStatementText(sql, 1);
    EXPECT_EQ(result.text.value_or("<nullopt>"), expected) << sql;
    EXPECT_EQ(result.text_source, TextSource::kScanner) << sql;
  }
}

TEST(StatementText, ColumnDefaultsAndIndexOptionsAsFragmentsHideOptionValues) {
  EXPECT_EQ(AnonymizeFragment("",
                              "CREATE INDEX i ON public.t USING btree (a) WITH "
                              "(fillfactor='70', deduplicate_items=secretword)"),
            "CREATE INDEX i ON public.t USING btree (a) WITH (fillfactor=$1, "
            "deduplicate_items=$2)");
}

// The analysis before it parsed each text once, for texts without setting or option values:
// libpg_query's normalization, then a rescan that replaces every literal it left by the next $k
// after the highest parameter and drops comments (nullopt where that rescan fails or leaves
// anything but whitespace between tokens); libpg_query's fingerprint of the text.
std::optional<std::string> ReferenceText(const std::string& sql) {
  PgQueryNormalizeResult normalize = pg_query_normalize(sql.c_str());
  std::optional<std::string> normalized;
  if (normalize.error == nullptr && normalize.normalized_query != nullptr) {
    normalized = normalize.normalized_query;
  }
  pg_query_free_normalize_result(normalize);
  if (!normalized) return std::nullopt;
  const std::optional<std::vector<SqlToken>> tokens = ScanSqlTokens(*normalized);
  if (!tokens) return std::nullopt;
  const auto is_space = [](char c) {
    return std::string_view(" \t\n\r\f\v").find(c) != std::string_view::npos;
  };
  const auto all_space = [&](std::string_view text) {
    return std::all_of(text.begin(), text.end(), is_space);
  };
  std::uint64_t next = 1;
  for (const SqlToken& token : *tokens) {
    if (token.kind != PG_QUERY__TOKEN__PARAM) continue;
    next = std::max<std::uint64_t>(
        next, std::stoull(normalized->substr(token.start + 1, token.end - token.start - 1)) + 1);
  }
  std::string out;
  std::size_t position = 0;
  bool after_comment = false;
  for (const SqlToken& token : *tokens) {
    const std::string gap = normalized->substr(position, token.start - position);
    if (!all_space(gap)) return std::nullopt;
    position = token.end;
    if (IsCommentToken(token.kind)) {
      after_comment = true;
      continue;
    }
    if (after_comment) {
      while (!out.empty() && is_space(out.back())) out.pop_back();
      if (!out.empty()) out.push_back(' ');
      after_comment = false;
    } else {
      out += gap;
    }
    out += IsLiteralToken(token.kind) ? "$" + std::to_string(next++)
                                      : normalized->substr(token.start, token.end - token.start);
  }
  if (!all_space(std::string_view(*normalized).substr(position))) return std::nullopt;
  const std::size_t first = out.find_first_not_of(" \t\n\r\f\v");
  if (first == std::string::npos) return std::string();
  return out.substr(first, out.find_last_not_of(" \t\n\r\f\v") + 1 - first);
}

std::optional<std::string> ReferenceFingerprint(const std::string& sql) {
  PgQueryFingerprintResult result = pg_query_fingerprint(sql.c_str());
  std::optional<std::string> out;
  if (result.error == nullptr && result.fingerprint_str != nullptr) out = result.fingerprint_str;
  pg_query_free_fingerprint_result(result);
  return out;
}

// Statements without setting or option values, in the forms that decide whether normalization
// is needed at all: constants of every kind and keywords the grammar turns into constants, next
// to the same keywords where it does not; comments, quoted identifiers, parameters, typmods,
// ORDER BY and GROUP BY positions, negative numbers, utility and catalog statements, several
// statements, NUL bytes.
std::vector<std::string> DifferentialCorpus() {
  std::vector<std::string> corpus = {
      "SELECT a FROM t WHERE b = $1",
      "SELECT a FROM t WHERE b IS NULL",
      "SELECT a FROM t WHERE b IS NOT NULL AND c = NULL",
      "SELECT a FROM t WHERE b = true",
      "SELECT a FROM t WHERE b IS TRUE AND c IS NOT FALSE",
      "SELECT a FROM t LIMIT ALL",
      "SELECT a FROM t LIMIT /* c */ ALL",
      "SELECT a FROM t WHERE b IS /* c */ NULL",
      "SELECT a FROM t UNION ALL SELECT b FROM u",
      "SELECT count(ALL a) FROM t",
      "SELECT a FROM t WHERE a = ALL($1)",
      "SELECT ALL a FROM t INTERSECT ALL SELECT b FROM u",
      "SELECT EXTRACT(epoch FROM d) FROM t",
      "SELECT x IS NFC NORMALIZED, NORMALIZE(x, NFKC) FROM t",
      "SELECT \"Weird\"\"Col\", \"select\", \"null\" FROM \"T\" WHERE \"x\" = $1",
      "SELECT a -- c\nFROM t",
      "/* app:x */ SELECT a FROM t WHERE b = $1 /* nested /* c */ d */",
      "SELECT U&\"\\0061\" FROM t",
      "SELECT * FROM U&\"\\0070g_class\"",
      "SELECT U&'\\0061' FROM t",
      "SELECT a::varchar(10), b::numeric(10,2) FROM t",
      "SELECT a FROM t ORDER BY 1",
      "SELECT a + 1 FROM t GROUP BY a + 1",
      "SELECT a, count(*) FROM t GROUP BY 1 ORDER BY 2 DESC",
      "SELECT -5, - 5, -(5), - - 5, -'x'",
      "SELECT a FROM t WHERE b = -$1",
      "SELECT d + interval $1 FROM t",
      "SELECT $1::int, $2 FROM t WHERE $3 = a",
      "WITH x AS (SELECT 9) SELECT * FROM x WHERE a = 1 LIMIT 10 OFFSET 20",
      "UPDATE t SET a = 1 FROM (SELECT 2) s WHERE b = 3",
      "INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = EXCLUDED.a RETURNING *",
      "DELETE FROM t USING u WHERE t.a = u.a AND u.b = $1",
      "VALUES ($1, $2), (DEFAULT, NULL)",
      "SELECT * FROM pg_stat_activity WHERE state = $1",
      "SELECT relname FROM pg_class WHERE oid = 5",
      "SELECT a FROM t FETCH FIRST ROW ONLY",
      "SELECT a FROM t FOR UPDATE SKIP LOCKED",
      "SELECT CASE WHEN a THEN NULL ELSE b END, COALESCE(a, NULL) FROM t",
      "SELECT a FROM t WHERE a IS DISTINCT FROM NULL",
      "BEGIN",
      "COMMIT",
      "SHOW work_mem",
      "RESET ALL",
      "DISCARD ALL",
      "LISTEN ch",
      "UNLISTEN *",
      "DROP TABLE t",
      "TRUNCATE t",
      "CREATE TABLE t (a int DEFAULT 5, b text DEFAULT 'x', c varchar(20))",
      "CREATE INDEX i ON t (a) WHERE b IS NULL",
      "ALTER TABLE t ADD COLUMN c int",
      "DO $$BEGIN PERFORM 1; END$$",
      "DO LANGUAGE plpgsql $$BEGIN END$$",
      "CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS $$ SELECT $1 $$",
      "CREATE FUNCTION f(int) RETURNS int LANGUAGE sql RETURN $1 + 1",
      "CREATE SUBSCRIPTION s CONNECTION 'host=x password=y' PUBLICATION p",
      "CREATE ROLE r LOGIN PASSWORD 'pw' VALID UNTIL 'infinity' CONNECTION LIMIT 5",
      "EXPLAIN SELECT a FROM t WHERE b = 1",
      "COPY t TO STDOUT",
      "PREPARE p AS SELECT $1",
      "EXECUTE p(1)",
      "DECLARE c CURSOR FOR SELECT a FROM t WHERE b = 5",
      "FETCH 10 FROM c",
      "CALL p(1, 'x')",
      "GRANT SELECT ON t TO r",
      "SELECT 1; SELECT 2",
      "BEGIN; SELECT a FROM t WHERE b = $1; COMMIT",
      "select 1 ;",
      "",
      "   ",
      "SELECT 'a'\n'b'",
      "SELECT E'\\\\x', B'101', X'ff', 1e5, .5, 5., 1.5e-3",
      "SELECT a FROM t WHERE b ~~ $1 AND c @> ARRAY[$2]::text[]",
      "SELECT * FROM ROWS FROM (f($1)) WITH ORDINALITY AS x(a, n)",
      "SELECT $$x$$, $q$y$q$",
      "SELECT a FROM t WHERE b = 'it''s'",
      "SELECT 'x'abc",
      "SELECT a$1 FROM t",
      "select * from users where email = $1 and deleted_at is null order by id limit $2",
      "SELECT \"users\".\"id\" FROM \"users\" WHERE \"users\".\"email\" = $1 LIMIT $2",
      "SELECT 'é', \"é\", é FROM t",
      "SELECT a FROM t WHERE \"--\" = $1 AND \"/*\" = $2",
      "SELECT a FROM t WHERE b = $1\r\n  AND c = $2\t",
      "\n\tSELECT a FROM t\n",
      "MERGE INTO t USING u ON t.a = u.a WHEN MATCHED THEN UPDATE SET b = u.b",
      "WITH s AS (SELECT 1) MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
      std::string("SELECT a FROM t\0 WHERE b = 'x'", 30),
      std::string("SELECT 1\0", 9),
      std::string("SHOW x\0 -- y", 12),
  };
  // Expressions mixing the pieces above, in the statement kinds that skip normalization.
  const std::vector<std::string> pieces = {"a",           "b",
                                           "$1",          "$2",
                                           "NULL",        "TRUE",
                                           "1",           "'x'",
                                           "-1",          "- $1",
                                           "(a)",         "f(a)",
                                           "a::int",      "a::varchar(3)",
                                           "\"Q\"",       "EXTRACT(year FROM a)",
                                           "interval $1", "interval '1 day'",
                                           "ARRAY[$1]",   "CASE WHEN a THEN b ELSE NULL END",
                                           "a IS NULL",   "a IS NOT NULL",
                                           "$1 /* c */",  "/* c */ a",
                                           "-- c\n a",    "ALL ($1)"};
  const std::vector<std::string> operators = {" = ", " + ", " AND ", " OR ", ", ", " || "};
  const std::vector<std::string> shapes = {
      "SELECT %s FROM t",
      "SELECT a FROM t WHERE %s",
      "SELECT a FROM t WHERE x = %s GROUP BY a ORDER BY 1 LIMIT ALL",
      "UPDATE t SET a = %s WHERE b = $9",
      "INSERT INTO t VALUES (%s)",
      "SELECT %s FROM pg_class",
      "WITH q AS (SELECT %s) SELECT * FROM q",
      "DELETE FROM t WHERE %s RETURNING a"};
  std::mt19937 random(20240607);
  const auto pick = [&random](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(random)];
  };
  for (int i = 0; i < 600; ++i) {
    std::string expression = pick(pieces);
    for (int n = std::uniform_int_distribution<int>(0, 4)(random); n > 0; --n) {
      expression += pick(operators) + pick(pieces);
    }
    std::string sql = pick(shapes);
    sql.replace(sql.find("%s"), 2, expression);
    corpus.push_back(sql);
  }
  return corpus;
}

// The analysis parses each text once and skips normalization where it would change nothing; it
// must give the very text and fingerprint of the analysis that normalized and rescanned.
TEST(StatementText, OneParseAnalysisGivesTheTextAndFingerprintOfNormalizationAndRescan) {
  std::size_t parsed = 0;
  for (const std::string& sql : DifferentialCorpus()) {
    SCOPED_TRACE(sql);
    const std::optional<std::string> fingerprint = ReferenceFingerprint(sql);
    if (!fingerprint) continue;  // does not parse: the scanner's reading, tested on its own
    ++parsed;
    const AnalyzedText analyzed = AnalyzeStatementText(sql, 1);
    EXPECT_EQ(analyzed.text, ReferenceText(sql));
    EXPECT_EQ(analyzed.text_source, TextSource::kParser);
    EXPECT_EQ(analyzed.fingerprint, *fingerprint);
    EXPECT_EQ(ClassifyStatementText(sql, 1).fingerprint, *fingerprint);
    EXPECT_EQ(AnonymizeStatementText(sql).text, analyzed.text);
    EXPECT_EQ(AnonymizeStatementText(sql).text_source, analyzed.text_source);
  }
  EXPECT_GT(parsed, 500u);
}

TEST(StatementText, NamesEveryTextSource) {
  EXPECT_STREQ(TextSourceName(TextSource::kParser), "parser");
  EXPECT_STREQ(TextSourceName(TextSource::kScanner), "scanner");
}

TEST(StatementText, NamesEveryExclusion) {
  EXPECT_STREQ(ExclusionName(Exclusion::kNone), "none");
  EXPECT_STREQ(ExclusionName(Exclusion::kAgentOwn), "agent_own");
  EXPECT_STREQ(ExclusionName(Exclusion::kTransactionControl), "transaction_control");
  EXPECT_STREQ(ExclusionName(Exclusion::kSessionUtility), "session_utility");
  EXPECT_STREQ(ExclusionName(Exclusion::kCatalogOnly), "catalog_only");
}

}  // namespace
}  // namespace optischema::collector
