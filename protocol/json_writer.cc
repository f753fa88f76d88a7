#include "protocol/json_writer.h"

#include <charconv>
#include <cmath>

#include "core/utf8.h"

namespace optischema::protocol {

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_member_.empty()) {
    if (has_member_.back() != 0) out_.push_back(',');
    has_member_.back() = 1;
  }
}

void JsonWriter::Open(char c) {
  BeforeValue();
  out_.push_back(c);
  has_member_.push_back(0);
}

void JsonWriter::Close(char c) {
  out_.push_back(c);
  has_member_.pop_back();
}

void JsonWriter::Key(std::string_view key) {
  BeforeValue();
  WriteEscaped(key);
  out_.push_back(':');
  after_key_ = true;
}

void JsonWriter::PlainKey(std::string_view key) {
  BeforeValue();
  out_.push_back('"');
  out_.append(key);
  out_.append("\":", 2);
  after_key_ = true;
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  WriteEscaped(value);
}

void JsonWriter::WriteEscaped(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out_.push_back('"');
  const auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; };
  for (std::size_t i = 0; i < value.size();) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (plain(c)) {
      // A run of characters that need no escaping is copied at once.
      std::size_t end = i + 1;
      while (end < value.size() && plain(static_cast<unsigned char>(value[end]))) ++end;
      out_.append(value.data() + i, end - i);
      i = end;
      continue;
    }
    switch (c) {
      case '"':
        out_ += "\\\"";
        ++i;
        continue;
      case '\\':
        out_ += "\\\\";
        ++i;
        continue;
      case '\n':
        out_ += "\\n";
        ++i;
        continue;
      case '\r':
        out_ += "\\r";
        ++i;
        continue;
      case '\t':
        out_ += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      out_ += "\\u00";
      out_.push_back(kHex[c >> 4]);
      out_.push_back(kHex[c & 0x0F]);
      ++i;
      continue;
    }
    const std::size_t n = Utf8SequenceLength(value, i);
    if (n == 0) {
      out_ += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out_.append(value.substr(i, n));
      i += n;
    }
  }
  out_.push_back('"');
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, end);
}

void JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, end);
}

void JsonWriter::Double(double value) {
  BeforeValue();
  if (!std::isfinite(value)) {
    out_ += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);  // shortest round trip
  out_.append(buf, end);
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
}

void JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
}

void JsonWriter::StringOrNull(const std::optional<std::string>& value) {
  if (value) {
    String(*value);
  } else {
    Null();
  }
}

void JsonWriter::IntOrNull(std::optional<int64_t> value) {
  if (value) {
    Int(*value);
  } else {
    Null();
  }
}

void JsonWriter::DoubleOrNull(std::optional<double> value) {
  if (value) {
    Double(*value);
  } else {
    Null();
  }
}

}  // namespace optischema::protocol
