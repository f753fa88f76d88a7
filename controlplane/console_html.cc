#include "controlplane/console_html.h"

#include <cmath>
#include <ctime>

#include "controlplane/console_http.h"
#include "controlplane/json_members.h"
#include "core/utf8.h"

namespace optischema::controlplane {
namespace {

struct NavEntry {
  const char* path;
  const char* label;
  Role needs;
};

constexpr NavEntry kNavigation[] = {
    {"/overview", "Overview", Role::kViewer},
    {"/recommendations", "Recommendations", Role::kViewer},
    {"/advisor", "Index advisor", Role::kViewer},
    {"/before-after", "Before and after", Role::kViewer},
    {"/audit", "Audit", Role::kViewer},
    {"/users", "Users and keys", Role::kAdmin},
};

std::string Fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const std::size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (length > 1) {
      out.append(text.substr(i, length));
      i += length;
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
    ++i;
  }
  return out;
}

std::string RenderPage(const PageFrame& frame, const std::string& body) {
  std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      Escape(frame.title) +
      " · OptiSchema console</title>"
      "<link rel=\"stylesheet\" href=\"/static/console.css\">"
      "<script src=\"/static/chart.js\" defer></script>"
      "<script src=\"/static/console.js\" defer></script></head><body>";
  html += "<header><span class=\"brand\">OptiSchema console</span>";
  if (!frame.user.empty()) {
    html += "<nav>";
    for (const NavEntry& entry : kNavigation) {
      if (frame.role < entry.needs) continue;
      html += std::string("<a href=\"") + entry.path + "\"" +
              (frame.active == entry.path ? " class=\"active\"" : "") + ">" + entry.label + "</a>";
    }
    html += "</nav><span class=\"who\"><a href=\"/password\">" + Escape(frame.user) + "</a> (" +
            std::string(RoleName(frame.role)) + ")</span>" +
            RenderPostForm("/logout", frame.csrf_token, {}, "", "Log out", "logout");
  }
  html += "</header><main>";
  html += "<h1>" + Escape(frame.title) + "</h1>";
  html += body;
  html += "</main></body></html>\n";
  return html;
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::string html = "<table><thead><tr>";
  for (const std::string& h : header) html += "<th>" + Escape(h) + "</th>";
  html += "</tr></thead><tbody>";
  for (const auto& row : rows) {
    html += "<tr>";
    for (const std::string& cell : row) html += "<td>" + cell + "</td>";
    html += "</tr>";
  }
  if (rows.empty()) {
    html += "<tr><td class=\"empty\" colspan=\"" + std::to_string(header.size()) +
            "\">nothing yet</td></tr>";
  }
  html += "</tbody></table>";
  return html;
}

std::string RenderPostForm(const std::string& action, const std::string& csrf_token,
                           const std::vector<std::pair<std::string, std::string>>& fields,
                           const std::string& inputs, const std::string& label,
                           const std::string& css_class) {
  std::string html = "<form method=\"post\" action=\"" + Escape(action) + "\"";
  if (!css_class.empty()) html += " class=\"" + Escape(css_class) + "\"";
  html += "><input type=\"hidden\" name=\"csrf\" value=\"" + Escape(csrf_token) + "\">";
  for (const auto& [name, value] : fields) {
    html += "<input type=\"hidden\" name=\"" + Escape(name) + "\" value=\"" + Escape(value) + "\">";
  }
  html += inputs + "<button type=\"submit\">" + Escape(label) + "</button></form>";
  return html;
}

std::string RenderChart(const std::string& id, const std::string& title, const std::string& type,
                        const std::vector<std::string>& labels,
                        const std::vector<ChartSeries>& series) {
  nlohmann::json datasets = nlohmann::json::array();
  for (const ChartSeries& s : series) {
    nlohmann::json data = nlohmann::json::array();
    for (const auto& v : s.values) {
      data.push_back(v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json());
    }
    datasets.push_back({{"label", s.label}, {"data", data}});
  }
  const nlohmann::json config = {{"type", type},
                                 {"title", title},
                                 {"labels", labels},
                                 {"datasets", datasets}};
  return "<figure class=\"chart\"><figcaption>" + Escape(title) +
         "</figcaption><div class=\"plot\"><canvas id=\"" +
         Escape(id) + "\" data-chart=\"" +
         Escape(config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) +
         "\"></canvas></div></figure>";
}

std::string Badge(std::string_view text) {
  return "<span class=\"badge badge-" + Escape(text) + "\">" + Escape(text) + "</span>";
}

std::string FormatMs(double ms) {
  if (ms >= 1000) return Fixed(ms / 1000, 2) + " s";
  if (ms >= 10) return Fixed(ms, 1) + " ms";
  return Fixed(ms, 3) + " ms";
}

std::string FormatNumber(double value) {
  const double a = std::fabs(value);
  if (a >= 1e9) return Fixed(value / 1e9, 1) + " G";
  if (a >= 1e6) return Fixed(value / 1e6, 1) + " M";
  if (a >= 1e4) return Fixed(value / 1e3, 1) + " k";
  if (a == std::floor(a)) return Fixed(value, 0);
  return Fixed(value, 2);
}

std::string NumberCell(const nlohmann::json& object, const char* key) {
  const std::optional<double> value = NumberMember(object, key);
  return value ? FormatNumber(*value) : "-";
}

std::string FormatPercent(double fraction) { return Fixed(fraction * 100, 1) + " %"; }

std::string FormatBucket(int64_t bucket_s, bool with_date) {
  const std::time_t t = static_cast<std::time_t>(bucket_s);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, with_date ? "%m-%d %H:%M" : "%H:%M", &utc);
  return text;
}

std::string FormatAgo(int64_t then_s, int64_t now_s) {
  const int64_t d = now_s - then_s;
  if (d < 60) return std::to_string(d < 0 ? 0 : d) + " s ago";
  if (d < 3600) return std::to_string(d / 60) + " min ago";
  if (d < 48 * 3600) return std::to_string(d / 3600) + " h ago";
  return std::to_string(d / 86400) + " days ago";
}

}  // namespace optischema::controlplane
