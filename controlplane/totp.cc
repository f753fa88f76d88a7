#include "controlplane/totp.h"

#include <liboath/oath.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>

namespace optischema::controlplane {
namespace {

constexpr std::size_t kSecretBytes = 20;
constexpr std::size_t kDriftSteps = 1;

bool InitOnce() {
  static const bool ok = oath_init() == OATH_OK;
  return ok;
}

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
using OathBuffer = std::unique_ptr<char, FreeDeleter>;

}  // namespace

Result<std::string> NewTotpSecret() {
  std::array<char, kSecretBytes> secret{};
  if (!InitOnce() ||
      RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), kSecretBytes) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot draw a random TOTP secret");
  }
  char* out = nullptr;
  std::size_t out_length = 0;
  if (oath_base32_encode(secret.data(), secret.size(), &out, &out_length) != OATH_OK) {
    return MakeError(ErrorCode::kInternal, "cannot encode the TOTP secret");
  }
  const OathBuffer owned(out);
  std::string encoded(out, out_length);
  encoded.erase(std::remove(encoded.begin(), encoded.end(), '='), encoded.end());
  return encoded;
}

Result<std::string> TotpCode(std::string_view secret, int64_t now_s, unsigned digits,
                             TotpHash hash) {
  const int flags = hash == TotpHash::kSha256   ? OATH_TOTP_HMAC_SHA256
                    : hash == TotpHash::kSha512 ? OATH_TOTP_HMAC_SHA512
                                                : 0;
  std::array<char, 16> code{};
  if (!InitOnce() || digits > 8 ||
      oath_totp_generate2(secret.data(), secret.size(), static_cast<time_t>(now_s),
                          kTotpStepSeconds, 0, digits, flags, code.data()) != OATH_OK) {
    return MakeError(ErrorCode::kInternal, "cannot compute a TOTP code");
  }
  return std::string(code.data());
}

bool VerifyTotp(const std::string& secret_base32, std::string_view code, int64_t now_s) {
  if (!InitOnce() || code.size() != kTotpDigits ||
      !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  char* secret = nullptr;
  std::size_t secret_length = 0;
  if (oath_base32_decode(secret_base32.data(), secret_base32.size(), &secret, &secret_length) !=
      OATH_OK) {
    return false;
  }
  const OathBuffer owned(secret);
  const std::string otp(code);
  // oath_totp_validate returns the matching step's distance (>= 0) or a negative error.
  return oath_totp_validate(secret, secret_length, static_cast<time_t>(now_s), kTotpStepSeconds,
                            0, kDriftSteps, otp.c_str()) >= 0;
}

}  // namespace optischema::controlplane
