#include "applier/maintenance_window.h"

#include <array>
#include <cstddef>
#include <utility>

namespace optischema::applier {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::local_days;
using std::chrono::minutes;
using std::chrono::system_clock;
using LocalTime = std::chrono::local_time<system_clock::duration>;

constexpr std::string_view kExpectedForm =
    R"(expected a form like "Sat 01:00-05:00 UTC", "Sat,Sun 01:00-05:00 UTC", )"
    R"("Mon-Fri 22:00-02:00 +02:00" or "daily 02:00-04:00 UTC", several separated by ';')";
constexpr std::string_view kDayNamesHint = "days are Mon, Tue, Wed, Thu, Fri, Sat, Sun, or daily";
constexpr std::string_view kZoneHint = "use UTC or a fixed offset like +02:00 or -05:30";
constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
constexpr std::uint8_t kAllDays = 0x7f;
constexpr minutes kWholeDay = hours(24);
constexpr minutes kMaxOffset = hours(14);
constexpr std::string_view kSpace = " \t\r\n\v\f";

// `text` in double quotes, with quotes, backslashes and control characters escaped so that a
// value cannot break a single-line error message.
std::string Quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string quoted = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      quoted += "\\x";
      quoted += kHex[byte >> 4];
      quoted += kHex[byte & 0x0f];
    } else {
      quoted += c;
    }
  }
  quoted += '"';
  return quoted;
}

// "<problem> in "<part>"; expected a form like ...".
Error Invalid(std::string_view problem, std::string_view part) {
  return MakeError(ErrorCode::kInvalidArgument, std::string(problem) + " in " + Quoted(part) +
                                                    "; " + std::string(kExpectedForm));
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view Trim(std::string_view text) {
  const std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::vector<std::string_view> SplitWords(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t pos = text.find_first_not_of(kSpace);
  while (pos != std::string_view::npos) {
    const std::size_t end = text.find_first_of(kSpace, pos);
    words.push_back(text.substr(pos, end == std::string_view::npos ? end : end - pos));
    pos = text.find_first_not_of(kSpace, end);
  }
  return words;
}

// Index 0 (Monday) to 6 (Sunday) of a day name.
Result<unsigned> ParseDay(std::string_view name, std::string_view part) {
  for (unsigned i = 0; i < kDayNames.size(); ++i) {
    if (EqualsIgnoreCase(name, kDayNames[i])) return i;
  }
  return Invalid("unknown day " + Quoted(name) + " (" + std::string(kDayNamesHint) + ")", part);
}

// `t` as wall-clock time in the zone `utc_offset` ahead of UTC.
LocalTime ToLocal(system_clock::time_point t, minutes utc_offset) {
  return LocalTime(t.time_since_epoch() + utc_offset);
}

// The instant of wall-clock time `local` in the zone `utc_offset` ahead of UTC.
system_clock::time_point FromLocal(LocalTime local, minutes utc_offset) {
  return system_clock::time_point(local.time_since_epoch() - utc_offset);
}

bool HasDay(std::uint8_t days_mask, std::chrono::weekday day) {
  return ((days_mask >> (day.iso_encoding() - 1)) & 1U) != 0;
}

// "daily", or ","-separated day names and ranges "Mon-Fri" (wrapping through Sunday when the
// second day comes first in the week), as a mask with bit 0 for Monday.
Result<std::uint8_t> ParseDays(std::string_view text, std::string_view part) {
  if (EqualsIgnoreCase(text, "daily")) return kAllDays;
  std::uint8_t mask = 0;
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = text.find(',', pos);
    const std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? comma : comma - pos);
    if (item.empty()) return Invalid("empty day in the list of days", part);
    const std::size_t dash = item.find('-');
    const Result<unsigned> first = ParseDay(item.substr(0, dash), part);
    if (!first.ok()) return first.error();
    unsigned last = *first;
    if (dash != std::string_view::npos) {
      const Result<unsigned> parsed = ParseDay(item.substr(dash + 1), part);
      if (!parsed.ok()) return parsed.error();
      if (*parsed == *first) {
        return Invalid("day range " + Quoted(item) + " needs two different days", part);
      }
      last = *parsed;
    }
    for (unsigned day = *first;; day = (day + 1) % 7) {
      mask = static_cast<std::uint8_t>(mask | (1U << day));
      if (day == last) break;
    }
    if (comma == std::string_view::npos) return mask;
    pos = comma + 1;
  }
}

struct HourMinute {
  int hour = 0;
  int minute = 0;
};

// The numbers of exactly "DD:DD" (two digits each, any values); nullopt for any other text.
std::optional<HourMinute> SplitClock(std::string_view text) {
  if (text.size() != 5 || !IsDigit(text[0]) || !IsDigit(text[1]) || text[2] != ':' ||
      !IsDigit(text[3]) || !IsDigit(text[4])) {
    return std::nullopt;
  }
  return HourMinute{(text[0] - '0') * 10 + (text[1] - '0'), (text[3] - '0') * 10 + (text[4] - '0')};
}

// "HH:MM" as minutes since midnight: 00:00 to 23:59, and 24:00 when `is_end`.
Result<minutes> ParseClock(std::string_view text, bool is_end, std::string_view part) {
  const std::optional<HourMinute> clock = SplitClock(text);
  if (!clock) return Invalid("malformed time " + Quoted(text) + " (use HH:MM)", part);
  const auto [hour, minute] = *clock;
  if (minute > 59) {
    return Invalid("minute out of range in " + Quoted(text) + " (00 to 59)", part);
  }
  if (hour == 24 && minute == 0) {
    if (is_end) return minutes(kWholeDay);
    return Invalid("a window cannot start at 24:00 (use 00:00)", part);
  }
  if (hour > 23) {
    return Invalid("hour out of range in " + Quoted(text) + " (00 to 23, or 24:00 as an end)",
                   part);
  }
  return hours(hour) + minutes(minute);
}

// "UTC" or "+HH:MM" / "-HH:MM" up to 14:00, as the offset ahead of UTC.
Result<minutes> ParseZone(std::string_view text, std::string_view part) {
  if (EqualsIgnoreCase(text, "UTC")) return minutes(0);
  if (!text.starts_with('+') && !text.starts_with('-')) {
    return Invalid("unsupported time zone " + Quoted(text) + ": " + std::string(kZoneHint) +
                       " (IANA zone names like Europe/Berlin are not supported)",
                   part);
  }
  const std::optional<HourMinute> clock = SplitClock(text.substr(1));
  if (!clock || clock->minute > 59) {
    return Invalid("malformed UTC offset " + Quoted(text) + " (use +HH:MM or -HH:MM)", part);
  }
  const minutes magnitude = hours(clock->hour) + minutes(clock->minute);
  if (magnitude > kMaxOffset) {
    return Invalid("UTC offset " + Quoted(text) + " out of range (-14:00 to +14:00)", part);
  }
  return text.front() == '-' ? -magnitude : magnitude;
}

// Appends `time` (0 to 24 hours) as HH:MM.
void AppendClock(minutes time, std::string* out) {
  const auto total = static_cast<int>(time.count());
  const int hour = total / 60;
  const int minute = total % 60;
  *out += static_cast<char>('0' + hour / 10);
  *out += static_cast<char>('0' + hour % 10);
  *out += ':';
  *out += static_cast<char>('0' + minute / 10);
  *out += static_cast<char>('0' + minute % 10);
}

// "daily" for all seven days, else the days from Monday to Sunday joined by ',', with runs of
// three or more days written as a range ("Mon-Fri").
std::string DaysText(std::uint8_t days_mask) {
  if (days_mask == kAllDays) return "daily";
  std::string text;
  unsigned day = 0;
  while (day < kDayNames.size()) {
    if (((days_mask >> day) & 1U) == 0) {
      ++day;
      continue;
    }
    unsigned last = day;
    while (last + 1 < kDayNames.size() && ((days_mask >> (last + 1)) & 1U) != 0) ++last;
    if (!text.empty()) text += ',';
    if (last - day >= 2) {
      text += kDayNames[day];
      text += '-';
      text += kDayNames[last];
    } else {
      for (unsigned d = day; d <= last; ++d) {
        if (d != day) text += ',';
        text += kDayNames[d];
      }
    }
    day = last + 1;
  }
  return text;
}

}  // namespace

MaintenanceWindow MaintenanceWindow::Unrestricted() { return MaintenanceWindow(); }

Result<MaintenanceWindow::Interval> MaintenanceWindow::ParseInterval(std::string_view part) {
  const std::vector<std::string_view> words = SplitWords(part);
  std::size_t time_word = 0;
  while (time_word < words.size() && !IsDigit(words[time_word].front())) ++time_word;
  if (time_word == words.size()) return Invalid("missing time range HH:MM-HH:MM", part);
  if (time_word == 0) return Invalid("missing days before the time range", part);

  Interval interval;
  std::string days_text;
  for (std::size_t i = 0; i < time_word; ++i) days_text += words[i];
  Result<std::uint8_t> days_mask = ParseDays(days_text, part);
  RETURN_IF_ERROR(days_mask);
  interval.days = *days_mask;

  const std::string_view range = words[time_word];
  const std::size_t dash = range.find('-');
  if (dash == std::string_view::npos) {
    return Invalid("malformed time range " + Quoted(range) + " (use HH:MM-HH:MM)", part);
  }
  Result<minutes> start = ParseClock(range.substr(0, dash), /*is_end=*/false, part);
  RETURN_IF_ERROR(start);
  Result<minutes> end = ParseClock(range.substr(dash + 1), /*is_end=*/true, part);
  RETURN_IF_ERROR(end);
  if (*start == *end) {
    return Invalid("start equals end in " + Quoted(range) + " (use 00:00-24:00 for a whole day)",
                   part);
  }
  interval.start = *start;
  interval.length = *end > *start ? *end - *start : *end + kWholeDay - *start;

  if (time_word + 1 == words.size()) {
    return Invalid("missing time zone after " + Quoted(range) + " (" + std::string(kZoneHint) + ")",
                   part);
  }
  Result<minutes> offset = ParseZone(words[time_word + 1], part);
  RETURN_IF_ERROR(offset);
  interval.utc_offset = *offset;
  if (time_word + 2 < words.size()) {
    return Invalid("unexpected " + Quoted(words[time_word + 2]) + " after the time zone", part);
  }
  return interval;
}

bool MaintenanceWindow::Contains(system_clock::time_point t) const {
  if (IsUnrestricted()) return true;
  for (const Interval& interval : intervals_) {
    const LocalTime local = ToLocal(t, interval.utc_offset);
    const local_days today = std::chrono::floor<days>(local);
    // An interval lasts at most a day, so only one starting yesterday or today can cover `local`.
    for (const local_days day : {today - days(1), today}) {
      if (!HasDay(interval.days, std::chrono::weekday(day))) continue;
      const auto begin = day + interval.start;
      if (begin <= local && local < begin + interval.length) return true;
    }
  }
  return false;
}

std::optional<system_clock::time_point> MaintenanceWindow::NextStart(
    system_clock::time_point t) const {
  std::optional<system_clock::time_point> earliest;
  for (const Interval& interval : intervals_) {
    const LocalTime local = ToLocal(t, interval.utc_offset);
    const local_days today = std::chrono::floor<days>(local);
    // Today's start may have passed; the same weekday a week later has not.
    for (local_days day = today; day <= today + days(7); day += days(1)) {
      if (!HasDay(interval.days, std::chrono::weekday(day))) continue;
      const system_clock::time_point start = FromLocal(day + interval.start, interval.utc_offset);
      if (start < t) continue;
      if (!earliest || start < *earliest) earliest = start;
      break;
    }
  }
  return earliest;
}

std::string MaintenanceWindow::ToString() const {
  std::string text;
  for (const Interval& interval : intervals_) {
    if (!text.empty()) text += "; ";
    text += DaysText(interval.days);
    text += ' ';
    AppendClock(interval.start, &text);
    text += '-';
    const minutes end = interval.start + interval.length;
    AppendClock(end > kWholeDay ? end - kWholeDay : end, &text);
    text += ' ';
    if (interval.utc_offset == minutes(0)) {
      text += "UTC";
    } else {
      text += interval.utc_offset < minutes(0) ? '-' : '+';
      AppendClock(interval.utc_offset < minutes(0) ? -interval.utc_offset : interval.utc_offset,
                  &text);
    }
  }
  return text;
}

Result<MaintenanceWindow> ParseMaintenanceWindow(std::string_view text) {
  MaintenanceWindow window;
  if (text.empty()) return window;
  std::size_t pos = 0;
  while (true) {
    const std::size_t semicolon = text.find(';', pos);
    const std::string_view part =
        Trim(text.substr(pos, semicolon == std::string_view::npos ? semicolon : semicolon - pos));
    if (part.empty()) {
      return Invalid(semicolon == std::string_view::npos && pos == 0
                         ? R"(blank window (write "" for no restriction))"
                         : "empty window between ';' separators",
                     text);
    }
    Result<MaintenanceWindow::Interval> interval = MaintenanceWindow::ParseInterval(part);
    RETURN_IF_ERROR(interval);
    window.intervals_.push_back(*interval);
    if (semicolon == std::string_view::npos) return window;
    pos = semicolon + 1;
  }
}

}  // namespace optischema::applier
