#include "tests/support/test_certificates.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>

namespace optischema::testing {
namespace {

constexpr char kLoopback[] = "127.0.0.1";
constexpr long kDaySeconds = 24 * 60 * 60;
constexpr long kBackdateSeconds = 60 * 60;  // tolerate a clock that is slightly behind

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct ExtensionFree {
  void operator()(X509_EXTENSION* extension) const { X509_EXTENSION_free(extension); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free_all(bio); }
};
using Key = std::unique_ptr<EVP_PKEY, PkeyFree>;
using KeyContext = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using Certificate = std::unique_ptr<X509, X509Free>;
using Extension = std::unique_ptr<X509_EXTENSION, ExtensionFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

// Throws `what` with the oldest error on OpenSSL's queue, and empties the queue.
[[noreturn]] void ThrowOpenSsl(const std::string& what) {
  char detail[256] = "no OpenSSL error queued";
  if (const unsigned long code = ERR_get_error(); code != 0) {
    ERR_error_string_n(code, detail, sizeof detail);
  }
  ERR_clear_error();
  throw std::runtime_error(what + ": " + detail);
}

Key NewP256Key() {
  const KeyContext ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") <= 0 ||
      EVP_PKEY_generate(ctx.get(), &key) <= 0) {
    ThrowOpenSsl("generating an EC P-256 key");
  }
  return Key(key);
}

// A key and the certificate for it.
struct Identity {
  Key key;
  Certificate cert;
};

// Validity period as offsets from now, in seconds.
struct Validity {
  long not_before = -kBackdateSeconds;
  long not_after = kDaySeconds;
};

// Adds the extension `nid` = `value` (openssl.cnf syntax) to `cert`, issued by `issuer`.
void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  const Extension extension(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (extension == nullptr || X509_add_ext(cert, extension.get(), -1) != 1) {
    ThrowOpenSsl(std::string("adding ") + OBJ_nid2sn(nid) + " = " + value);
  }
}

// A version 3 certificate for a new key with subject CN=`common_name`, a random serial number and
// no extensions yet; self-issued when `issuer` is null.
Identity NewCertificate(const std::string& common_name, const Identity* issuer, Validity validity) {
  Identity identity{NewP256Key(), Certificate(X509_new())};
  X509* cert = identity.cert.get();
  uint64_t serial = 0;
  if (cert == nullptr || X509_set_version(cert, X509_VERSION_3) != 1 ||
      RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1 ||
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial >> 1) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert), validity.not_before) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert), validity.not_after) == nullptr ||
      X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_issuer_name(cert, X509_get_subject_name(issuer ? issuer->cert.get() : cert)) != 1 ||
      X509_set_pubkey(cert, identity.key.get()) != 1) {
    ThrowOpenSsl("preparing the certificate for " + common_name);
  }
  return identity;
}

void Sign(const Identity& subject, const Identity& issuer) {
  if (X509_sign(subject.cert.get(), issuer.key.get(), EVP_sha256()) <= 0) {
    ThrowOpenSsl("signing a certificate");
  }
}

Identity NewCa(const std::string& common_name) {
  Identity ca = NewCertificate(common_name, nullptr, Validity{});
  X509* cert = ca.cert.get();
  AddExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(cert, cert, NID_subject_key_identifier, "hash");
  Sign(ca, ca);
  return ca;
}

Identity NewServerIdentity(const Identity& ca, const TestCertificateOptions& options) {
  const std::string common_name = options.dns_names.empty() ? kLoopback : options.dns_names[0];
  const Validity validity = options.expired ? Validity{-2 * kDaySeconds, -kDaySeconds} : Validity{};
  Identity server = NewCertificate(common_name, &ca, validity);
  X509* cert = server.cert.get();
  std::string alt_names;
  for (const std::string& name : options.dns_names) {
    alt_names += (alt_names.empty() ? "DNS:" : ",DNS:") + name;
  }
  if (options.loopback_ip) {
    alt_names += (alt_names.empty() ? "IP:" : ",IP:") + std::string(kLoopback);
  }
  AddExtension(cert, ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert, ca.cert.get(), NID_key_usage, "critical,digitalSignature");
  AddExtension(cert, ca.cert.get(), NID_ext_key_usage, "serverAuth");
  AddExtension(cert, ca.cert.get(), NID_subject_key_identifier, "hash");
  AddExtension(cert, ca.cert.get(), NID_authority_key_identifier, "keyid:always");
  if (!alt_names.empty()) AddExtension(cert, ca.cert.get(), NID_subject_alt_name, alt_names);
  Sign(server, ca);
  return server;
}

void WriteCertificate(const std::string& path, X509* cert) {
  const Bio bio(BIO_new_file(path.c_str(), "w"));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1 || BIO_flush(bio.get()) != 1) {
    ThrowOpenSsl("writing " + path);
  }
}

void WriteKey(const std::string& path, EVP_PKEY* key) {
  const Bio bio(BIO_new_file(path.c_str(), "w"));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      BIO_flush(bio.get()) != 1) {
    ThrowOpenSsl("writing " + path);
  }
}

}  // namespace

TestCertificateFiles WriteTestCertificates(const std::string& dir,
                                           const TestCertificateOptions& options) {
  TestCertificateFiles files{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key",
                             dir + "/wrong-ca.pem"};
  const Identity ca = NewCa("optischema test CA");
  const Identity server = NewServerIdentity(ca, options);
  const Identity wrong_ca = NewCa("optischema unrelated test CA");
  WriteCertificate(files.ca_file, ca.cert.get());
  WriteCertificate(files.wrong_ca_file, wrong_ca.cert.get());
  WriteCertificate(files.cert_file, server.cert.get());
  WriteKey(files.key_file, server.key.get());
  return files;
}

}  // namespace optischema::testing
