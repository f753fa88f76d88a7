#include "controlplane/signing_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>

#include "controlplane/data_directory.h"
#include "core/file_io.h"
#include "core/uuid.h"
#include "protocol/base64.h"
#include "protocol/ed25519.h"
#include "protocol/openssl_handles.h"

namespace optischema::controlplane {
namespace {

constexpr std::size_t kKeyBytes = 32;
// A key file is one line of 44 characters; what lies beyond this is not read.
constexpr std::size_t kMaxKeyFileBytes = 1024;

std::string KeyPath(const std::string& data_dir) { return data_dir + "/" + kSigningKeyFileName; }

Error NoKey(const std::string& data_dir) {
  return MakeError(ErrorCode::kConfig, "no signing key in " + data_dir +
                                           ": run `optischema-controlplane keys init --data " +
                                           data_dir + "` first");
}

bool Exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

}  // namespace

Result<std::string> Ed25519PublicKeyOf(std::string_view private_key_b64) {
  Result<std::string> seed = protocol::Base64Decode(private_key_b64);
  if (!seed.ok() || seed->size() != kKeyBytes) {
    if (seed.ok()) OPENSSL_cleanse(seed->data(), seed->size());
    return MakeError(ErrorCode::kConfig, "not an Ed25519 private key (base64 of 32 bytes)");
  }
  const protocol::Pkey key(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed->data()), kKeyBytes));
  OPENSSL_cleanse(seed->data(), seed->size());
  std::array<unsigned char, kKeyBytes> public_key{};
  std::size_t length = public_key.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), public_key.data(), &length) != 1 ||
      length != kKeyBytes) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInternal, "OpenSSL could not derive the Ed25519 public key");
  }
  return protocol::Base64Encode(
      std::string_view(reinterpret_cast<const char*>(public_key.data()), length));
}

Result<std::string> CreateSigningKey(const std::string& data_dir, bool replace) {
  const std::string path = KeyPath(data_dir);
  if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoErrorFromErrno(data_dir, "cannot create directory");
  }
  if (Status st = MakeDataDirectoryPrivate(data_dir); !st.ok()) return std::move(st).error();
  const Error exists =
      MakeError(ErrorCode::kConfig, path +
                                        " exists already; keys init --force replaces it, and "
                                        "recommendations approved with it no longer verify");
  if (!replace && Exists(path)) return exists;
  Result<protocol::Ed25519KeyPair> pair = protocol::GenerateEd25519KeyPair();
  RETURN_IF_ERROR(pair);
  std::string line = pair->private_key_b64 + "\n";
  const std::string temporary = data_dir + "/." + kSigningKeyFileName + "." + NewUuidV4();
  Status written = WriteNewFileSynced(SystemFs(), temporary, line);
  OPENSSL_cleanse(line.data(), line.size());
  OPENSSL_cleanse(pair->private_key_b64.data(), pair->private_key_b64.size());
  if (!written.ok()) {
    ::unlink(temporary.c_str());
    return std::move(written).error();
  }
  // Without `replace`, link() refuses atomically should a key have appeared meanwhile.
  const bool placed = replace ? ::rename(temporary.c_str(), path.c_str()) == 0
                              : ::link(temporary.c_str(), path.c_str()) == 0;
  const int place_errno = errno;
  ::unlink(temporary.c_str());
  if (!placed) {
    if (!replace && place_errno == EEXIST) return exists;
    errno = place_errno;
    return IoErrorFromErrno(path, "cannot put the new key in place");
  }
  if (Status st = SyncDirectory(SystemFs(), data_dir); !st.ok()) return std::move(st).error();
  return pair->public_key_b64;
}

Result<std::string> ReadSigningKey(const std::string& data_dir) {
  const std::string path = KeyPath(data_dir);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return NoKey(data_dir);
    return IoErrorFromErrno(path, "cannot open");
  }
  std::string text(kMaxKeyFileBytes, '\0');
  std::size_t length = 0;
  while (length < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + length, text.size() - length);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      OPENSSL_cleanse(text.data(), text.size());
      return IoErrorFromErrno(path, "cannot read");
    }
    length += static_cast<std::size_t>(n);
  }
  text.resize(length);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (Result<std::string> public_key = Ed25519PublicKeyOf(text); !public_key.ok()) {
    OPENSSL_cleanse(text.data(), text.size());
    return MakeError(ErrorCode::kConfig,
                     path + " does not hold a signing key: " + public_key.error().message +
                         "; keys init --force makes a new one");
  }
  return text;
}

}  // namespace optischema::controlplane
