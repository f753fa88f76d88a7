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
