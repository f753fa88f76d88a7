#include "applier/maintenance_window.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

namespace optischema::applier {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::November;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::system_clock;
using namespace std::chrono_literals;

// Days of the week of 16 to 28 November 2026 (Monday 16th to Saturday 28th).
constexpr std::chrono::year_month_day kMon = 2026y / November / 16;
constexpr std::chrono::year_month_day kTue = 2026y / November / 17;
constexpr std::chrono::year_month_day kWed = 2026y / November / 18;
constexpr std::chrono::year_month_day kFri = 2026y / November / 20;
constexpr std::chrono::year_month_day kSat = 2026y / November / 21;
constexpr std::chrono::year_month_day kSun = 2026y / November / 22;
constexpr std::chrono::year_month_day kNextMon = 2026y / November / 23;
constexpr std::chrono::year_month_day kNextSat = 2026y / November / 28;

// `date` at HH:MM[:SS] UTC.
system_clock::time_point At(std::chrono::year_month_day date, int hour, int minute,
                            int second = 0) {
  return sys_days(date) + hours(hour) + minutes(minute) + seconds(second);
}

// The parsed window; a parse failure fails the test.
MaintenanceWindow Parsed(std::string_view text) {
  Result<MaintenanceWindow> window = ParseMaintenanceWindow(text);
  EXPECT_TRUE(window.ok()) << text << ": " << window.error().message;
  return window.ok() ? *std::move(window) : MaintenanceWindow::Unrestricted();
}

// The error message for `text`, which must be refused with kInvalidArgument.
std::string Refusal(std::string_view text) {
  const Result<MaintenanceWindow> window = ParseMaintenanceWindow(text);
  if (window.ok()) {
    ADD_FAILURE() << '"' << text << "\" was accepted as " << window->ToString();
    return "";
  }
  EXPECT_EQ(window.error().code, ErrorCode::kInvalidArgument) << text;
  return window.error().message;
}

bool HasText(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(MaintenanceWindow, EmptyTextImposesNoRestriction) {
  const MaintenanceWindow window = Parsed("");
  EXPECT_TRUE(window.IsUnrestricted());
  EXPECT_TRUE(window.Contains(At(kWed, 13, 37)));
  EXPECT_TRUE(window.Contains(system_clock::time_point()));
  EXPECT_EQ(window.NextStart(At(kWed, 13, 37)), std::nullopt);
  EXPECT_EQ(window.ToString(), "");
}

TEST(MaintenanceWindow, UnrestrictedFactoryBehavesLikeEmptyText) {
  const MaintenanceWindow window = MaintenanceWindow::Unrestricted();
  EXPECT_TRUE(window.IsUnrestricted());
  EXPECT_TRUE(window.Contains(At(kSun, 12, 0)));
  EXPECT_EQ(window.NextStart(At(kSun, 12, 0)), std::nullopt);
  EXPECT_EQ(window.ToString(), "");
}

TEST(MaintenanceWindow, SingleDayWindowIncludesItsStartAndExcludesItsEnd) {
  const MaintenanceWindow window = Parsed("Sat 01:00-05:00 UTC");
  EXPECT_FALSE(window.IsUnrestricted());
  EXPECT_FALSE(window.Contains(At(kSat, 0, 59, 59)));
  EXPECT_TRUE(window.Contains(At(kSat, 1, 0)));
  EXPECT_TRUE(window.Contains(At(kSat, 4, 59, 59)));
  EXPECT_FALSE(window.Contains(At(kSat, 5, 0)));
  EXPECT_TRUE(window.Contains(At(kSat, 5, 0) - 1ns));
  EXPECT_FALSE(window.Contains(At(kFri, 2, 0)));
  EXPECT_FALSE(window.Contains(At(kSun, 2, 0)));
  EXPECT_TRUE(window.Contains(At(kNextSat, 2, 0)));
  EXPECT_EQ(window.ToString(), "Sat 01:00-05:00 UTC");
}

TEST(MaintenanceWindow, DayListOpensOnEachListedDayOnly) {
  const MaintenanceWindow window = Parsed("Sat,Sun 01:00-05:00 UTC");
  EXPECT_TRUE(window.Contains(At(kSat, 3, 0)));
  EXPECT_TRUE(window.Contains(At(kSun, 3, 0)));
  EXPECT_FALSE(window.Contains(At(kNextMon, 3, 0)));
  EXPECT_FALSE(window.Contains(At(kFri, 3, 0)));
  EXPECT_EQ(window.ToString(), "Sat,Sun 01:00-05:00 UTC");
}

TEST(MaintenanceWindow, RangeCrossingMidnightBelongsToTheDayItStartsOn) {
  const MaintenanceWindow window = Parsed("Mon-Fri 22:00-02:00 UTC");
  // Friday's interval runs into Saturday morning.
  EXPECT_TRUE(window.Contains(At(kFri, 22, 0)));
  EXPECT_TRUE(window.Contains(At(kSat, 1, 59, 59)));
  EXPECT_FALSE(window.Contains(At(kSat, 2, 0)));
  // Saturday and Sunday evenings are not in the range, so neither is early Monday.
  EXPECT_FALSE(window.Contains(At(kSat, 22, 0)));
  EXPECT_FALSE(window.Contains(At(kSun, 23, 0)));
  EXPECT_FALSE(window.Contains(At(kNextMon, 1, 0)));
  EXPECT_FALSE(window.Contains(At(kMon, 1, 0)));
  // Monday's interval runs into Tuesday.
  EXPECT_FALSE(window.Contains(At(kMon, 21, 59, 59)));
  EXPECT_TRUE(window.Contains(At(kMon, 22, 30)));
  EXPECT_TRUE(window.Contains(At(kTue, 1, 0)));
  EXPECT_FALSE(window.Contains(At(kTue, 12, 0)));
  EXPECT_EQ(window.ToString(), "Mon-Fri 22:00-02:00 UTC");
}

TEST(MaintenanceWindow, DayRangeEndingBeforeItStartsWrapsThroughSunday) {
  const MaintenanceWindow window = Parsed("Fri-Mon 10:00-11:00 UTC");
  EXPECT_TRUE(window.Contains(At(kFri, 10, 30)));
  EXPECT_TRUE(window.Contains(At(kSat, 10, 30)));
  EXPECT_TRUE(window.Contains(At(kSun, 10, 30)));
  EXPECT_TRUE(window.Contains(At(kMon, 10, 30)));
  EXPECT_FALSE(window.Contains(At(kTue, 10, 30)));
  EXPECT_FALSE(window.Contains(At(kWed, 10, 30)));
  EXPECT_EQ(window.ToString(), "Mon,Fri-Sun 10:00-11:00 UTC");
}

TEST(MaintenanceWindow, DailyWindowOpensOnEveryDayOfTheWeek) {
  const MaintenanceWindow window = Parsed("daily 02:00-04:00 UTC");
  for (int day = 0; day < 7; ++day) {
    const system_clock::time_point midnight = sys_days(kMon) + std::chrono::days(day);
    EXPECT_FALSE(window.Contains(midnight + 1h + 59min)) << "day " << day;
    EXPECT_TRUE(window.Contains(midnight + 2h)) << "day " << day;
    EXPECT_TRUE(window.Contains(midnight + 3h + 59min)) << "day " << day;
    EXPECT_FALSE(window.Contains(midnight + 4h)) << "day " << day;
  }
  EXPECT_EQ(window.ToString(), "daily 02:00-04:00 UTC");
}

TEST(MaintenanceWindow, PositiveOffsetReadsDaysAndTimesInThatZone) {
  // Saturday 01:00-05:00 at UTC+2 is Friday 23:00 to Saturday 03:00 UTC.
  const MaintenanceWindow window = Parsed("Sat 01:00-05:00 +02:00");
  EXPECT_FALSE(window.Contains(At(kFri, 22, 59, 59)));
  EXPECT_TRUE(window.Contains(At(kFri, 23, 0)));
  EXPECT_TRUE(window.Contains(At(kSat, 2, 59, 59)));
  EXPECT_FALSE(window.Contains(At(kSat, 3, 0)));
  EXPECT_FALSE(window.Contains(At(kSat, 4, 0)));
  EXPECT_EQ(window.ToString(), "Sat 01:00-05:00 +02:00");
}

TEST(MaintenanceWindow, NegativeHalfHourOffsetReadsDaysAndTimesInThatZone) {
  // Monday 22:00-23:00 at UTC-05:30 is Tuesday 03:30 to 04:30 UTC.
  const MaintenanceWindow window = Parsed("Mon 22:00-23:00 -05:30");
  EXPECT_FALSE(window.Contains(At(kMon, 22, 30)));
  EXPECT_FALSE(window.Contains(At(kTue, 3, 29, 59)));
  EXPECT_TRUE(window.Contains(At(kTue, 3, 30)));
  EXPECT_TRUE(window.Contains(At(kTue, 4, 29, 59)));
  EXPECT_FALSE(window.Contains(At(kTue, 4, 30)));
  EXPECT_EQ(window.ToString(), "Mon 22:00-23:00 -05:30");
}

TEST(MaintenanceWindow, EndAt2400RunsToMidnight) {
  const MaintenanceWindow window = Parsed("Sat 22:00-24:00 UTC");
  EXPECT_TRUE(window.Contains(At(kSat, 23, 59, 59)));
  EXPECT_FALSE(window.Contains(At(kSun, 0, 0)));
  EXPECT_EQ(window.ToString(), "Sat 22:00-24:00 UTC");
  EXPECT_EQ(Parsed("Sat 22:00-00:00 UTC").ToString(), "Sat 22:00-24:00 UTC");
}

TEST(MaintenanceWindow, WholeDayEveryDayContainsEveryInstant) {
  const MaintenanceWindow window = Parsed("daily 00:00-24:00 UTC");
  EXPECT_FALSE(window.IsUnrestricted());
  EXPECT_TRUE(window.Contains(At(kSun, 0, 0)));
  EXPECT_TRUE(window.Contains(At(kSun, 0, 0) - 1ns));
  EXPECT_TRUE(window.Contains(At(kWed, 12, 34, 56)));
  EXPECT_EQ(window.NextStart(At(kWed, 12, 0)), At(2026y / November / 19, 0, 0));
}

TEST(MaintenanceWindow, SemicolonSeparatedWindowsAreOpenWhenAnyIs) {
  const MaintenanceWindow window = Parsed("Sat 01:00-05:00 UTC; Wed 03:00-04:00 +01:00");
  EXPECT_TRUE(window.Contains(At(kSat, 2, 0)));
  EXPECT_TRUE(window.Contains(At(kWed, 2, 30)));
  EXPECT_FALSE(window.Contains(At(kWed, 3, 0)));
  EXPECT_FALSE(window.Contains(At(kWed, 1, 59)));
  EXPECT_FALSE(window.Contains(At(kSun, 2, 0)));
  EXPECT_EQ(window.ToString(), "Sat 01:00-05:00 UTC; Wed 03:00-04:00 +01:00");
}

TEST(MaintenanceWindow, DayNamesDailyAndUtcAreCaseInsensitive) {
  EXPECT_EQ(Parsed("sat,SUN 01:00-05:00 utc").ToString(), "Sat,Sun 01:00-05:00 UTC");
  EXPECT_EQ(Parsed("DAILY 02:00-04:00 Utc").ToString(), "daily 02:00-04:00 UTC");
  EXPECT_EQ(Parsed("mOn-fRi 22:00-02:00 UTC").ToString(), "Mon-Fri 22:00-02:00 UTC");
}

TEST(MaintenanceWindow, ToStringNormalizesSpacingDayOrderAndZeroOffset) {
  EXPECT_EQ(Parsed("  Sun, Sat   01:00-05:00\tUTC  ").ToString(), "Sat,Sun 01:00-05:00 UTC");
  EXPECT_EQ(Parsed("Fri,Mon-Wed 08:00-09:00 +00:00").ToString(), "Mon-Wed,Fri 08:00-09:00 UTC");
  EXPECT_EQ(Parsed("Mon,Tue,Wed,Thu,Fri,Sat,Sun 08:00-09:00 -00:00").ToString(),
            "daily 08:00-09:00 UTC");
  EXPECT_EQ(Parsed("Sat 01:00-05:00 UTC;Wed 03:00-04:00 UTC").ToString(),
            "Sat 01:00-05:00 UTC; Wed 03:00-04:00 UTC");
}

TEST(MaintenanceWindow, ToStringParsesBackToTheSameWindow) {
  for (const std::string_view text :
       {"Fri-Mon 22:00-00:00 -05:30", "tue,thu,sat 00:00-24:00 +14:00",
        "Sat 01:00-05:00 UTC; daily 12:15-12:45 +05:45"}) {
    const std::string normalized = Parsed(text).ToString();
    EXPECT_EQ(Parsed(normalized).ToString(), normalized) << text;
  }
}

TEST(MaintenanceWindow, NextStartAtTheExactStartIsThatInstant) {
  const MaintenanceWindow window = Parsed("Sat 01:00-05:00 UTC");
  EXPECT_EQ(window.NextStart(At(kSat, 1, 0)), At(kSat, 1, 0));
}

TEST(MaintenanceWindow, NextStartBeforeTheWindowIsTheComingStart) {
  const MaintenanceWindow window = Parsed("Sat 01:00-05:00 UTC");
  EXPECT_EQ(window.NextStart(At(kWed, 9, 0)), At(kSat, 1, 0));
  EXPECT_EQ(window.NextStart(At(kSat, 0, 59, 59)), At(kSat, 1, 0));
}

TEST(MaintenanceWindow, NextStartInsideOrAfterTheWindowIsTheFollowingWeek) {
  const MaintenanceWindow window = Parsed("Sat 01:00-05:00 UTC");
  EXPECT_EQ(window.NextStart(At(kSat, 1, 0) + 1ms), At(kNextSat, 1, 0));
  EXPECT_EQ(window.NextStart(At(kSat, 3, 0)), At(kNextSat, 1, 0));
  EXPECT_EQ(window.NextStart(At(kSun, 3, 0)), At(kNextSat, 1, 0));
}

TEST(MaintenanceWindow, NextStartHonoursTheOffset) {
  const MaintenanceWindow window = Parsed("Sat 01:00-05:00 +02:00");
  EXPECT_EQ(window.NextStart(At(kWed, 9, 0)), At(kFri, 23, 0));
  const MaintenanceWindow west = Parsed("Mon 22:00-23:00 -05:30");
  EXPECT_EQ(west.NextStart(At(kMon, 23, 0)), At(kTue, 3, 30));
}

TEST(MaintenanceWindow, NextStartSkipsDaysOutsideTheRange) {
  const MaintenanceWindow window = Parsed("Mon-Fri 22:00-02:00 UTC");
  EXPECT_EQ(window.NextStart(At(kFri, 23, 0)), At(kNextMon, 22, 0));
  EXPECT_EQ(window.NextStart(At(kTue, 12, 0)), At(kTue, 22, 0));
}

TEST(MaintenanceWindow, NextStartIsTheEarliestOfSeveralWindows) {
  const MaintenanceWindow window = Parsed("Sat 01:00-05:00 UTC; Wed 03:00-04:00 UTC");
  EXPECT_EQ(window.NextStart(At(kMon, 0, 0)), At(kWed, 3, 0));
  EXPECT_EQ(window.NextStart(At(kWed, 3, 30)), At(kSat, 1, 0));
  EXPECT_EQ(window.NextStart(At(kSat, 6, 0)), At(2026y / November / 25, 3, 0));
}

TEST(MaintenanceWindow, UnknownDayIsRefusedNamingTheDayAndTheExpectedForm) {
  const std::string message = Refusal("Sot 01:00-05:00 UTC");
  EXPECT_EQ(message,
            R"(unknown day "Sot" (days are Mon, Tue, Wed, Thu, Fri, Sat, Sun, or daily) in )"
            R"("Sot 01:00-05:00 UTC"; expected a form like "Sat 01:00-05:00 UTC", )"
            R"("Sat,Sun 01:00-05:00 UTC", "Mon-Fri 22:00-02:00 +02:00" or )"
            R"("daily 02:00-04:00 UTC", several separated by ';')");
}

TEST(MaintenanceWindow, HourBeyond24IsRefused) {
  EXPECT_TRUE(HasText(Refusal("Sat 25:00-05:00 UTC"), R"(hour out of range in "25:00")"));
  EXPECT_TRUE(HasText(Refusal("Sat 01:00-25:00 UTC"), R"(hour out of range in "25:00")"));
  EXPECT_TRUE(HasText(Refusal("Sat 01:00-24:01 UTC"), R"(hour out of range in "24:01")"));
}

TEST(MaintenanceWindow, MissingZoneIsRefused) {
  const std::string message = Refusal("Sat 01:00-05:00");
  EXPECT_TRUE(HasText(message, R"(missing time zone after "01:00-05:00")")) << message;
  EXPECT_TRUE(HasText(message, "use UTC or a fixed offset like +02:00")) << message;
}

TEST(MaintenanceWindow, IanaZoneNameIsRefusedWithAHintToUseAnOffset) {
  const std::string message = Refusal("Sat 01:00-05:00 Europe/Berlin");
  EXPECT_TRUE(HasText(message, R"(unsupported time zone "Europe/Berlin")")) << message;
  EXPECT_TRUE(HasText(message, "IANA zone names")) << message;
  EXPECT_TRUE(HasText(message, "fixed offset like +02:00")) << message;
  EXPECT_TRUE(HasText(Refusal("Sat 01:00-05:00 CET"), R"(unsupported time zone "CET")"));
}

TEST(MaintenanceWindow, StartEqualToEndIsRefused) {
  EXPECT_TRUE(HasText(Refusal("Sat 01:00-01:00 UTC"), R"(start equals end in "01:00-01:00")"));
  EXPECT_TRUE(HasText(Refusal("daily 00:00-00:00 UTC"), "use 00:00-24:00 for a whole day"));
}

TEST(MaintenanceWindow, OtherMalformedTextIsRefusedWithItsReason) {
  const struct {
    std::string_view text;
    std::string_view reason;
  } kCases[] = {
      {"Sat 24:00-05:00 UTC", "cannot start at 24:00"},
      {"Sat 01:60-05:00 UTC", R"(minute out of range in "01:60")"},
      {"Sat 1:00-05:00 UTC", R"(malformed time "1:00" (use HH:MM))"},
      {"Sat 01:00 UTC", R"(malformed time range "01:00")"},
      {"01:00-05:00 UTC", "missing days"},
      {"Sat UTC", "missing time range"},
      {"Sat-Sat 01:00-05:00 UTC", "needs two different days"},
      {"Sat,,Sun 01:00-05:00 UTC", "empty day"},
      {"Sat,daily 01:00-05:00 UTC", R"(unknown day "daily")"},
      {"Saturday 01:00-05:00 UTC", R"(unknown day "Saturday")"},
      {"Mon-Fry 01:00-05:00 UTC", R"(unknown day "Fry")"},
      {"Sat 01:00-05:00 +15:00", R"(UTC offset "+15:00" out of range)"},
      {"Sat 01:00-05:00 +14:30", R"(UTC offset "+14:30" out of range)"},
      {"Sat 01:00-05:00 +2", R"(malformed UTC offset "+2")"},
      {"Sat 01:00-05:00 +02:60", R"(malformed UTC offset "+02:60")"},
      {"Sat 01:00-05:00 UTC extra", R"(unexpected "extra" after the time zone)"},
      {"Sat 01:00-05:00 UTC;", "empty window between ';' separators"},
      {"; Sat 01:00-05:00 UTC", "empty window between ';' separators"},
      {"   ", "blank window"},
  };
  for (const auto& c : kCases) {
    const std::string message = Refusal(c.text);
    EXPECT_TRUE(HasText(message, c.reason)) << c.text << ": " << message;
    EXPECT_TRUE(HasText(message, "expected a form like")) << c.text << ": " << message;
  }
}

TEST(MaintenanceWindow, ErrorEscapesControlCharactersOfTheInput) {
  const std::string message = Refusal("Sat 01:00-05:00 UTC\nrm");
  EXPECT_TRUE(HasText(message, R"("Sat 01:00-05:00 UTC\x0arm")")) << message;
  EXPECT_FALSE(HasText(message, "\n")) << message;
}

}  // namespace
}  // namespace optischema::applier
