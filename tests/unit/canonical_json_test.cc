#include "protocol/canonical_json.h"

#include <gtest/gtest.h>

#include <string>

namespace optischema::protocol {
namespace {

std::string Canonical(std::string_view text) {
  Result<std::string> r = CanonicalJson(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.error().message;
  return r.ok() ? *r : std::string("<error>");
}

TEST(CanonicalJson, SortsKeysByUtf8BytesAtEveryLevel) {
  EXPECT_EQ(Canonical(R"({"b":1,"a":{"y":[{"d":1,"c":2}],"x":0},"Z":2,"aa":3})"),
            R"({"Z":2,"a":{"x":0,"y":[{"c":2,"d":1}]},"aa":3,"b":1})");
  // U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80) in UTF-8 byte order, although UTF-16
  // code units would put the emoji (D83D ...) first; DEL (7F) sorts before any non-ASCII key.
  EXPECT_EQ(Canonical(R"({"\ud83d\ude00":1,"\uff61":2,"\u007f":3,"~":4})"),
            "{\"~\":4,\"\x7f\":3,\"\xEF\xBD\xA1\":2,\"\xF0\x9F\x98\x80\":1}");
}

TEST(CanonicalJson, RemovesInsignificantWhitespaceAndKeepsArrayOrder) {
  EXPECT_EQ(Canonical(" {\n\t\"a\" : [ 3 , 1 ,2 ] ,\r\n \"b\" : { } , \"c\": [ ] } "),
            R"({"a":[3,1,2],"b":{},"c":[]})");
  EXPECT_EQ(Canonical(" [ true , false , null ] "), "[true,false,null]");
}

TEST(CanonicalJson, EscapesStringsMinimallyAndWritesNonAsciiRaw) {
  EXPECT_EQ(Canonical(R"("\u0041\/\u00e9\u001F\b\f\n\r\t\"\\\u007f\u0000")"),
            "\"A/\xC3\xA9\\u001f\\b\\f\\n\\r\\t\\\"\\\\\x7f\\u0000\"");
  EXPECT_EQ(Canonical("\"\xC3\xA9\""), Canonical(R"("\u00E9")"));
  EXPECT_EQ(Canonical(R"("\ud83d\ude00")"), "\"\xF0\x9F\x98\x80\"");
}

TEST(CanonicalJson, WritesIntegersInShortestDecimal) {
  EXPECT_EQ(Canonical("[-0,0,7,-12]"), "[0,0,7,-12]");
  EXPECT_EQ(Canonical("[-9223372036854775808,9223372036854775807]"),
            "[-9223372036854775808,9223372036854775807]");
}

TEST(CanonicalJson, RefusesFloats) {
  for (const char* text :
       {"1.0", "1e2", "0.5", R"({"guard":{"max_regression_pct":2.5}})", "[1,-1.5E-3]"}) {
    Result<std::string> r = CanonicalJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_EQ(r.error().message.rfind("canonical JSON allows integers only: ", 0), 0u)
        << r.error().message;
  }
  EXPECT_NE(CanonicalJson(R"({"guard":{"max_regression_pct":2.5}})")
                .error()
                .message.find("$.guard.max_regression_pct is 2.5"),
            std::string::npos);
}

TEST(CanonicalJson, RefusesIntegersOutsideSigned64Bits) {
  for (const char* text :
       {"9223372036854775808", "-9223372036854775809", "123456789012345678901"}) {
    Result<std::string> r = CanonicalJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << text;
  }
}

TEST(CanonicalJson, RefusesDuplicateKeysComparedAfterUnescaping) {
  for (const char* text :
       {R"({"a":1,"a":2})", R"({"a":1,"\u0061":2})", R"([{"x":{"k":1,"k":1}}])"}) {
    Result<std::string> r = CanonicalJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(r.error().message.find("duplicate"), std::string::npos) << r.error().message;
  }
}

TEST(CanonicalJson, RefusesInvalidUtf8AndUnpairedSurrogates) {
  for (const char* text :
       {"\"\xC3\x28\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xFF\"",
        "\"\xE2\x82\"", R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")"}) {
    Result<std::string> r = CanonicalJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kParseFailed) << text;
  }
}

TEST(CanonicalJson, RefusesTextThatIsNotJson) {
  for (const char* text :
       {"",      " ",      "{",    "[1,]",     R"({"a" 1})",     R"({"a":1,})", "01", "+1",
        "tru",   "\"open", "{} x", "\"a\tb\"", "\xEF\xBB\xBF{}", R"("\x")",     "1.", "-",
        "[1 2]", "{1:2}",  "'a'",  "NaN"}) {
    Result<std::string> r = CanonicalJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kParseFailed) << text;
    EXPECT_EQ(r.error().message.rfind("invalid JSON at byte ", 0), 0u) << r.error().message;
  }
}

TEST(CanonicalJson, AcceptsNestingUpTo64Levels) {
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_EQ(Canonical(ok), ok);
  const std::string deep = std::string(65, '[') + std::string(65, ']');
  Result<std::string> r = CanonicalJson(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(CanonicalJson, MessagesDoNotQuoteLongInput) {
  const std::string number = "1." + std::string(500, '7');
  Result<std::string> r = CanonicalJson(R"({")" + std::string(300, 'k') + R"(":)" + number + "}");
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.error().message.size(), 200u) << r.error().message;
}

TEST(CanonicalJson, WithoutDropsOnlyTheTopLevelKey) {
  Result<std::string> r =
      CanonicalJsonWithout(R"({"signature":"x","b":{"signature":"y"},"a":1})", "signature");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, R"({"a":1,"b":{"signature":"y"}})");
  Result<std::string> absent = CanonicalJsonWithout(R"({"a":1})", "signature");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, R"({"a":1})");
}

TEST(CanonicalJson, WithoutStillChecksTheDroppedValueAndWantsAnObject) {
  Result<std::string> float_value = CanonicalJsonWithout(R"({"signature":1.5})", "signature");
  ASSERT_FALSE(float_value.ok());
  EXPECT_EQ(float_value.error().code, ErrorCode::kInvalidArgument);
  Result<std::string> dup =
      CanonicalJsonWithout(R"({"signature":"a","signature":"b"})", "signature");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidArgument);
  Result<std::string> array = CanonicalJsonWithout("[1]", "signature");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace optischema::protocol
