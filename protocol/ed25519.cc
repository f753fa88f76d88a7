#include "protocol/ed25519.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>
#include <memory>

#include "protocol/base64.h"
#include "protocol/openssl_handles.h"

namespace optischema::protocol {

namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kSignatureBytes = 64;

// Wipes a buffer holding secret bytes when it goes out of scope.
class Wipe {
 public:
  explicit Wipe(void* data, std::size_t size) : data_(data), size_(size) {}
  Wipe(const Wipe&) = delete;
  Wipe& operator=(const Wipe&) = delete;
  ~Wipe() {
    if (size_ > 0) OPENSSL_cleanse(data_, size_);
  }

 private:
  void* data_;
  std::size_t size_;
};

const unsigned char* Bytes(std::string_view s) {
  static constexpr unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

// An error naming what OpenSSL was doing, with its first queued reason; empties the queue so the
// next OpenSSL user on this thread (libcurl's TLS) does not see stale errors.
Error OpenSslError(const char* what) {
  const unsigned long code = ERR_get_error();
  char reason[256] = "no reason given";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  return MakeError(ErrorCode::kInternal, std::string("OpenSSL ") + what + " failed: " + reason);
}

// Why a decoded key of the wrong size is wrong, for the common mix-ups.
std::string KeySizeHint(std::size_t bytes) {
  std::string hint = "decodes to " + std::to_string(bytes) + " bytes";
  if (bytes == 64) hint += " (a seed followed by the public key? give only the first 32 bytes)";
  if (bytes == 44 || bytes == 48) hint += " (a DER key? give the raw 32 bytes)";
  return hint;
}

}  // namespace

Result<Ed25519KeyPair> GenerateEd25519KeyPair() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) return OpenSslError("Ed25519 keygen init");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) != 1) return OpenSslError("Ed25519 keygen");
  const Pkey key(raw);
  std::array<unsigned char, kKeyBytes> pub{};
  std::array<unsigned char, kKeyBytes> priv{};
  const Wipe wipe(priv.data(), priv.size());
  std::size_t pub_len = pub.size();
  std::size_t priv_len = priv.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &pub_len) != 1 ||
      EVP_PKEY_get_raw_private_key(key.get(), priv.data(), &priv_len) != 1 ||
      pub_len != kKeyBytes || priv_len != kKeyBytes) {
    return OpenSslError("Ed25519 raw key export");
  }
  const auto text = [](const auto& bytes) {
    return Base64Encode(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  };
  return Ed25519KeyPair{text(pub), text(priv)};
}

Result<std::string> Ed25519Sign(std::string_view private_key_b64, std::string_view message) {
  Result<std::string> seed = Base64Decode(private_key_b64);
  const Wipe wipe(seed.ok() ? seed->data() : nullptr, seed.ok() ? seed->size() : 0);
  if (!seed.ok() || seed->size() != kKeyBytes) {
    return MakeError(ErrorCode::kConfig,
                     "Ed25519 private key: not a base64 32-byte seed: " +
                         (seed.ok() ? KeySizeHint(seed->size()) : seed.error().message));
  }
  const Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(*seed), kKeyBytes));
  if (!key) return OpenSslError("Ed25519 private key import");
  const MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return OpenSslError("Ed25519 sign init");
  }
  std::array<unsigned char, kSignatureBytes> signature{};
  std::size_t signature_len = signature.size();
  if (EVP_DigestSign(ctx.get(), signature.data(), &signature_len, Bytes(message), message.size()) !=
          1 ||
      signature_len != kSignatureBytes) {
    return OpenSslError("Ed25519 sign");
  }
  return Base64Encode(
      std::string_view(reinterpret_cast<const char*>(signature.data()), signature.size()));
}

Status Ed25519Verify(std::string_view public_key_b64, std::string_view message,
                     std::string_view signature_b64) {
  const Result<std::string> pub = Base64Decode(public_key_b64);
  if (!pub.ok() || pub->size() != kKeyBytes) {
    return MakeError(ErrorCode::kConfig,
                     "recommendation_public_key: not a base64 Ed25519 public key (32 bytes): " +
                         (pub.ok() ? KeySizeHint(pub->size()) : pub.error().message) +
                         "; copy the control plane's public key exactly");
  }
  const Result<std::string> signature = Base64Decode(signature_b64);
  if (!signature.ok() || signature->size() != kSignatureBytes) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "signature: not a base64 Ed25519 signature (64 bytes): " +
            (signature.ok() ? "decodes to " + std::to_string(signature->size()) + " bytes"
                            : signature.error().message));
  }
  const Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(*pub), kKeyBytes));
  if (!key) return OpenSslError("Ed25519 public key import");
  const MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return OpenSslError("Ed25519 verify init");
  }
  const int verified = EVP_DigestVerify(ctx.get(), Bytes(*signature), signature->size(),
                                        Bytes(message), message.size());
  if (verified == 1) return OkStatus();
  if (verified < 0) return OpenSslError("Ed25519 verify");
  ERR_clear_error();
  return MakeError(ErrorCode::kPermissionDenied,
                   "signature does not verify with recommendation_public_key: the content was "
                   "changed after signing, or signed with another key");
}

}  // namespace optischema::protocol
