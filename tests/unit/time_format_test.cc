// HTTP Date headers, as `check` reads the control plane's clock from them.

#include "core/time_format.h"

#include <gtest/gtest.h>

namespace optischema {
namespace {

TEST(HttpDate, ParsesImfFixdate) {
  const auto t = ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatRfc3339(*t), "1994-11-06T08:49:37.000Z");
  EXPECT_EQ(FormatRfc3339(*ParseHttpDate("Thu, 26 Nov 2026 23:59:59 GMT")),
            "2026-11-26T23:59:59.000Z");
}

TEST(Rfc3339, RefusesInstantsTheClockCannotHoldInsteadOfOverflowing) {
  // system_clock counts 64-bit nanoseconds: about 1677 to 2262. A far date (an expires_at in a
  // recommendation) must not wrap around into another one.
  EXPECT_FALSE(ParseRfc3339("5913-11-22T11:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("9999-12-31T23:59:59.999999Z").has_value());
  EXPECT_FALSE(ParseRfc3339("0001-01-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2262-04-12T00:00:00Z").has_value());
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2262-04-10T23:59:59.5Z")), "2262-04-10T23:59:59.500Z");
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("1700-01-01T00:00:00+01:00")),
            "1699-12-31T23:00:00.000Z");
}

TEST(HttpDate, RefusesOtherFormsAndImpossibleDates) {
  for (const char* text : {"", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
                           "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 1994 08:49:37 GMT",
                           "Sun, 06 Nev 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
                           "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT "}) {
    EXPECT_FALSE(ParseHttpDate(text).has_value()) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace optischema
