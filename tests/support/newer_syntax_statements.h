#pragma once

// Statements in PostgreSQL 16, 17 and 18 syntax that PostgreSQL 15's parser (libpg_query 15, the
// agent's) refuses, each with a secret written in a literal: the table the fallback anonymizer is
// tested with (tests/unit/scanner_anonymizer_test.cc), and that tests against a real server can
// run. Every statement is valid and runs without error, as a superuser, on PostgreSQL 18 and on
// every major from its `min_major` on, in a database where kNewerSyntaxSetupSql ran first; run them
// once each, in table order (no statement depends on another's effects, but each creates its
// objects under its own name). COPY ... FROM PROGRAM runs `true` or `printf`. One statement per
// entry, so each can be sent as a prepared statement too.
// Keywords are written in upper case, everything else in lower case, so a test can tell which
// words are the statement's structure.

#include <string>
#include <vector>

namespace optischema::testing {

struct NewerSyntaxStatement {
  const char* sql;
  // What must not survive anonymization: each secret as written; a test derives their digit runs
  // and alphanumeric runs too.
  std::vector<std::string> secrets;
  int min_major;  // the first PostgreSQL major that accepts the statement
};

// The schema the statements use; valid on PostgreSQL 16 and later.
inline constexpr char kNewerSyntaxSetupSql[] = R"sql(
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE accounts (id bigint PRIMARY KEY, owner text, balance numeric, note text, doc jsonb,
                       flags bit(4));
CREATE TABLE ledger (id bigint PRIMARY KEY, account_id bigint, amount numeric, memo text);
CREATE TABLE staging (id bigint PRIMARY KEY, amount numeric, memo text);
CREATE TABLE measured (amount numeric, total numeric GENERATED ALWAYS AS (amount * 2) STORED);
INSERT INTO accounts VALUES (1, 'ann', 10, 'first', '{"items": [{"sku": "a", "qty": 2}], "pin": 7}',
                             B'0001');
INSERT INTO staging VALUES (1, 5, 'moved'), (2, 6, 'new');
)sql";

// The parts of `statement`'s secrets found in `output` (case-insensitively, after removing the
// output's own $n placeholders): each secret itself, each run of letters and digits of it that
// holds a digit (0x5EC7, 5e1, 04), and each run of two or more of its digits. Empty when nothing
// leaked.
std::vector<std::string> LeakedSecretParts(const std::string& output,
                                           const NewerSyntaxStatement& statement);

inline const std::vector<NewerSyntaxStatement>& NewerSyntaxStatements() {
  static const std::vector<NewerSyntaxStatement> statements = {
      // PostgreSQL 16: non-decimal integer literals, underscores in numbers.
      {"SELECT id, owner FROM accounts WHERE id = 0x5EC7 OR balance > 0x1_F4E",
       {"0x5EC7", "5EC7", "0x1_F4E", "F4E"},
       16},
      {"UPDATE accounts SET flags = B'1010', note = 'sekret-note-02' WHERE id = 0o777",
       {"B'1010'", "1010", "sekret-note-02", "0o777", "777"},
       16},
      {"DELETE FROM ledger WHERE account_id = 0b1011 AND memo <> E'sekret\\tescaped-03'",
       {"0b1011", "1011", "sekret", "escaped-03"},
       16},
      {"INSERT INTO ledger (id, account_id, amount, memo) VALUES "
       "(1_000_001, 4111_1111_1111_1111, 1_000.5e1_0, 'sekret-memo-04')",
       {"1_000_001", "4111_1111_1111_1111", "4111", "1111", "1_000.5e1_0", "5e1", "sekret-memo-04"},
       16},
      {"SELECT balance * 1.5e1_0 AS scaled FROM accounts /* sekret-comment-05 */ WHERE id = 1_234",
       {"1.5e1_0", "5e1", "sekret-comment-05", "1_234", "234"},
       16},
      {"SET app.transfer_limit = 0x7FFF_FFFF", {"0x7FFF_FFFF", "7FFF", "FFFF"}, 16},
      {"CREATE FUNCTION answer() RETURNS int LANGUAGE sql SET search_path = sekretschema, public "
       "RETURN 0x2A6F",
       {"sekretschema", "0x2A6F", "2A6F"},
       16},
      // PostgreSQL 16: SQL/JSON constructors and IS JSON.
      {"SELECT JSON_OBJECT('pin': 'sekret-pin-08' ABSENT ON NULL RETURNING jsonb)",
       {"sekret-pin-08"},
       16},
      {"SELECT JSON_ARRAY(owner, 'sekret-array-09', 0x3F NULL ON NULL) FROM accounts",
       {"sekret-array-09", "0x3F"},
       16},
      {"SELECT note IS JSON OBJECT WITH UNIQUE KEYS AS valid FROM accounts\n"
       "-- sekret-line-comment-10\nWHERE owner = $x$sekret-dollar-10$x$",
       {"sekret-line-comment-10", "sekret-dollar-10"},
       16},
      {"SELECT JSON_OBJECTAGG(owner VALUE balance ABSENT ON NULL) FROM accounts "
       "WHERE note <> U&'sekret\\0021unicode-11'",
       {"sekret", "0021", "unicode-11"},
       16},
      {"SELECT JSON_ARRAYAGG(memo ORDER BY id RETURNING jsonb) FROM ledger "
       "WHERE amount < 9_876_543",
       {"9_876_543", "876", "543"},
       16},
      {"SELECT JSON_ARRAY(SELECT owner FROM accounts WHERE note = 'sekret-subquery-13')",
       {"sekret-subquery-13"},
       16},
      {"SELECT JSON_OBJECT('flags': X'1F'::text, 'bits': B'0110'::text)",
       {"X'1F'", "1F", "B'0110'", "0110"},
       16},
      {"CREATE TABLE notes (body text STORAGE EXTERNAL DEFAULT 'sekret-default-15', "
       "size int DEFAULT 0x2B_67)",
       {"sekret-default-15", "0x2B_67", "2B_67"},
       16},
      // PostgreSQL 17: SQL/JSON query functions, JSON_TABLE, MERGE extensions, AT LOCAL.
      {"SELECT JSON_VALUE(doc, '$.pin' RETURNING int DEFAULT 4_821 ON EMPTY) FROM accounts "
       "WHERE owner = 'sekret-owner-16'",
       {"4_821", "821", "sekret-owner-16"},
       17},
      {"SELECT JSON_QUERY(doc, '$.items' WITH WRAPPER) FROM accounts "
       "WHERE JSON_EXISTS(doc, '$.items[*] ? (@.sku == $s)' PASSING 'sekret-sku-17' AS s)",
       {"sekret-sku-17"},
       17},
      {"SELECT jt.sku, jt.qty FROM accounts, JSON_TABLE(doc, '$.items[*]' COLUMNS ("
       "sku text PATH '$.sku', qty int PATH '$.qty' DEFAULT 0o17 ON EMPTY)) AS jt "
       "WHERE accounts.note <> 'sekret-table-18'",
       {"0o17", "sekret-table-18"},
       17},
      {"MERGE INTO ledger AS l USING staging AS s ON l.id = s.id "
       "WHEN MATCHED THEN UPDATE SET amount = s.amount + 1_250 "
       "WHEN NOT MATCHED THEN INSERT (id, account_id, amount, memo) "
       "VALUES (s.id, 0x7B, s.amount, 'sekret-merge-19') RETURNING merge_action(), l.id",
       {"1_250", "250", "0x7B", "sekret-merge-19"},
       17},
      {"MERGE INTO ledger AS l USING staging AS s ON l.id = s.id "
       "WHEN NOT MATCHED BY SOURCE AND l.memo = 'sekret-by-source-20' THEN DELETE "
       "WHEN NOT MATCHED BY TARGET THEN DO NOTHING",
       {"sekret-by-source-20"},
       17},
      {"SELECT now() AT LOCAL AS here, 'sekret-local-21' AS label", {"sekret-local-21"}, 17},
      {"SELECT JSON('{\"pin\": \"sekret-json-22\"}' WITH UNIQUE KEYS), "
       "JSON_SCALAR(3_141_592)",
       {"sekret-json-22", "3_141_592", "141", "592"},
       17},
      {"ALTER TABLE measured ALTER COLUMN total SET EXPRESSION AS (amount * 0x64 + 0.0_7)",
       {"0x64", "0.0_7"},
       17},
      {"SELECT JSON_SERIALIZE(JSON_SCALAR(E'sekret\\x41serialized-24') RETURNING bytea)",
       {"sekret", "x41", "serialized-24"},
       17},
      // PostgreSQL 18: RETURNING OLD/NEW, virtual generated columns, WITHOUT OVERLAPS,
      // NOT ENFORCED, COPY's REJECT_LIMIT.
      {"UPDATE accounts SET balance = balance - 0x3E8 WHERE owner = 'sekret-returning-25' "
       "RETURNING WITH (OLD AS o, NEW AS n) o.balance, n.balance",
       {"0x3E8", "3E8", "sekret-returning-25"},
       18},
      {"INSERT INTO staging (id, amount, memo) VALUES (3, 1_5, 'sekret-new-26') "
       "ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount RETURNING old.amount, new.amount",
       {"1_5", "sekret-new-26"},
       18},
      {"CREATE TABLE fees (amount numeric, fee numeric GENERATED ALWAYS AS (amount * 0.0_25) "
       "VIRTUAL, memo text DEFAULT 'sekret-virtual-27')",
       {"0.0_25", "sekret-virtual-27"},
       18},
      {"CREATE TABLE reservations (room int, during tstzrange, note text DEFAULT "
       "'sekret-overlaps-28', PRIMARY KEY (room, during WITHOUT OVERLAPS))",
       {"sekret-overlaps-28"},
       18},
      {"ALTER TABLE ledger ADD CONSTRAINT memo_check CHECK (memo <> 'sekret-check-29') "
       "NOT ENFORCED",
       {"sekret-check-29"},
       18},
      {"COPY staging (id, memo) FROM PROGRAM 'printf \"9,sekret-copy-30\\n\"' WITH "
       "(FORMAT csv, ON_ERROR ignore, REJECT_LIMIT 1_000, LOG_VERBOSITY silent)",
       {"sekret-copy-30", "1_000"},
       18},
      {"COPY staging FROM PROGRAM 'true' WITH (FORMAT csv, ON_ERROR ignore, "
       "NULL 'sekret-null-31', REJECT_LIMIT 0x10)",
       {"sekret-null-31", "0x10"},
       18},
  };
  return statements;
}

}  // namespace optischema::testing
