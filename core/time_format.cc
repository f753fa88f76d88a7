#include "core/time_format.h"

#include <cstdio>
#include <ctime>

namespace optischema {

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view s) {
  using namespace std::chrono;
  const auto number = [&](std::size_t pos, std::size_t n) {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (i >= s.size() || !IsDigit(s[i])) return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20) return std::nullopt;
  const int y = number(0, 4), mo = number(5, 2), d = number(8, 2);
  const int h = number(11, 2), mi = number(14, 2), sec = number(17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
      sec > 60 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  microseconds fraction{0};
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    const std::size_t from = ++i;
    int64_t micros = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (i - from < 6) micros = micros * 10 + (s[i] - '0');
    }
    const std::size_t digits = i - from;
    if (digits == 0 || digits > 9) return std::nullopt;
    for (std::size_t k = digits; k < 6; ++k) micros *= 10;
    fraction = microseconds(micros);
  }
  minutes offset{0};
  if (i + 1 == s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    // UTC
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    const int oh = number(i + 1, 2), om = number(i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
    offset = minutes(oh * 60 + om) * (s[i] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  // Whole seconds cannot overflow for years 0000-9999; the clock's own duration can (libstdc++
  // counts nanoseconds in 64 bits: 1677 to 2262), so refuse what it cannot hold before converting.
  const sys_seconds utc = sys_days(date) + hours(h) + minutes(mi) + seconds(sec) - offset;
  constexpr auto kEarliest = ceil<seconds>(system_clock::time_point::min().time_since_epoch());
  constexpr auto kLatest =
      floor<seconds>(system_clock::time_point::max().time_since_epoch()) - seconds(1);
  if (utc.time_since_epoch() < kEarliest || utc.time_since_epoch() > kLatest) return std::nullopt;
  return time_point_cast<system_clock::duration>(utc) + fraction;
}

std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view text) {
  // "Www, DD Mon YYYY HH:MM:SS GMT": 29 characters.
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (text.size() != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  const std::size_t month_at = kMonths.find(text.substr(8, 3));
  if (month_at == std::string_view::npos || month_at % 3 != 0) return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t digits, int* out) {
    int value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      value = value * 10 + (text[i] - '0');
    }
    *out = value;
    return true;
  };
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (!number(5, 2, &day) || !number(12, 4, &year) || !number(17, 2, &hour) ||
      !number(20, 2, &minute) || !number(23, 2, &second)) {
    return std::nullopt;
  }
  // Reuse the RFC 3339 parser for the calendar checks.
  char rfc3339[32];
  std::snprintf(rfc3339, sizeof rfc3339, "%04d-%02d-%02dT%02d:%02d:%02dZ", year,
                static_cast<int>(month_at / 3 + 1), day, hour, minute, second);
  return ParseRfc3339(rfc3339);
}

}  // namespace optischema
