// Export of a database's or a statement's history as CSV or JSON (console_pages.h). Rows are the
// buckets of the range's resolution; times are RFC 3339 UTC; averages are over the snapshots in
// the bucket.

#include <chrono>
#include <cmath>
#include <cstdio>

#include "controlplane/console_pages.h"
#include "core/time_format.h"

namespace optischema::controlplane {
namespace {

std::string BucketTime(int64_t bucket_s) {
  return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(bucket_s)));
}

nlohmann::json NumberOrNull(bool present, double value) {
  return present ? nlohmann::json(value) : nlohmann::json();
}

std::string CsvCell(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();  // times only: no comma, no quote
  if (value.is_number_float()) {
    const double v = value.get<double>();
    char text[40];
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
      std::snprintf(text, sizeof text, "%.0f", v);
    } else {
      std::snprintf(text, sizeof text, "%.10g", v);
    }
    return text;
  }
  return value.dump();
}

ApiReply Render(const std::string& format, const std::vector<std::string>& columns,
                const std::vector<std::vector<nlohmann::json>>& rows, nlohmann::json meta,
                const std::string& file_stem) {
  if (format == "json") {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& row : rows) {
      nlohmann::json object = nlohmann::json::object();
      for (std::size_t i = 0; i < columns.size(); ++i) object[columns[i]] = row[i];
      array.push_back(std::move(object));
    }
    meta["rows"] = std::move(array);
    ApiReply reply = ConsoleReply(200, "application/json", meta.dump() + "\n");
    reply.headers.emplace_back("Content-Disposition",
                               "attachment; filename=\"" + file_stem + ".json\"");
    return reply;
  }
  std::string csv;
  for (std::size_t i = 0; i < columns.size(); ++i) csv += (i ? "," : "") + columns[i];
  csv += "\r\n";
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) csv += (i ? "," : "") + CsvCell(row[i]);
    csv += "\r\n";
  }
  ApiReply reply = ConsoleReply(200, "text/csv; charset=utf-8", std::move(csv));
  reply.headers.emplace_back("Content-Disposition",
                             "attachment; filename=\"" + file_stem + ".csv\"");
  return reply;
}

// `text` reduced to digits and '-' (a queryid), for a file name in a header.
std::string FileNamePart(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if ((c >= '0' && c <= '9') || c == '-') out += c;
  }
  return out;
}

}  // namespace

Result<ApiReply> ExportData(const PageContext& context) {
  const std::string agent_id = context.Param("agent");
  const std::string database = context.Param("database");
  const std::string queryid = context.Param("queryid");
  const std::string format = context.Param("format") == "json" ? "json" : "csv";
  const TimeRange range = RangeOf(context.Param("range"));
  const int64_t since = context.now_s - range.seconds;
  nlohmann::json meta = {{"agent_id", agent_id},
                         {"database", database},
                         {"range", range.name},
                         {"resolution_s", static_cast<int64_t>(range.resolution)}};
  std::vector<std::vector<nlohmann::json>> rows;
  if (!queryid.empty()) {
    auto points =
        context.store.StatementSeries(agent_id, database, queryid, range.resolution, since);
    RETURN_IF_ERROR(points);
    for (const StatementPoint& p : *points) {
      rows.push_back({BucketTime(p.bucket_s), p.calls, p.total_exec_ms, p.rows,
                      NumberOrNull(p.calls > 0, p.calls > 0 ? p.total_exec_ms / p.calls : 0),
                      NumberOrNull(p.window_s > 0, p.window_s > 0 ? p.calls / p.window_s : 0),
                      NumberOrNull(p.database_exec_ms > 0,
                                   p.database_exec_ms > 0
                                       ? 100 * p.total_exec_ms / p.database_exec_ms
                                       : 0)});
    }
    meta["queryid"] = queryid;
    return Render(format,
                  {"bucket", "calls", "total_exec_time_ms", "rows", "mean_exec_time_ms",
                   "calls_per_s", "time_pct"},
                  rows, std::move(meta), "statement-" + FileNamePart(queryid));
  }
  auto points = context.store.DatabaseSeries(agent_id, database, range.resolution, since);
  RETURN_IF_ERROR(points);
  for (const DatabasePoint& p : *points) {
    const double n = static_cast<double>(p.samples);
    rows.push_back({BucketTime(p.bucket_s), p.window_s, p.calls, p.total_exec_ms,
                    NumberOrNull(p.samples > 0, p.samples > 0 ? p.tps_sum / n : 0),
                    NumberOrNull(p.samples > 0, p.samples > 0 ? p.connections_sum / n : 0),
                    NumberOrNull(p.cache_hit_samples > 0,
                                 p.cache_hit_samples > 0
                                     ? p.cache_hit_ratio_sum /
                                           static_cast<double>(p.cache_hit_samples)
                                     : 0),
                    p.samples});
  }
  return Render(format,
                {"bucket", "window_s", "calls", "total_exec_time_ms", "tps", "connections",
                 "cache_hit_ratio", "snapshots"},
                rows, std::move(meta), "database");
}

}  // namespace optischema::controlplane
