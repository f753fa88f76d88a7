// Before and after: for each applied change with a guard, the affected statements' mean time
// in the guard's window before the change and after it, and the agent's verdict
// (console_pages.h).

#include "controlplane/console_pages.h"
#include "controlplane/console_recommendation_view.h"
#include "controlplane/json_members.h"
#include "protocol/recommendation.h"

namespace optischema::controlplane {
namespace {

struct Figures {
  double calls = 0;
  double total_ms = 0;
  std::optional<double> Mean() const {
    return calls > 0 ? std::optional(total_ms / calls) : std::nullopt;
  }
};

struct Verdict {
  int64_t applied_s = 0;  // 0: never applied
  std::string verdict;    // verified, regressed, rolled_back, or empty while the guard watches
  std::string detail;
};

Result<Verdict> VerdictOf(Store& store, const std::string& id) {
  auto events = store.RecommendationEvents(id);
  RETURN_IF_ERROR(events);
  Verdict verdict;
  for (const std::string& text : *events) {
    auto event = protocol::ParseRecommendationEvent(text);
    if (!event.ok()) continue;
    if (event->event == "applied" && verdict.applied_s == 0) {
      verdict.applied_s = UnixSeconds(event->at);
    }
    if (event->event == "verified" || event->event == "regressed" ||
        event->event == "rolled_back") {
      verdict.verdict = event->event;
      verdict.detail = event->detail;
    }
  }
  return verdict;
}

Result<std::string> ChangeSection(const PageContext& context, const RecommendationView& r,
                                  std::size_t index) {
  const nlohmann::json& guard = AnyMember(r.body, "guard");
  if (!guard.is_object() || !guard.contains("verify_window_s") ||
      !guard["verify_window_s"].is_number_integer() || r.affected_queryids.empty()) {
    return std::string();
  }
  auto verdict = VerdictOf(context.store, r.row.record.id);
  RETURN_IF_ERROR(verdict);
  if (verdict->applied_s == 0) return std::string();
  const int64_t window = guard["verify_window_s"].get<int64_t>();
  const int64_t applied = verdict->applied_s;
  // Minute buckets while they are kept, hour buckets beyond.
  const Resolution resolution =
      context.now_s - (applied - window) <
              std::chrono::duration_cast<std::chrono::seconds>(kMinuteSeriesRetention).count()
          ? Resolution::kMinute
          : Resolution::kHour;
  const auto width = static_cast<int64_t>(resolution);
  std::vector<std::string> labels;
  ChartSeries before{"mean ms before", {}}, after{"mean ms after", {}};
  std::vector<std::vector<std::string>> rows;
  for (const std::string& queryid : r.affected_queryids) {
    auto points = context.store.StatementSeries(r.row.record.agent_id, r.database, queryid,
                                                resolution, applied - window - width);
    RETURN_IF_ERROR(points);
    Figures b, a;
    for (const StatementPoint& p : *points) {
      // A bucket counts on the side where it starts; the one holding the change counts after.
      if (p.bucket_s + width <= applied && p.bucket_s >= applied - window - width) {
        b.calls += p.calls;
        b.total_ms += p.total_exec_ms;
      } else if (p.bucket_s + width > applied && p.bucket_s < applied + window) {
        a.calls += p.calls;
        a.total_ms += p.total_exec_ms;
      }
    }
    labels.push_back(queryid);
    before.values.push_back(b.Mean());
    after.values.push_back(a.Mean());
    rows.push_back({StatementLink(r.row.record.agent_id, r.database, queryid, queryid),
                    FormatNumber(b.calls), b.Mean() ? FormatMs(*b.Mean()) : "-",
                    FormatNumber(a.calls), a.Mean() ? FormatMs(*a.Mean()) : "-"});
  }
  std::string html = "<h2>" + RecommendationLink(r.row.record.id) + " " + Escape(r.kind) +
                     " <code>" + Escape(r.target) + "</code></h2><p>Applied " +
                     Escape(FormatAgo(applied, context.now_s)) + "; guard window " +
                     std::to_string(window) + " s; verdict: " +
                     (verdict->verdict.empty() ? std::string("the guard is still watching")
                                               : Badge(verdict->verdict) + " " +
                                                     Escape(verdict->detail)) +
                     "</p>";
  html += RenderTable({"Statement", "Calls before", "Mean before", "Calls after", "Mean after"},
                      rows);
  html += "<div class=\"charts\">" +
          RenderChart("chart-before-after-" + std::to_string(index),
                      "Mean time before and after (ms)", "bar", labels, {before, after}) +
          "</div>";
  return html;
}

}  // namespace

Result<ApiReply> BeforeAfterPage(const PageContext& context) {
  auto all = LoadRecommendations(context.store, std::nullopt);
  RETURN_IF_ERROR(all);
  std::string body;
  std::size_t index = 0;
  for (auto it = all->rbegin(); it != all->rend(); ++it) {
    auto section = ChangeSection(context, *it, index);
    RETURN_IF_ERROR(section);
    if (!section->empty()) ++index;
    body += *section;
  }
  if (body.empty()) {
    body = "<p class=\"notice\">No change with a guard and named statements has been applied "
           "yet.</p>";
  }
  return HtmlReply(200, RenderPage(context.Frame("Before and after", "/before-after"), body));
}

}  // namespace optischema::controlplane
