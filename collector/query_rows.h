#pragma once

// Small catalog reads: a statement with text parameters, its whole result as text rows.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/pg_session.h"
#include "core/result.h"

namespace optischema::collector {

// One row in text format; NULL is nullopt.
using Row = std::vector<std::optional<std::string>>;

// Runs `sql` with `params` ($1, $2, ...; nullopt = NULL) through PgSession::StreamWithParams and
// returns every row. For small results only. Errors: those of PgSession.
Result<std::vector<Row>> QueryRows(PgSession& session, std::string_view sql,
                                   const std::vector<std::optional<std::string>>& params = {});

}  // namespace optischema::collector
