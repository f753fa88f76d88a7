// What every console page shares: its context, ranges, links and the message page
// (console_pages.h).

#include <array>

#include "controlplane/console_pages.h"
#include "core/time_format.h"

namespace optischema::controlplane {
namespace {

constexpr int64_t kHour = 3600;
constexpr std::array<std::pair<const char*, int64_t>, 5> kRanges = {{{"1h", kHour},
                                                                     {"6h", 6 * kHour},
                                                                     {"24h", 24 * kHour},
                                                                     {"7d", 7 * 24 * kHour},
                                                                     {"14d", 14 * 24 * kHour}}};

}  // namespace

PageFrame PageContext::Frame(const std::string& title, const std::string& active) const {
  return {title, session.user.name, session.user.role, session.session.csrf_token, active};
}

std::string PageContext::Param(const std::string& name) const {
  const auto& values = request.method == "POST" ? request.form : request.query;
  const auto it = values.find(name);
  return it == values.end() ? std::string() : it->second;
}

Status PageContext::Record(const std::string& action, const std::string& target,
                           const std::string& detail) const {
  return store.AddConsoleAudit({"", session.user.name, action, target, request.address, detail});
}

TimeRange RangeOf(const std::string& name) {
  for (const auto& [range_name, seconds] : kRanges) {
    if (name == range_name) {
      return {range_name, seconds,
              seconds <= 24 * kHour ? Resolution::kMinute : Resolution::kHour};
    }
  }
  return {"24h", 24 * kHour, Resolution::kMinute};
}

std::string RenderRanges(const std::string& path, const std::string& query,
                         const TimeRange& active) {
  std::string html = "<p class=\"ranges\">Period: ";
  for (const auto& [name, seconds] : kRanges) {
    const std::string href =
        path + (query.empty() ? "?" : query + "&") + "range=" + std::string(name);
    html += "<a href=\"" + Escape(href) + "\"" +
            (active.name == name ? " class=\"active\"" : "") + ">" + name + "</a>";
  }
  return html + "</p>";
}

int64_t UnixSeconds(const std::string& rfc3339) {
  const auto parsed = ParseRfc3339(rfc3339);
  if (!parsed) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(parsed->time_since_epoch()).count();
}

std::string DatabaseQuery(const std::string& agent_id, const std::string& database) {
  return "?agent=" + UrlEncode(agent_id) + "&database=" + UrlEncode(database);
}

std::string StatementLink(const std::string& agent_id, const std::string& database,
                          const std::string& queryid, const std::string& label) {
  return "<a href=\"" +
         Escape("/statement" + DatabaseQuery(agent_id, database) + "&queryid=" +
                UrlEncode(queryid)) +
         "\">" + Escape(label) + "</a>";
}

std::string RecommendationLink(const std::string& id) {
  return "<a href=\"/recommendation?id=" + Escape(UrlEncode(id)) + "\">" + Escape(id) + "</a>";
}

ApiReply MessagePage(const PageContext& context, int status, const std::string& title,
                     const std::string& message) {
  return HtmlReply(status, RenderPage(context.Frame(title, ""),
                                      "<p class=\"error\" id=\"message\">" + Escape(message) +
                                          "</p>"));
}

}  // namespace optischema::controlplane
