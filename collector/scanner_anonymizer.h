#pragma once

// Statement texts read token by token with PostgreSQL 15's scanner (libpg_query's pg_query_scan),
// and the fallback anonymizer for texts PostgreSQL 15's parser refuses: statements in a newer
// PostgreSQL's syntax (JSON_TABLE, MERGE ... RETURNING, 0x1F and 1_000 literals, ...).
// Pure functions, no database access; safe to call from several threads at once. They throw only
// what allocation throws (std::bad_alloc).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace optischema::collector {

// One token of PostgreSQL 15's scanner.
struct SqlToken {
  std::size_t start;
  std::size_t end;   // one past the last byte, as the scanner reports it (see ScanSqlTokens)
  int kind;          // PgQuery__Token
  int keyword_kind;  // PgQuery__KeywordKind: 0 for a token that is not a keyword
};

// The tokens of `text` up to its first NUL byte (what libpg_query reads of it), in text order,
// comments included. nullopt when the scanner rejects the text or reports positions that are out
// of range, overlapping or out of order. The scanner reports U&'...' literals and U&"..."
// identifiers shorter than they are (zero bytes, one byte): callers that cut text by position
// must check that only whitespace lies between tokens.
std::optional<std::vector<SqlToken>> ScanSqlTokens(std::string_view text);

bool IsLiteralToken(int kind);  // string, bit string and number literals
bool IsCommentToken(int kind);  // -- and /* */ comments

// For each of `tokens` (ScanSqlTokens' result for one text), whether it is a word (identifier or
// keyword that is not reserved) written as a setting or option value:
//   - the values of a setting: SET [SESSION | LOCAL] name {= | TO} value [, value ...], also in
//     ALTER ROLE | DATABASE | SYSTEM | FUNCTION ... SET and CREATE FUNCTION ... SET (a SET that
//     follows UPDATE, or UPDATE and a table name, assigns columns and is not a setting), and
//     after SET ROLE, SET SESSION AUTHORIZATION, SET TIME ZONE, SET NAMES and SET SCHEMA: each
//     value one word or literal after an optional sign, the list ending at the first value not
//     followed by a comma;
//   - in a parenthesized option list (one that follows WITH, SET, RESET or OPTIONS, the EXPLAIN,
//     VACUUM, ANALYZE, REINDEX or CLUSTER that starts a statement, or STDIN, STDOUT or a string in
//     a COPY): the words of an element after its name (`name`, `name.name`, after SET, ADD or
//     DROP in ALTER ... OPTIONS) and its optional `=`.
// Reads the text's statements (split at `;`) by their tokens only, so it errs towards marking.
std::vector<bool> SettingAndOptionValues(const std::vector<SqlToken>& tokens);

// Anonymizes a statement text that PostgreSQL 15's parser refuses, from the scanner's tokens:
//   - every literal (strings of every kind: '', E'', U&'', N'', dollar-quoted; bit strings;
//     numbers) becomes $n, n counting up from the highest $n parameter of the text;
//   - every run of words, numbers, parameters, strings and `.` written without whitespace between
//     them that holds a literal becomes one $n: PostgreSQL 15's scanner rejects 0x1F, 0o17, 0b101,
//     1_000 and 1.5e1_0 as "trailing junk", so each such number, with every letter, digit, `_`, `.`
//     and exponent sign glued to it, is first replaced in a copy of the text by a 0 padded with
//     spaces and the text scanned again, and a word glued to a number goes with it;
//   - every word SettingAndOptionValues marks becomes $n;
//   - a token of a kind the scanner does not name, or followed by anything but whitespace before
//     the next token (the scanner's short U&'...' and U&"..." tokens), becomes $n, with what
//     follows it up to the next token;
//   - comments are dropped; keywords, identifiers, parameters, operators and punctuation are kept;
//   - tokens are joined with one space where the text had whitespace or a comment between them,
//     with nothing where it had nothing, except that a $n and a word glued to it are kept apart.
// nullopt when the text holds a NUL byte, the scanner rejects it for another reason than such a
// number (an unterminated string, comment or quoted identifier), or more than 256 numbers need
// replacing. Never returns raw input: no literal, comment or value is kept.
std::optional<std::string> AnonymizeWithScanner(std::string_view text);

}  // namespace optischema::collector
