// HttpClient over libcurl's easy interface. One CURL handle per client, reset before each request
// so no option leaks from one request into the next, while the connection and TLS session caches
// survive and keep the connection to the control plane alive between Sends.

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <strings.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "delivery/http_client.h"

namespace optischema::delivery {
namespace {

struct CurlEasyCleanup {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct CurlSlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct CurlUrlCleanup {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlFree {
  void operator()(char* text) const { curl_free(text); }
};
using CurlHandle = std::unique_ptr<CURL, CurlEasyCleanup>;
using HeaderList = std::unique_ptr<curl_slist, CurlSlistFree>;
using CurlUrl = std::unique_ptr<CURLU, CurlUrlCleanup>;
using CurlString = std::unique_ptr<char, CurlFree>;

// curl_global_init is not thread-safe and must run once per process before any other call.
CURLcode GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

bool HasLineBreak(std::string_view text) { return text.find_first_of("\r\n") != text.npos; }

// Part `part` of `url`, or nullopt when the URL does not have it.
std::optional<std::string> UrlPart(CURLU* url, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, 0) != CURLUE_OK) return std::nullopt;
  const CurlString text(raw);
  return std::string(text.get());
}

// localhost, 127.0.0.0/8 or [::1] (curl reports IPv6 hosts in brackets).
bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "[::1]") return true;
  in_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
}

// What the callbacks fill in during one transfer.
struct Exchange {
  HttpResponse response;
  bool body_too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const size_t bytes = size * count;
  if (exchange->response.body.size() + bytes > kMaxResponseBody) {
    exchange->body_too_large = true;
    return 0;  // anything but `bytes` aborts the transfer with CURLE_WRITE_ERROR
  }
  exchange->response.body.append(data, bytes);
  return bytes;
}

// Called once per header line, status lines included. A status line starts a new header block
// (1xx interim responses, a proxy's CONNECT reply), so only the final block is kept.
size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    exchange->response.headers.clear();
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon == line.npos) return bytes;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  const size_t first = value.find_first_not_of(" \t");
  value = first == value.npos ? std::string_view() : value.substr(first);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  auto [it, inserted] = exchange->response.headers.try_emplace(std::move(name), value);
  if (!inserted) it->second.append(", ").append(value);
  return bytes;
}

// libcurl's progress callback: a non-zero return abandons the transfer.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancelled = static_cast<const std::function<bool()>*>(user);
  return (*cancelled)() ? 1 : 0;
}

// Appends `line` to `list`; false when libcurl is out of memory.
bool Append(HeaderList& list, const std::string& line) {
  curl_slist* head = curl_slist_append(list.get(), line.c_str());
  if (head == nullptr) return false;
  if (list == nullptr) list.reset(head);  // appending to a non-empty list keeps its head
  return true;
}

// Sets options on one handle, remembering the first failure so the caller checks once.
class OptionSetter {
 public:
  explicit OptionSetter(CURL* handle) : handle_(handle) {}

  template <class T>
  void Set(CURLoption option, T value) {
    if (result_ == CURLE_OK) result_ = curl_easy_setopt(handle_, option, value);
  }
  CURLcode result() const { return result_; }

 private:
  CURL* handle_;
  CURLcode result_ = CURLE_OK;
};

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(HttpClientOptions options) : options_(std::move(options)) {
    if (const CURLcode code = GlobalInit(); code != CURLE_OK) {
      setup_ = MakeError(ErrorCode::kInternal,
                         std::string("libcurl initialisation failed: ") + curl_easy_strerror(code));
      return;
    }
    setup_ = ValidateHttpClientOptions(options_);
    if (!setup_) return;
    while (options_.base_url.ends_with('/')) options_.base_url.pop_back();
    curl_.reset(curl_easy_init());
    if (curl_ == nullptr) {
      setup_ = MakeError(ErrorCode::kInternal, "libcurl could not create a transfer handle");
    }
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (!setup_) return setup_.error();
    const std::string url = options_.base_url + request.path;
    const std::string context = request.method + " " + url + ": ";
    auto fail = [&](ErrorCode code, const std::string& what) {
      return MakeError(code, context + what);
    };
    if (!request.path.starts_with('/') || HasLineBreak(request.path)) {
      return fail(ErrorCode::kInvalidArgument,
                  "the path must start with '/' and contain no line break");
    }
    const bool is_get = request.method == "GET";
    if (!is_get && request.method != "POST" && request.method != "PUT" &&
        request.method != "PATCH" && request.method != "DELETE") {
      return fail(ErrorCode::kInvalidArgument, "unsupported method");
    }
    if (is_get && !request.body.empty()) {
      return fail(ErrorCode::kInvalidArgument, "a GET request cannot carry a body");
    }

    HeaderList headers;
    bool headers_ok = Append(headers, "Expect:");  // no 100-continue round trip for large bodies
    if (!options_.api_key.empty()) {
      headers_ok = headers_ok && Append(headers, "Authorization: Bearer " + options_.api_key);
    }
    if (!request.body.empty()) {
      headers_ok = headers_ok && Append(headers, "Content-Type: application/json");
    }
    if (request.body_is_gzip) headers_ok = headers_ok && Append(headers, "Content-Encoding: gzip");
    if (!request.idempotency_key.empty()) {
      if (HasLineBreak(request.idempotency_key)) {
        return fail(ErrorCode::kInvalidArgument, "line break in the idempotency key");
      }
      headers_ok = headers_ok && Append(headers, "Idempotency-Key: " + request.idempotency_key);
    }
    for (const auto& [name, value] : request.headers) {
      if (name.empty() || HasLineBreak(name) || HasLineBreak(value) ||
          name.find(':') != name.npos) {
        return fail(ErrorCode::kInvalidArgument, "malformed header \"" + name + "\"");
      }
      // libcurl reads "Name:" as "remove this header" and "Name;" as "send it empty".
      headers_ok = headers_ok && Append(headers, value.empty() ? name + ";" : name + ": " + value);
    }
    if (!headers_ok) return fail(ErrorCode::kInternal, "out of memory building the headers");

    CURL* handle = curl_.get();
    curl_easy_reset(handle);
    Exchange exchange;
    error_buffer_[0] = '\0';
    OptionSetter set(handle);
    set.Set(CURLOPT_ERRORBUFFER, error_buffer_);
    set.Set(CURLOPT_URL, url.c_str());
    // Only the scheme validated in base_url, whatever a server or the environment suggests.
    set.Set(CURLOPT_PROTOCOLS_STR, strncasecmp(url.c_str(), "https:", 6) == 0 ? "https" : "http");
    set.Set(CURLOPT_NOSIGNAL, 1L);
    set.Set(CURLOPT_SSL_VERIFYPEER, 1L);
    set.Set(CURLOPT_SSL_VERIFYHOST, 2L);
    set.Set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    if (!options_.ca_file.empty()) {
      set.Set(CURLOPT_CAINFO, options_.ca_file.c_str());
      set.Set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));  // trust ca_file only
    }
    if (!options_.proxy.empty()) set.Set(CURLOPT_PROXY, options_.proxy.c_str());
    set.Set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    set.Set(CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    set.Set(CURLOPT_FOLLOWLOCATION, 0L);
    set.Set(CURLOPT_USERAGENT, options_.user_agent.c_str());
    set.Set(CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode
    set.Set(CURLOPT_HTTPHEADER, headers.get());
    set.Set(CURLOPT_WRITEFUNCTION, &OnBody);
    set.Set(CURLOPT_WRITEDATA, static_cast<void*>(&exchange));
    set.Set(CURLOPT_HEADERFUNCTION, &OnHeader);
    set.Set(CURLOPT_HEADERDATA, static_cast<void*>(&exchange));
    if (options_.cancelled) {
      set.Set(CURLOPT_NOPROGRESS, 0L);
      set.Set(CURLOPT_XFERINFOFUNCTION, &OnProgress);
      set.Set(CURLOPT_XFERINFODATA, static_cast<void*>(&options_.cancelled));
    }
    if (is_get) {
      set.Set(CURLOPT_HTTPGET, 1L);
    } else {
      set.Set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      set.Set(CURLOPT_POSTFIELDS, request.body.data());
      if (request.method != "POST") set.Set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (set.result() != CURLE_OK) {
      return fail(ErrorCode::kInternal,
                  std::string("libcurl rejected an option: ") + curl_easy_strerror(set.result()));
    }

    const CURLcode code = curl_easy_perform(handle);
    if (code != CURLE_OK) {
      const std::string detail =
          error_buffer_[0] != '\0' ? error_buffer_ : curl_easy_strerror(code);
      const Error error = TransferError(code, detail, exchange.body_too_large);
      return fail(error.code, error.message);
    }
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    exchange.response.status = static_cast<int>(status);
    return std::move(exchange.response);
  }

 private:
  // The error for a failed transfer; the message is completed with the request by the caller.
  Error TransferError(CURLcode code, const std::string& detail, bool body_too_large) const {
    switch (code) {
      case CURLE_COULDNT_RESOLVE_HOST:
        return MakeError(ErrorCode::kConnectionFailed, "DNS lookup failed: " + detail);
      case CURLE_COULDNT_RESOLVE_PROXY:
        return MakeError(ErrorCode::kConnectionFailed, "DNS lookup of the proxy failed: " + detail);
      case CURLE_COULDNT_CONNECT:
        return MakeError(ErrorCode::kConnectionFailed,
                         "connection refused or host unreachable: " + detail);
      case CURLE_OPERATION_TIMEDOUT:
        return MakeError(
            ErrorCode::kTimeout,
            detail + " (connect_timeout " + std::to_string(options_.connect_timeout.count()) +
                " ms, total_timeout " + std::to_string(options_.total_timeout.count()) + " ms)");
      case CURLE_PEER_FAILED_VERIFICATION:  // the detail says whether the chain or the name
        return MakeError(
            ErrorCode::kConnectionFailed,
            "TLS certificate could not be verified (" + detail +
                "); check that control_plane.url uses a host name the certificate lists, and " +
                (options_.ca_file.empty()
                     ? "if the control plane uses a private CA, set ca_file to that CA's PEM file"
                     : "that ca_file (" + options_.ca_file + ") holds the CA that signed it"));
      case CURLE_SSL_CACERT_BADFILE:
        return MakeError(ErrorCode::kConfig,
                         "ca_file (" + options_.ca_file + ") could not be loaded: " + detail);
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CIPHER:
        return MakeError(ErrorCode::kConnectionFailed, "TLS handshake failed: " + detail);
      case CURLE_WRITE_ERROR:
        if (body_too_large) {
          return MakeError(ErrorCode::kParseFailed, "response body larger than 4 MiB");
        }
        return MakeError(ErrorCode::kInternal, detail);
      case CURLE_BAD_CONTENT_ENCODING:
        return MakeError(ErrorCode::kParseFailed,
                         "response body could not be decompressed: " + detail);
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
        return MakeError(ErrorCode::kConfig, "control_plane.url is not usable: " + detail);
      case CURLE_OUT_OF_MEMORY:
        return MakeError(ErrorCode::kInternal, detail);
      case CURLE_ABORTED_BY_CALLBACK:
        return MakeError(ErrorCode::kCancelled, "cancelled: the agent is stopping");
      default:  // send/receive errors, empty replies, proxy failures…
        return MakeError(ErrorCode::kConnectionFailed,
                         "the exchange failed: " + detail + " (curl error " +
                             std::to_string(static_cast<int>(code)) + ")");
    }
  }

  HttpClientOptions options_;
  Status setup_;  // why Send cannot work at all, if it cannot
  // libcurl may write into the error buffer whenever it uses the handle, so it outlives curl_.
  char error_buffer_[CURL_ERROR_SIZE] = {};
  CurlHandle curl_;
};

}  // namespace

Status ValidateHttpClientOptions(const HttpClientOptions& options) {
  if (options.base_url.empty()) return MakeError(ErrorCode::kConfig, "control_plane.url is empty");
  const CurlUrl url(curl_url());
  if (url == nullptr) return MakeError(ErrorCode::kInternal, "out of memory parsing a URL");
  if (const CURLUcode code = curl_url_set(url.get(), CURLUPART_URL, options.base_url.c_str(), 0);
      code != CURLUE_OK) {
    return MakeError(ErrorCode::kConfig, std::string("control_plane.url is not a valid URL: ") +
                                             curl_url_strerror(code));
  }
  if (UrlPart(url.get(), CURLUPART_USER) || UrlPart(url.get(), CURLUPART_PASSWORD)) {
    return MakeError(ErrorCode::kConfig,
                     "control_plane.url must not contain a user name or password; the API key "
                     "goes in api_key or api_key_file");
  }
  if (UrlPart(url.get(), CURLUPART_QUERY) || UrlPart(url.get(), CURLUPART_FRAGMENT)) {
    // Not echoed: a query string is where a key would hide.
    return MakeError(ErrorCode::kConfig, "control_plane.url must not have a query or fragment");
  }
  const std::string scheme = UrlPart(url.get(), CURLUPART_SCHEME).value_or("");
  const std::string host = UrlPart(url.get(), CURLUPART_HOST).value_or("");
  if (scheme != "https" && !(scheme == "http" && IsLoopbackHost(host))) {
    return MakeError(ErrorCode::kConfig,
                     "control_plane.url must start with https:// (http:// is accepted only for "
                     "localhost): " +
                         options.base_url);
  }
  if (HasLineBreak(options.api_key)) {
    return MakeError(ErrorCode::kConfig, "the API key contains a line break");
  }
  if (options.connect_timeout.count() <= 0 || options.total_timeout.count() <= 0) {
    return MakeError(ErrorCode::kConfig, "HTTP timeouts must be positive");
  }
  return OkStatus();
}

std::unique_ptr<HttpClient> MakeCurlHttpClient(const HttpClientOptions& options) {
  return std::make_unique<CurlHttpClient>(options);
}

}  // namespace optischema::delivery
