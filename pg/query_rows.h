#pragma once

// Small catalog reads: a statement with text parameters, its whole result as text rows.

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pg/pg_session.h"

namespace optischema::pg {

// One row in text format; NULL is nullopt.
using Row = std::vector<std::optional<std::string>>;

// Runs `sql` with `params` ($1, $2, ...; nullopt = NULL) through PgSession::StreamWithParams and
// returns every row. For small results only. Errors: those of PgSession.
Result<std::vector<Row>> QueryRows(PgSession& session, std::string_view sql,
                                   const std::vector<std::optional<std::string>>& params = {});

// The number in a text field (an integer or, for floating-point T, a decimal); 0 for NULL or a
// field that does not start with a number.
template <class T>
T NumberIn(const std::optional<std::string>& field) {
  T value{};
  if (field) std::from_chars(field->data(), field->data() + field->size(), value);
  return value;
}

}  // namespace optischema::pg
