#pragma once

// Certificates for tests of TLS: freshly generated EC P-256 material written as PEM files.
//
// WriteTestCertificates writes into an existing directory:
//   ca.pem        a test CA (basicConstraints CA:TRUE), valid now: the file to trust;
//   server.pem    a server certificate signed by that CA for the options' DNS names and, unless
//   server.key    turned off, IP 127.0.0.1; its key;
//   wrong-ca.pem  a second, unrelated CA, for tests expecting verification to fail.
// A valid server certificate runs from an hour ago (a clock slightly behind still accepts it) for
// a day; an expired one ended a day ago. Every call makes new keys and CAs.
//
// Thread-safe: calls share no state (OpenSSL's error queue is per thread).

#include <string>
#include <vector>

namespace optischema::testing {

struct TestCertificateOptions {
  // DNS names in the server certificate's subjectAltName; the first is also its common name.
  std::vector<std::string> dns_names = {"localhost"};
  // Whether the subjectAltName also lists IP 127.0.0.1.
  bool loopback_ip = true;
  // Whether the server certificate's notAfter lies in the past (the CA stays valid).
  bool expired = false;
};

// Paths of the files written, all inside the directory given.
struct TestCertificateFiles {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string wrong_ca_file;
};

// Writes the files above into `dir`, replacing files of the same names. Throws
// std::runtime_error naming the failed step (with OpenSSL's reason).
TestCertificateFiles WriteTestCertificates(const std::string& dir,
                                           const TestCertificateOptions& options);

}  // namespace optischema::testing
