#pragma once

// The mark on every statement the agent runs, so that the collector and the advisor recognise the
// agent's own work in pg_stat_statements and pg_stat_activity. The mark is a comment right after
// the statement's first word ("SELECT /* optischema-agent */ …"), not before it: PostgreSQL 18's
// pg_stat_statements keeps a statement's text from its first token, dropping a leading comment.

#include <string>
#include <string_view>

namespace optischema::pg {

inline constexpr std::string_view kAgentMarker = "/* optischema-agent */";

// `sql` with kAgentMarker after its first word (letters and '_'), or before it when it does not
// start with a word. LibpqSession marks every text it sends.
std::string MarkStatement(std::string_view sql);

// Whether a statement text as pg_stat_statements keeps it was marked: kAgentMarker right after
// its first word, or leading it (how servers before 18 keep a text marked in front).
bool IsMarkedStatement(std::string_view text);

// A SQL condition, true when the text in `column` is marked as IsMarkedStatement says.
std::string MarkedStatementCondition(std::string_view column);

}  // namespace optischema::pg
