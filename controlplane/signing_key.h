#pragma once

// The control plane's Ed25519 signing key for recommendations. DATA_DIR/signing.key holds the
// base64 private key (the 32-byte seed of protocol/ed25519.h) and a newline, mode 0600; the
// public key, for the agent's `recommendation_public_key`, is derived from it.
//
// Stateless and thread-safe. Error messages never contain the private key.

#include <string>
#include <string_view>

#include "core/result.h"

namespace optischema::controlplane {

inline constexpr char kSigningKeyFileName[] = "signing.key";

// Makes a key pair and writes the private key durably (a temporary file in the directory,
// fsync, rename, fsync of the directory; mode 0600); returns the public key. Creates `data_dir`
// when missing and makes it private (data_directory.h). Errors: kConfig when a key exists and not
// `replace` (it is kept), kIo naming the file, kInternal when OpenSSL fails.
Result<std::string> CreateSigningKey(const std::string& data_dir, bool replace);

// The private key of `data_dir`. kConfig when there is none (the message says to run `keys
// init`) or the file holds no valid key; kIo when it cannot be read.
Result<std::string> ReadSigningKey(const std::string& data_dir);

// The public key of a private key, both base64. kConfig when `private_key_b64` is not base64 of
// 32 bytes, kInternal when OpenSSL fails.
Result<std::string> Ed25519PublicKeyOf(std::string_view private_key_b64);

}  // namespace optischema::controlplane
