#include "pg/query_rows.h"

namespace optischema::pg {

Result<std::vector<Row>> QueryRows(PgSession& session, std::string_view sql,
                                   const std::vector<std::optional<std::string>>& params) {
  std::vector<Row> rows;
  Status status = session.StreamWithParams(sql, params, [&](RowFields fields) {
    Row row;
    row.reserve(fields.size());
    for (const auto& field : fields) {
      row.push_back(field ? std::optional<std::string>(std::string(*field)) : std::nullopt);
    }
    rows.push_back(std::move(row));
    return true;
  });
  RETURN_IF_ERROR(status);
  return rows;
}

}  // namespace optischema::pg
