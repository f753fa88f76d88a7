#include "protocol/base64.h"

#include <array>
#include <cstdint>

namespace optischema::protocol {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr int8_t kInvalid = -1;
constexpr int8_t kPad = -2;

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  table[static_cast<unsigned char>('=')] = kPad;
  return table;
}

constexpr std::array<int8_t, 256> kDecode = MakeDecodeTable();

Error Refuse(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "not standard base64: " + what);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto byte = [&](std::size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[i]));
  };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63],
            kAlphabet[n & 63]};
  }
  if (bytes.size() - i == 1) {
    const uint32_t n = byte(i) << 16;
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (bytes.size() - i == 2) {
    const uint32_t n = byte(i) << 16 | byte(i + 1) << 8;
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Refuse("length " + std::to_string(text.size()) + " is not a multiple of 4");
  }
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  const std::size_t symbols = text.size() - padding;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  for (std::size_t i = 0; i < symbols; ++i) {
    const int8_t v = kDecode[static_cast<unsigned char>(text[i])];
    if (v == kPad) return Refuse("'=' at offset " + std::to_string(i) + " before the end");
    if (v == kInvalid) {
      return Refuse("character at offset " + std::to_string(i) + " is outside the alphabet");
    }
    acc = acc << 6 | static_cast<uint32_t>(v);
    if (i % 4 == 3) {
      out += {static_cast<char>(acc >> 16), static_cast<char>((acc >> 8) & 0xFF),
              static_cast<char>(acc & 0xFF)};
      acc = 0;
    }
  }
  // The last quantum holds 2 symbols (12 bits → 1 byte) or 3 symbols (18 bits → 2 bytes); the
  // leftover low bits must be zero so that no two texts decode to the same bytes.
  if (padding == 2) {
    if ((acc & 0x0F) != 0) return Refuse("non-zero unused bits before the padding");
    out.push_back(static_cast<char>(acc >> 4));
  } else if (padding == 1) {
    if ((acc & 0x03) != 0) return Refuse("non-zero unused bits before the padding");
    out += {static_cast<char>(acc >> 10), static_cast<char>((acc >> 2) & 0xFF)};
  }
  return out;
}

}  // namespace optischema::protocol
