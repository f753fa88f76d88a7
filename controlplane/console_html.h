#pragma once

// Building the console's HTML: escaping, the page frame (navigation, the signed-in user, the
// logout form), tables, forms carrying the CSRF token, and charts as data for console.js (no
// inline script: a chart is a <canvas> whose data-chart attribute holds its Chart.js config).
//
// Every text from the store, the agents or the request goes through Escape; ids in URLs through
// UrlEncode (console_http.h). Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/console_records.h"

namespace optischema::controlplane {

// `text` with & < > " ' as character references; bytes that are not UTF-8 become U+FFFD.
std::string Escape(std::string_view text);

struct PageFrame {
  std::string title;
  std::string user;  // empty on the login page
  Role role = Role::kViewer;
  std::string csrf_token;
  std::string active;  // the navigation entry to highlight (its path)
};

// The whole document around `body`.
std::string RenderPage(const PageFrame& frame, const std::string& body);

// <table> with a header row; cells are HTML already (escape text before).
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// A POST form to `action` with the CSRF token, hidden `fields` (name, value), `inputs` HTML
// (text boxes, already built) and a submit button labelled `label`.
std::string RenderPostForm(const std::string& action, const std::string& csrf_token,
                           const std::vector<std::pair<std::string, std::string>>& fields,
                           const std::string& inputs, const std::string& label,
                           const std::string& css_class = "");

struct ChartSeries {
  std::string label;
  std::vector<std::optional<double>> values;  // one per label; none: a gap
};

// A <canvas> for a line chart (or "bar") titled `title` over `labels`; `id` names it for tests.
std::string RenderChart(const std::string& id, const std::string& title, const std::string& type,
                        const std::vector<std::string>& labels,
                        const std::vector<ChartSeries>& series);

// A status or risk word as a coloured badge.
std::string Badge(std::string_view text);

// Numbers for people: "1.23 ms", "12.5 %", "3.4 k".
std::string FormatMs(double ms);
std::string FormatNumber(double value);
std::string FormatPercent(double fraction);  // 0.125 → "12.5 %"
// FormatNumber of the number member `key` of `object`, or "-" when there is none.
std::string NumberCell(const nlohmann::json& object, const char* key);
// "14:05" or "12-06 14:00" (UTC) for a bucket label.
std::string FormatBucket(int64_t bucket_s, bool with_date);
// "3 min ago", "2 h ago" between `then_s` and `now_s`.
std::string FormatAgo(int64_t then_s, int64_t now_s);

}  // namespace optischema::controlplane
