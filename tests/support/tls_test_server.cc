#include "tests/support/tls_test_server.h"

// The build defines CPPHTTPLIB_OPENSSL_SUPPORT (and the zlib support that decompresses gzip
// request bodies) to match the compiled libcpp-httplib.
#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace optischema::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kDirPrefix[] = "optischema-tls-";
constexpr char kLoopback[] = "127.0.0.1";
constexpr long kValiditySeconds = 24 * 60 * 60;
constexpr long kBackdateSeconds = 60 * 60;  // tolerate a clock that is slightly behind
constexpr auto kStartTimeout = std::chrono::seconds(10);
// How long an idle kept-alive connection delays stopping.
constexpr time_t kKeepAliveSeconds = 1;

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

// Adds the extension `nid` = `value` (openssl.cnf syntax) to `cert`, issued by `issuer`.
void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  const Extension extension(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (extension == nullptr || X509_add_ext(cert, extension.get(), -1) != 1) {
    ThrowOpenSsl(std::string("adding ") + OBJ_nid2sn(nid) + " = " + value);
  }
}

// A version 3 certificate for a new key with subject CN=`common_name`, valid from an hour ago
// for a day, with a random serial number and no extensions yet; self-issued when `issuer` is null.
Identity NewCertificate(const std::string& common_name, const Identity* issuer) {
  Identity identity{NewP256Key(), Certificate(X509_new())};
  X509* cert = identity.cert.get();
  uint64_t serial = 0;
  if (cert == nullptr || X509_set_version(cert, X509_VERSION_3) != 1 ||
      RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1 ||
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial >> 1) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert), -kBackdateSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert), kValiditySeconds) == nullptr ||
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
  Identity ca = NewCertificate(common_name, nullptr);
  X509* cert = ca.cert.get();
  AddExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(cert, cert, NID_subject_key_identifier, "hash");
  Sign(ca, ca);
  return ca;
}

Identity NewServerIdentity(const Identity& ca, const TlsTestServer::Options& options) {
  const std::string common_name = options.dns_names.empty() ? kLoopback : options.dns_names[0];
  Identity server = NewCertificate(common_name, &ca);
  X509* cert = server.cert.get();
  std::string alt_names;
  for (const std::string& name : options.dns_names) {
    alt_names += (alt_names.empty() ? "DNS:" : ",DNS:") + name;
  }
  if (options.loopback_ip)
    alt_names += (alt_names.empty() ? "IP:" : ",IP:") + std::string(kLoopback);
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

// Header names lower-cased, repeated headers joined with ", ". cpp-httplib adds the peer's and
// its own address as pseudo-headers; those are not what the client sent and are left out.
std::map<std::string, std::string> ClientHeaders(const httplib::Headers& headers) {
  std::map<std::string, std::string> result;
  for (const auto& [raw_name, value] : headers) {
    if (raw_name == "REMOTE_ADDR" || raw_name == "REMOTE_PORT" || raw_name == "LOCAL_ADDR" ||
        raw_name == "LOCAL_PORT") {
      continue;
    }
    std::string name = raw_name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto [it, inserted] = result.try_emplace(std::move(name), value);
    if (!inserted) it->second += ", " + value;
  }
  return result;
}

}  // namespace

struct TlsTestServer::State {
  // Stops the server, joins its threads and removes the directory, however far Start got.
  ~State() {
    {
      std::lock_guard lock(mutex);
      shutting_down = true;
    }
    shutdown.notify_all();
    if (server != nullptr) server->stop();
    if (thread.joinable()) thread.join();
    std::error_code error;
    if (!dir.empty() && fs::remove_all(dir, error) == static_cast<std::uintmax_t>(-1)) {
      std::cerr << "TlsTestServer: cannot remove " << dir << ": " << error.message() << "\n";
    }
  }

  // Records the request and answers it with the current handler's response.
  void Serve(const httplib::Request& request, httplib::Response& response) {
    RecordedRequest recorded{request.method, request.target, ClientHeaders(request.headers),
                             request.body};
    Handler current;
    {
      std::lock_guard lock(mutex);
      requests.push_back(recorded);
      current = handler;
    }
    const TestResponse answer = current ? current(recorded) : TestResponse{};
    response.status = answer.status;
    for (const auto& [name, value] : answer.headers) response.set_header(name, value);
    response.set_content(answer.body, "application/json");
  }

  std::string dir;
  std::string ca_file;
  std::string wrong_ca_file;
  int port = 0;
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;  // runs the accept loop; the server's workers run on its own pool

  mutable std::mutex mutex;  // guards the members below
  std::condition_variable shutdown;
  bool shutting_down = false;
  Handler handler;
  std::vector<RecordedRequest> requests;
};

std::unique_ptr<TlsTestServer> TlsTestServer::Start(const Options& options) {
  auto state = std::make_unique<State>();
  std::string dir = (fs::temp_directory_path() / (std::string(kDirPrefix) + "XXXXXX")).string();
  if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp " + dir + " failed");
  state->dir = dir;
  state->ca_file = dir + "/ca.pem";
  state->wrong_ca_file = dir + "/wrong-ca.pem";
  const std::string cert_file = dir + "/server.pem";
  const std::string key_file = dir + "/server.key";

  const Identity ca = NewCa("optischema test CA");
  const Identity server = NewServerIdentity(ca, options);
  const Identity wrong_ca = NewCa("optischema unrelated test CA");
  WriteCertificate(state->ca_file, ca.cert.get());
  WriteCertificate(state->wrong_ca_file, wrong_ca.cert.get());
  WriteCertificate(cert_file, server.cert.get());
  WriteKey(key_file, server.key.get());

  state->server = std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str());
  httplib::SSLServer& http = *state->server;
  if (!http.is_valid()) throw std::runtime_error("cpp-httplib rejected " + cert_file);
  State* raw_state = state.get();
  const auto serve = [raw_state](const httplib::Request& request, httplib::Response& response) {
    raw_state->Serve(request, response);
  };
  http.Get(".*", serve).Post(".*", serve).Put(".*", serve).Patch(".*", serve).Delete(".*", serve);
  http.set_keep_alive_timeout(kKeepAliveSeconds);
  state->port = http.bind_to_any_port(kLoopback);
  if (state->port <= 0) throw std::runtime_error("cannot bind 127.0.0.1 to a free port");
  state->thread = std::thread([&http] { http.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs, so the destructor must not come before it.
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!http.is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the HTTPS server did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<TlsTestServer>(new TlsTestServer(std::move(state)));
}

TlsTestServer::TlsTestServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

TlsTestServer::~TlsTestServer() = default;

void TlsTestServer::SetHandler(Handler handler) {
  std::lock_guard lock(state_->mutex);
  state_->handler = std::move(handler);
}

TestResponse TlsTestServer::HoldUntilShutdown() {
  std::unique_lock lock(state_->mutex);
  state_->shutdown.wait(lock, [this] { return state_->shutting_down; });
  return TestResponse{503, "{}", {}};
}

std::vector<RecordedRequest> TlsTestServer::Requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

int TlsTestServer::port() const { return state_->port; }

std::string TlsTestServer::base_url() const {
  return "https://" + std::string(kLoopback) + ":" + std::to_string(state_->port);
}

const std::string& TlsTestServer::ca_file() const { return state_->ca_file; }

const std::string& TlsTestServer::wrong_ca_file() const { return state_->wrong_ca_file; }

std::string GzipForTest(std::string_view data) {
  constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip header and trailer
  constexpr int kMemLevel = 8;
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, kMemLevel,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, data.size()), '\0');
  // zlib only reads through next_in; it is not declared const unless ZLIB_CONST is defined.
  stream.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

}  // namespace optischema::testing
