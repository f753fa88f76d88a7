#pragma once

// Statement text analysis with libpg_query: anonymization, fingerprint and filter classification.
// Pure functions, no database access; safe to call from several threads at once.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/snapshot.h"

namespace optischema::collector {

// Why a statement is left out of snapshots. Decided once per statement, from the parse tree.
enum class Exclusion {
  kNone,                // user workload: sent
  kAgentOwn,            // marked by the agent (pg::IsMarkedStatement)
  kTransactionControl,  // BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, PREPARE TRANSACTION...
  kSessionUtility,      // SET, RESET, SHOW, DISCARD, DEALLOCATE, LISTEN, UNLISTEN
  kCatalogOnly,         // every relation it reads is in pg_catalog / information_schema
};
const char* ExclusionName(Exclusion e);

// Which reading of a text produced its anonymized text: kParser, PostgreSQL 15's parser (the text
// parses), or kScanner, its scanner alone (AnonymizeWithScanner: the text does not parse). The
// wire type, so that the snapshot carries it as it is.
using protocol::TextSource;
using protocol::TextSourceName;

struct AnalyzedText {
  // Anonymized text: constants replaced by $n, comments removed, no literal of any kind left.
  // From the parse tree when the text parses; otherwise from the scanner's tokens
  // (AnonymizeWithScanner in scanner_anonymizer.h), for statements in a newer PostgreSQL's syntax.
  // nullopt when the text parses but cannot be rescanned cleanly after normalization or its
  // setting and option values cannot be located with certainty, or when it does not parse and
  // the scanner rejects it too: the raw text is never returned.
  std::optional<std::string> text;
  // Which reading produced `text` (kParser when there is none).
  TextSource text_source = TextSource::kParser;
  // 16 lowercase hex digits. libpg_query's fingerprint when the text parses, of the text with
  // every setting and option value replaced by one placeholder (of the queryid alone when those
  // values cannot be located with certainty); otherwise a hash of the scanner's tokens in which
  // literals, comments and the words SettingAndOptionValues (scanner_anonymizer.h) marks count
  // as one tag each, or of the queryid alone when even scanning fails. Never a function of a
  // literal's value, nor of a setting or option value.
  std::string fingerprint;
  // Text that does not parse is kNone unless the agent marked it.
  Exclusion exclusion = Exclusion::kNone;
};

// Analyzes one pg_stat_statements query text. `queryid` is used only for the last-resort
// fingerprint. Never throws; never returns raw input. Parses the text once; libpg_query parses it
// a second time only to normalize a text that holds constants (pg_query_normalize takes text, not
// a tree), and a text with setting or option values is parsed again with them replaced.
AnalyzedText AnalyzeStatementText(std::string_view raw_text, int64_t queryid);

// AnalyzeStatementText without the anonymized text (`text` is nullopt): the exclusion and the
// fingerprint, for statements whose text is not needed yet. Never throws.
AnalyzedText ClassifyStatementText(std::string_view raw_text, int64_t queryid);

// The `text` and `text_source` of AnalyzeStatementText alone (the fingerprint is left empty and
// the exclusion kNone), for a statement already classified. Never throws; never returns raw input.
AnalyzedText AnonymizeStatementText(std::string_view raw_text);

// Anonymizes a fragment of SQL that is not a statement (a column default, a constraint
// definition) the way statement texts are: `prefix` + `fragment` must parse as one statement
// (e.g. prefix "SELECT " for an expression); returns the anonymized fragment without the prefix,
// or nullopt when it does not parse (no scanner fallback). Never returns raw input.
std::optional<std::string> AnonymizeFragment(std::string_view prefix, std::string_view fragment);

}  // namespace optischema::collector
