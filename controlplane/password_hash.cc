#include "controlplane/password_hash.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <array>
#include <condition_variable>
#include <mutex>

namespace optischema::controlplane {
namespace {

constexpr uint32_t kLanes = 1;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::size_t kRandomPasswordLength = 20;
constexpr std::string_view kPasswordAlphabet =
    "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

// Bounds how many hashes run at once (each holds kArgon2MemoryKib).
class HashSlots {
 public:
  void Acquire() {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [this] { return in_use_ < kMaxConcurrentHashes; });
    ++in_use_;
  }
  void Release() {
    {
      std::lock_guard lock(mutex_);
      --in_use_;
    }
    freed_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable freed_;
  int in_use_ = 0;
};

HashSlots& Slots() {
  static HashSlots slots;
  return slots;
}

class SlotGuard {
 public:
  SlotGuard() { Slots().Acquire(); }
  ~SlotGuard() { Slots().Release(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;
};

}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  std::array<unsigned char, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot draw a random salt for the password hash");
  }
  std::string encoded(
      argon2_encodedlen(kArgon2Passes, kArgon2MemoryKib, kLanes, salt.size(), kHashBytes,
                        Argon2_id),
      '\0');
  SlotGuard slot;
  const int rc =
      argon2id_hash_encoded(kArgon2Passes, kArgon2MemoryKib, kLanes, password.data(),
                            password.size(), salt.data(), salt.size(), kHashBytes, encoded.data(),
                            encoded.size());
  if (rc != ARGON2_OK) {
    return MakeError(ErrorCode::kInternal,
                     std::string("cannot hash the password: ") + argon2_error_message(rc));
  }
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(const std::string& encoded, std::string_view password) {
  if (encoded.rfind("$argon2id$", 0) != 0) return false;
  SlotGuard slot;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

Status CheckNewPassword(std::string_view password) {
  if (password.size() < kMinPasswordLength) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the password is too short: use at least " +
                         std::to_string(kMinPasswordLength) + " characters");
  }
  return OkStatus();
}

Result<std::string> NewRandomPassword() {
  // Bytes at or above the largest multiple of the alphabet's size are drawn again, so every
  // character is equally likely.
  const std::size_t limit = 256 - 256 % kPasswordAlphabet.size();
  std::string password;
  while (password.size() < kRandomPasswordLength) {
    unsigned char byte = 0;
    if (RAND_bytes(&byte, 1) != 1) {
      return MakeError(ErrorCode::kInternal, "cannot draw a random password");
    }
    if (byte < limit) password += kPasswordAlphabet[byte % kPasswordAlphabet.size()];
  }
  return password;
}

}  // namespace optischema::controlplane
