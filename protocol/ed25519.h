#pragma once

// Ed25519 (RFC 8032, pure variant: the message itself is signed, no pre-hash) over OpenSSL 3.
// Keys and signatures travel as standard base64 with padding (protocol/base64.h) of their raw
// RFC 8032 bytes:
//   public key  32 bytes (44 characters)
//   private key 32-byte seed, the RFC's "secret key" (44 characters)
//   signature   64 bytes (88 characters)
// PEM and DER encodings are not accepted. Stateless and thread-safe; OpenSSL's error queue is
// left empty on return.

#include <string>
#include <string_view>

#include "core/result.h"

namespace optischema::protocol {

struct Ed25519KeyPair {
  std::string public_key_b64;
  std::string private_key_b64;  // a secret: never log it
};

// A fresh key pair from OpenSSL's CSPRNG. kInternal when OpenSSL fails.
Result<Ed25519KeyPair> GenerateEd25519KeyPair();

// The base64 signature of message. Errors: kConfig when private_key_b64 is not base64 of a
// 32-byte seed (the message never contains the key), kInternal when OpenSSL fails.
Result<std::string> Ed25519Sign(std::string_view private_key_b64, std::string_view message);

// OK only when signature_b64 is a valid signature of exactly these message bytes by this key.
// Errors, checked in this order:
//   kConfig           public_key_b64 is not base64 of 32 bytes: the configured
//                     recommendation_public_key is wrong, so nothing will ever verify;
//   kInvalidArgument  signature_b64 is not base64 of 64 bytes: the sender is broken;
//   kPermissionDenied the signature does not verify: the message was altered after signing,
//                     or signed with another key. Do not act on the message;
//   kInternal         OpenSSL failed.
Status Ed25519Verify(std::string_view public_key_b64, std::string_view message,
                     std::string_view signature_b64);

}  // namespace optischema::protocol
