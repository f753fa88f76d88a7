#include "cli/activity_table.h"

#include <cstdio>

namespace optischema::cli {

namespace {

std::string Format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

std::string QueryidText(const std::optional<int64_t>& id) {
  return id ? std::to_string(*id) : std::string("-");
}

std::string Age(const std::optional<double>& s) {
  return s ? Format("%.1fs", *s) : std::string("-");
}

std::string Session(const protocol::ChainSession& s) {
  std::string out = Format("pid %lld %s queryid %s", static_cast<long long>(s.pid), s.state.c_str(),
                           QueryidText(s.queryid).c_str());
  if (s.wait_class) {
    out += " waits " + *s.wait_class + (s.wait_event ? ":" + *s.wait_event : std::string());
  }
  out += " for " + Age(s.state_age_s);
  if (s.xact_age_s) out += ", transaction " + Age(s.xact_age_s);
  return out;
}

std::string Blocking(const protocol::Activity& a) {
  std::string out;
  for (const auto& c : a.blocking) {
    out += Format(
        "  blocking chain: depth %d, %zu blocked, longest wait %.1fs (seen in %lld samples)\n",
        c.depth, c.blocked.size(), c.longest_wait_s, static_cast<long long>(c.samples));
    out += "    root " + Session(c.root) + "\n";
    for (const auto& b : c.blocked) {
      out += std::string(4 + 2 * static_cast<std::size_t>(b.level), ' ') + "blocked " + Session(b) +
             "\n";
    }
  }
  for (const auto& i : a.idle_in_transaction) {
    out += Format(
        "  idle in transaction: pid %lld for %.1fs (over %.0fs), %lld table locks, blocking %lld, "
        "last queryid %s\n",
        static_cast<long long>(i.pid), i.idle_s, a.idle_in_transaction_warn_s,
        static_cast<long long>(i.locks_held), static_cast<long long>(i.blocking),
        QueryidText(i.queryid).c_str());
  }
  return out;
}

}  // namespace

std::string FormatActivityTable(const protocol::Activity& a) {
  std::string out =
      Format("activity: %lld samples every %.1fs, load %.2f active sessions (max %lld)\n",
             static_cast<long long>(a.samples), a.sample_interval_s, a.load,
             static_cast<long long>(a.max_active));
  if (!a.by_wait_class.empty()) {
    out += "  by wait class:";
    for (const auto& c : a.by_wait_class) out += Format(" %s %.2f", c.wait_class.c_str(), c.load);
    out += "\n";
  }
  for (std::size_t i = 0; i < a.top_waits.size() && i < 5; ++i) {
    const auto& w = a.top_waits[i];
    out += Format("  wait %-10s %-24s %.2f\n", w.wait_class.c_str(),
                  w.wait_event ? w.wait_event->c_str() : "-", w.load);
  }
  if (a.statement_attribution) {
    for (std::size_t i = 0; i < a.by_statement.size() && i < 5; ++i) {
      const auto& s = a.by_statement[i];
      out += Format("  statement %-20lld %-10s %.2f\n", static_cast<long long>(s.queryid),
                    s.wait_class.c_str(), s.load);
    }
  } else if (a.attribution_note) {
    out += "  " + *a.attribution_note + "\n";
  }
  out += Blocking(a);
  return out;
}

std::string FormatSessionFindings(const protocol::Activity& a) {
  const std::string findings = Blocking(a);
  if (findings.empty()) {
    return Format("sessions now: no blocking chain, no transaction idle over %.0fs holding locks\n",
                  a.idle_in_transaction_warn_s);
  }
  return "sessions now:\n" + findings;
}

}  // namespace optischema::cli
