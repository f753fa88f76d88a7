#include "collector/scanner_anonymizer.h"

#include <gtest/gtest.h>
#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/statement_text.h"
#include "tests/support/newer_syntax_statements.h"

namespace optischema::collector {
namespace {

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// The words of `sql` written in upper case outside literals, numbers, comments and quoted
// identifiers: the keywords and names the table's statements keep (literal prefixes E, B, X, N,
// U& aside).
std::vector<std::string> StructureWords(std::string_view sql) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'') {
      const bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
      for (++i; i < sql.size(); ++i) {
        if (escapes && sql[i] == '\\') {
          ++i;
        } else if (sql[i] == '\'') {
          if (i + 1 < sql.size() && sql[i + 1] == '\'') {
            ++i;
          } else {
            break;
          }
        }
      }
      ++i;
    } else if (c == '"') {
      i = sql.find('"', i + 1);
      i = i == std::string_view::npos ? sql.size() : i + 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) i = sql.size();
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      i = sql.find("*/", i + 2);
      i = i == std::string_view::npos ? sql.size() : i + 2;
    } else if (c == '$' && i + 1 < sql.size() && !IsDigit(sql[i + 1])) {
      const std::size_t tag_end = sql.find('$', i + 1);
      const std::string_view tag = sql.substr(i, tag_end - i + 1);
      const std::size_t close = sql.find(tag, tag_end + 1);
      i = close == std::string_view::npos ? sql.size() : close + tag.size();
    } else if (IsDigit(c)) {
      while (i < sql.size() && (IsAlnum(sql[i]) || sql[i] == '_' || sql[i] == '.')) ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t end = i;
      while (end < sql.size() && (IsAlnum(sql[end]) || sql[end] == '_')) ++end;
      const std::string word(sql.substr(i, end - i));
      const bool prefix = end < sql.size() && (sql[end] == '\'' || sql[end] == '&');
      const bool upper = std::none_of(word.begin(), word.end(), [](char b) {
        return std::islower(static_cast<unsigned char>(b)) != 0;
      });
      if (!prefix && upper && word.size() >= 2) words.push_back(word);
      i = end;
    } else {
      ++i;
    }
  }
  return words;
}

bool ContainsWord(const std::string& text, const std::string& word) {
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool starts = at == 0 || !(IsAlnum(text[at - 1]) || text[at - 1] == '_');
    const std::size_t end = at + word.size();
    const bool ends = end == text.size() || !(IsAlnum(text[end]) || text[end] == '_');
    if (starts && ends) return true;
  }
  return false;
}

bool Parses(const char* sql) {
  PgQueryParseResult result = pg_query_parse(sql);
  const bool ok = result.error == nullptr;
  pg_query_free_parse_result(result);
  return ok;
}

TEST(ScannerAnonymizer, NewerSyntaxStatementsLeaveWithoutSecretsOrCommentsAndKeepTheirStructure) {
  const std::vector<optischema::testing::NewerSyntaxStatement>& statements =
      optischema::testing::NewerSyntaxStatements();
  ASSERT_GE(statements.size(), 25u);
  for (const optischema::testing::NewerSyntaxStatement& statement : statements) {
    SCOPED_TRACE(statement.sql);
    EXPECT_GE(statement.min_major, 16);
    EXPECT_LE(statement.min_major, 18);
    EXPECT_FALSE(Parses(statement.sql)) << "PostgreSQL 15's parser reads it";
    const AnalyzedText analyzed = AnalyzeStatementText(statement.sql, 1);
    ASSERT_TRUE(analyzed.text.has_value());
    EXPECT_EQ(analyzed.text_source, TextSource::kScanner);
    const std::string& text = *analyzed.text;
    for (const std::string& leaked : optischema::testing::LeakedSecretParts(text, statement)) {
      ADD_FAILURE() << "leaked " << leaked << " in: " << text;
    }
    EXPECT_EQ(text.find("--"), std::string::npos) << text;
    EXPECT_EQ(text.find("/*"), std::string::npos) << text;
    for (const std::string& word : StructureWords(statement.sql)) {
      EXPECT_TRUE(ContainsWord(text, word)) << "lost " << word << " in: " << text;
    }
    EXPECT_EQ(AnonymizeWithScanner(statement.sql), analyzed.text);
  }
}

TEST(ScannerAnonymizer, ReplacesEveryKindOfLiteralAndDropsComments) {
  EXPECT_EQ(AnonymizeWithScanner("SELEC 'a', E'b\\'c', U&'d\\0061' UESCAPE '\\', N'e', B'101', "
                                 "X'1F', $$f$$, $t$g$t$, 12, 3.5e-7, .5 -- tail\nFROM t /* x */"),
            "SELEC $1, $2, $3 UESCAPE $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM t");
}

TEST(ScannerAnonymizer, NumbersInNewerSyntaxBecomeOnePlaceholderEach) {
  EXPECT_EQ(AnonymizeWithScanner("SELEC 0x1F, 0o17, 0b101, 1_000_000, 1_000.5e1_0, .5e-1_0, "
                                 "4111_1111_1111_1111 + 1.5e+1_0, 0xDEAD_BEEF"),
            "SELEC $1, $2, $3, $4, $5, $6, $7 + $8, $9");
  EXPECT_EQ(AnonymizeWithScanner("SELEC a.0x1F, (0x1F)::int, -1_0"), "SELEC $1, ($2)::int, -$3");
}

TEST(ScannerAnonymizer, NumbersAfterMultibyteCharactersAreFoundByCharacterPosition) {
  EXPECT_EQ(AnonymizeWithScanner("SELEC 'é', \"ü\", 0x1F, 1_000"), "SELEC $1, \"ü\", $2, $3");
}

TEST(ScannerAnonymizer, WordsGluedToNumbersGoWithThem) {
  // PostgreSQL 15 reads `1.x` as a number and a word: both are replaced together.
  EXPECT_EQ(AnonymizeWithScanner("SELEC 1.x, $1abc, t1.c2"), "SELEC $1, $2, t1.c2");
}

TEST(ScannerAnonymizer, NumbersFollowTheHighestParameter) {
  EXPECT_EQ(AnonymizeWithScanner("SELEC $3, 'x', $1, 7"), "SELEC $3, $4, $1, $5");
}

TEST(ScannerAnonymizer, KeepsKeywordsIdentifiersOperatorsAndSpacing) {
  EXPECT_EQ(AnonymizeWithScanner("  SELEC  \"Weird Col\",a::int\n\tFROM   s.t  WHERE x<>$1 ; "),
            "SELEC \"Weird Col\",a::int FROM s.t WHERE x<>$1 ;");
}

TEST(ScannerAnonymizer, ReplacesSettingValuesWrittenAsWords) {
  const std::pair<const char*, const char*> cases[] = {
      {"SET app.key = secret_word, 'x', -5 SELEC", "SET app.key = $1, $2, -$3 SELEC"},
      {"SET LOCAL search_path TO secret_a, \"Secret B\"; SELEC 1_0",
       "SET LOCAL search_path TO $1, $2; SELEC $3"},
      {"ALTER ROLE r IN DATABASE d SET app.k TO secret_word; SELEC 0x1",
       "ALTER ROLE r IN DATABASE d SET app.k TO $1; SELEC $2"},
      {"SET ROLE secret_role; SET SESSION AUTHORIZATION secret_user; SET TIME ZONE secret_zone; "
       "SELEC 1_0",
       "SET ROLE $1; SET SESSION AUTHORIZATION $2; SET TIME ZONE $3; SELEC $4"},
      // UPDATE's SET assigns columns: the column names on the right stay.
      {"UPDATE ONLY s.t AS x SET a = b, c = 0x1 WHERE d = e",
       "UPDATE ONLY s.t AS x SET a = b, c = $1 WHERE d = e"},
      {"MERGE INTO t USING u ON t.a = u.a WHEN MATCHED THEN UPDATE SET b = u.b RETURNING 0x1",
       "MERGE INTO t USING u ON t.a = u.a WHEN MATCHED THEN UPDATE SET b = u.b RETURNING $1"},
      // A clause after the values ends them.
      {"CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = secret_s IMMUTABLE "
       "RETURN 0x1",
       "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = $1 IMMUTABLE RETURN $2"},
  };
  for (const auto& [sql, expected] : cases) {
    EXPECT_EQ(AnonymizeWithScanner(sql).value_or("<nullopt>"), expected) << sql;
  }
}

TEST(ScannerAnonymizer, ReplacesOptionValuesInParenthesizedLists) {
  const std::pair<const char*, const char*> cases[] = {
      {"COPY t FROM STDIN (FORMAT csv, ON_ERROR ignore, FORCE_NULL (a, b), REJECT_LIMIT 1_0)",
       "COPY t FROM STDIN (FORMAT $1, ON_ERROR $2, FORCE_NULL ($3, $4), REJECT_LIMIT $5)"},
      {"CREATE TABLE t (a int) WITH (toast.fillfactor = secret_word, b = 0x1)",
       "CREATE TABLE t (a int) WITH (toast.fillfactor = $1, b = $2)"},
      {"EXPLAIN (ANALYZE, FORMAT secret_word) SELEC 0x1", "EXPLAIN (ANALYZE, FORMAT $1) SELEC $2"},
      {"ALTER SERVER s OPTIONS (SET host secret_host, ADD port '1', DROP dbname) 0x1",
       "ALTER SERVER s OPTIONS (SET host $1, ADD port $2, DROP dbname) $3"},
      // Column lists are not option lists.
      {"INSERT INTO t (secret_col) VALUES (other_col) RETURNING 0x1",
       "INSERT INTO t (secret_col) VALUES (other_col) RETURNING $1"},
  };
  for (const auto& [sql, expected] : cases) {
    EXPECT_EQ(AnonymizeWithScanner(sql).value_or("<nullopt>"), expected) << sql;
  }
}

TEST(ScannerAnonymizer, ReplacesTokensTheScannerCannotPlace) {
  // U&'...' and U&"..." are reported shorter than they are; `$` alone is no token kind it names.
  EXPECT_EQ(AnonymizeWithScanner("SELEC U&'secret', U&\"secret\" /* c */, $secret, 1"),
            "SELEC $1, $2 , $3, $4");
}

TEST(ScannerAnonymizer, TextTheScannerRejectsHasNoText) {
  for (const char* sql : {"SELEC 'unterminated", "SELEC $$unterminated", "SELEC \"unterminated",
                          "SELEC /* unterminated"}) {
    EXPECT_EQ(AnonymizeWithScanner(sql), std::nullopt) << sql;
  }
  EXPECT_EQ(AnonymizeWithScanner(std::string("SELEC 1\0 'x'", 12)), std::nullopt);
}

TEST(ScannerAnonymizer, ReplacesAtMost256NumbersInNewerSyntax) {
  std::string sql = "SELEC 0x1";
  for (int i = 1; i < 256; ++i) sql += ", 0x1";
  ASSERT_TRUE(AnonymizeWithScanner(sql).has_value());
  EXPECT_EQ(AnonymizeWithScanner(sql + ", 0x1"), std::nullopt);
}

TEST(ScannerAnonymizer, MarksSettingAndOptionValuesAmongTheTokens) {
  const std::string sql = "SET a = b; UPDATE t SET c = d; ALTER TABLE t SET (e = f)";
  const std::optional<std::vector<SqlToken>> tokens = ScanSqlTokens(sql);
  ASSERT_TRUE(tokens.has_value());
  const std::vector<bool> values = SettingAndOptionValues(*tokens);
  ASSERT_EQ(values.size(), tokens->size());
  std::vector<std::string> marked;
  for (std::size_t i = 0; i < tokens->size(); ++i) {
    if (values[i])
      marked.push_back(sql.substr((*tokens)[i].start, (*tokens)[i].end - (*tokens)[i].start));
  }
  EXPECT_EQ(marked, (std::vector<std::string>{"b", "f"}));
}

TEST(ScannerAnonymizer, ScansTokensWithTheirPositions) {
  const std::optional<std::vector<SqlToken>> tokens = ScanSqlTokens("SELECT a /* c */ , 'x'");
  ASSERT_TRUE(tokens.has_value());
  ASSERT_EQ(tokens->size(), 5u);
  EXPECT_EQ((*tokens)[0].start, 0u);
  EXPECT_EQ((*tokens)[0].end, 6u);
  EXPECT_NE((*tokens)[0].keyword_kind, 0);
  EXPECT_TRUE(IsCommentToken((*tokens)[2].kind));
  EXPECT_TRUE(IsLiteralToken((*tokens)[4].kind));
  EXPECT_FALSE(ScanSqlTokens("SELECT 'open").has_value());
}

}  // namespace
}  // namespace optischema::collector
