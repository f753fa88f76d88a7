#pragma once

// The weekly times at which the applier may start a change on one database
// (`database[N].maintenance_window` in the configuration).
//
// Text form (day names, "daily" and "UTC" are case-insensitive):
//   ""                           no restriction: changes may start at any time
//   "Sat 01:00-05:00 UTC"        one day
//   "Sat,Sun 01:00-05:00 UTC"    a list of days
//   "Mon-Fri 22:00-02:00 UTC"    a range of days (Fri-Mon wraps through the weekend)
//   "daily 02:00-04:00 +02:00"   every day; the zone is UTC or a fixed offset (+HH:MM / -HH:MM)
//   "Sat 01:00-05:00 UTC; Wed 03:00-04:00 UTC"   several windows: open when any of them is
// Days and times are read in the window's own zone. Times are HH:MM from 00:00 to 23:59; 24:00 is
// allowed as an end. An end before the start crosses midnight and the interval belongs to the day
// it starts on: "Fri 22:00-02:00 UTC" is open from Friday 22:00 to Saturday 02:00. The start is
// inside the window, the end is not. IANA zone names ("Europe/Berlin") are not accepted: an offset
// is fixed, it does not follow daylight saving time.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace optischema::applier {

// An immutable parsed window: every member function is const and touches no shared state, so one
// object may be used from any number of threads at once.
class MaintenanceWindow {
 public:
  // The window that imposes no restriction: Contains is always true, NextStart is nullopt and
  // ToString is "".
  static MaintenanceWindow Unrestricted();

  // True for the window from Unrestricted() or from parsing "".
  [[nodiscard]] bool IsUnrestricted() const { return intervals_.empty(); }

  // Whether a change may start at `t`: true when `t` lies in [start, end) of some interval, or
  // the window is unrestricted.
  [[nodiscard]] bool Contains(std::chrono::system_clock::time_point t) const;

  // The earliest interval start at or after `t` (so `t` itself when an interval starts exactly
  // then; when `t` is inside an interval, the start of the next one). nullopt for an unrestricted
  // window, which has no starts.
  [[nodiscard]] std::optional<std::chrono::system_clock::time_point> NextStart(
      std::chrono::system_clock::time_point t) const;

  // The normalized text form, which ParseMaintenanceWindow accepts and which denotes the same
  // window: canonical day names in Monday-to-Sunday order ("daily" for all seven, runs of three or
  // more days as a range), HH:MM times (an end at midnight as 24:00), "UTC" for a zero offset,
  // windows joined by "; " in their original order. "" for an unrestricted window.
  [[nodiscard]] std::string ToString() const;

 private:
  friend Result<MaintenanceWindow> ParseMaintenanceWindow(std::string_view text);

  // One ";"-separated part of the text: on each of `days`, from `start` to `start + length`,
  // both measured from midnight in the zone `utc_offset` ahead of UTC.
  struct Interval {
    std::uint8_t days = 0;               // bit 0 Monday ... bit 6 Sunday (ISO weekday - 1)
    std::chrono::minutes start{0};       // 00:00 to 23:59
    std::chrono::minutes length{0};      // 1 minute to 24 hours
    std::chrono::minutes utc_offset{0};  // -14:00 to +14:00
  };

  MaintenanceWindow() = default;

  // One trimmed part "DAYS HH:MM-HH:MM ZONE". Spaces inside DAYS ("Sat, Sun") are ignored; the
  // time range is the first word that starts with a digit. Errors as ParseMaintenanceWindow.
  static Result<Interval> ParseInterval(std::string_view part);

  std::vector<Interval> intervals_;  // empty: unrestricted
};

// Parses the text form above. "" gives the unrestricted window. Errors (kInvalidArgument) name the
// problem, quote the offending part and show the expected form: unknown day name, hour or minute
// out of range, start equal to end, missing or unknown zone (IANA names are refused with a hint to
// use a fixed offset), blank text, an empty part between ';', or anything left over.
Result<MaintenanceWindow> ParseMaintenanceWindow(std::string_view text);

}  // namespace optischema::applier
