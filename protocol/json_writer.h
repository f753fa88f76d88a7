#pragma once

// JsonWriter: appends compact JSON to a string, without building a document tree, so a snapshot
// of thousands of statements is serialised in one pass and one buffer. The caller is responsible
// for a well-formed sequence of calls (Key before each value inside an object); the writer places
// commas. Strings are emitted as valid UTF-8: invalid bytes become U+FFFD. Non-finite doubles are
// written as null. Not thread-safe; one writer per output string.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace optischema::protocol {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  void Key(std::string_view key);
  // Key() for a key known to need no escaping: printable ASCII (0x20-0x7e) without '"' or '\',
  // such as the protocol's field names. Writes the same bytes as Key() without inspecting them.
  void PlainKey(std::string_view key);

  void String(std::string_view value);
  void Int(int64_t value);
  void Uint(uint64_t value);
  void Double(double value);
  void Bool(bool value);
  void Null();
  // The value, or null when there is none.
  void StringOrNull(const std::optional<std::string>& value);
  void IntOrNull(std::optional<int64_t> value);
  void DoubleOrNull(std::optional<double> value);

 private:
  void BeforeValue();
  void WriteEscaped(std::string_view value);
  void Open(char c);
  void Close(char c);

  std::string& out_;
  std::vector<uint8_t> has_member_;  // per open container: 1 when a comma is due before the next member
  bool after_key_ = false;
};

}  // namespace optischema::protocol
