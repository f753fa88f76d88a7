#include "tests/support/webdriver.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <regex>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

#include "protocol/base64.h"
#include "tests/support/wait_for.h"

extern char** environ;

namespace optischema::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kDriverDirPrefix[] = "optischema-webdriver-";
constexpr char kProfileDirPrefix[] = "optischema-chromium-";
constexpr char kLogFile[] = "chromedriver.log";
// The W3C key of an element reference object.
constexpr char kElementKey[] = "element-6066-11e4-a52e-4f735466cecf";
// Longer than any page load or script timeout a session sets, so that the driver reports those.
constexpr long kRequestTimeoutMs = 120'000;
constexpr auto kPollInterval = milliseconds(10);
constexpr auto kStopDeadline = std::chrono::seconds(10);
constexpr auto kBrowserExitDeadline = std::chrono::seconds(10);
constexpr auto kRemoveDeadline = std::chrono::seconds(5);
constexpr std::size_t kLogTailLines = 40;
// The browser's command line before Options::extra_args.
const char* const kBrowserArgs[] = {"--headless=new", "--no-sandbox", "--disable-gpu",
                                    "--disable-dev-shm-usage", "--window-size=1280,1000"};

struct CurlEasyCleanup {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct CurlSlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlHandle = std::unique_ptr<CURL, CurlEasyCleanup>;
using HeaderList = std::unique_ptr<curl_slist, CurlSlistFree>;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct OpenSslFree {
  void operator()(unsigned char* bytes) const { OPENSSL_free(bytes); }
};

// curl_global_init is not thread-safe and must run once per process before any other call.
void CurlGlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    throw std::runtime_error(std::string("curl_global_init: ") + curl_easy_strerror(result));
  }
}

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string ErrnoMessage(int error) {
  return std::error_code(error, std::generic_category()).message();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string LastLines(const std::string& text, std::size_t count) {
  std::size_t start = text.size();
  if (start > 0 && text[start - 1] == '\n') --start;
  for (std::size_t lines = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++lines == count) break;
  }
  return text.substr(start);
}

// A private directory "$TMPDIR/<prefix>XXXXXX" (/tmp when TMPDIR is unset).
std::string MakeTempDir(const char* prefix) {
  std::string path = (fs::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
  if (mkdtemp(path.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + path + ": " + ErrnoMessage(errno));
  }
  return path;
}

// Removes `dir`, retrying for a while: a browser's helper processes may still be writing to its
// profile as they exit. Reports failure on stderr; never throws.
void RemoveDir(const std::string& dir, const char* who) noexcept {
  if (dir.empty()) return;
  std::error_code error;
  const auto removed = [&] {
    error.clear();
    return fs::remove_all(dir, error) != static_cast<std::uintmax_t>(-1);
  };
  try {
    if (WaitFor(removed, kRemoveDeadline, milliseconds(50))) return;
  } catch (const std::exception& e) {
    std::cerr << who << ": cannot remove " << dir << ": " << e.what() << "\n";
    return;
  }
  std::cerr << who << ": cannot remove " << dir << ": " << error.message() << "\n";
}

// The string member `key` of `object`, "" when it is missing or not a string.
std::string StringMember(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

// `segment` percent-encoded for use as one path segment.
std::string PathSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (const char c : segment) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded += c;
    } else {
      encoded += '%';
      encoded += kHex[byte >> 4];
      encoded += kHex[byte & 0xF];
    }
  }
  return encoded;
}

WebElement ElementFromJson(const nlohmann::json& value, const std::string& command) {
  const std::string id = StringMember(value, kElementKey);
  if (id.empty()) {
    throw WebDriverError(command, 200, "", "not an element reference: " + value.dump());
  }
  return WebElement{id};
}

// Whether process `pid` has ended: it is gone or a zombie waiting to be reaped by its parent.
bool ProcessEnded(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos || name_end + 2 >= stat.size()) return true;
  const char state = stat[name_end + 2];
  return state == 'Z' || state == 'X';
}

[[noreturn]] void ThrowOpenSsl(const std::string& what) {
  std::string message = what;
  if (const unsigned long code = ERR_get_error(); code != 0) {
    char detail[256];
    ERR_error_string_n(code, detail, sizeof detail);
    message += ": ";
    message += detail;
  }
  ERR_clear_error();
  throw std::runtime_error(message);
}

}  // namespace

WebDriverError::WebDriverError(const std::string& command, long http_status, std::string error,
                               const std::string& message)
    : std::runtime_error(
          command + ": " +
          (error.empty() ? "" : error + " (HTTP " + std::to_string(http_status) + "): ") + message),
      error_(std::move(error)),
      http_status_(http_status) {}

// One libcurl handle, reused so that the connection to chromedriver stays open between commands.
struct ChromeDriver::Http {
  CurlHandle curl;
};

ChromeDriver::ChromeDriver(std::string dir) : dir_(std::move(dir)) {}

std::unique_ptr<ChromeDriver> ChromeDriver::Start(const Options& options) {
  CurlGlobalInit();
  CurlHandle curl(curl_easy_init());
  if (curl == nullptr) throw std::runtime_error("curl_easy_init failed");
  // From here on the driver owns the directory: its destructor cleans up if starting fails.
  std::unique_ptr<ChromeDriver> driver(new ChromeDriver(MakeTempDir(kDriverDirPrefix)));
  driver->http_ = std::make_unique<Http>(Http{std::move(curl)});
  driver->Launch(options);
  return driver;
}

ChromeDriver::~ChromeDriver() {
  Stop();
  RemoveDir(dir_, "ChromeDriver");
}

std::string ChromeDriver::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string ChromeDriver::log_path() const { return dir_ + "/" + kLogFile; }

std::string ChromeDriver::LogTail() const { return LastLines(ReadFile(log_path()), kLogTailLines); }

void ChromeDriver::Launch(const Options& options) {
  const auto fail = [&](const std::string& what) {
    Stop();
    throw std::runtime_error("chromedriver: " + what + "\n--- " + log_path() + " ---\n" +
                             LogTail());
  };

  // --port=0: chromedriver binds a port the kernel picks and prints it. No --allowed-ips: see the
  // header.
  std::vector<std::string> argv_strings = {options.binary, "--port=0"};
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t files;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&files);
  posix_spawnattr_init(&attributes);
  const std::string log = log_path();
  constexpr int kAppend = O_WRONLY | O_CREAT | O_APPEND;  // no O_CLOEXEC: these are for the child
  posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, log.c_str(), kAppend, 0600);
  posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
  // A process group of its own, so that Stop() reaches the browsers too. The test process may
  // block or ignore signals (cpp-httplib ignores SIGPIPE); the child starts with none blocked and
  // the stop signals at their defaults.
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t none;
  sigset_t defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (const int signal_number : {SIGTERM, SIGINT, SIGPIPE}) sigaddset(&defaults, signal_number);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int error =
      posix_spawn(&pid, options.binary.c_str(), &files, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) fail("cannot run " + options.binary + ": " + ErrnoMessage(error));
  pid_ = pid;

  const std::regex started(R"(ChromeDriver was started successfully on port (\d+))");
  const auto deadline = Clock::now() + options.start_timeout;
  for (;;) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid_) {
      fail("exited while starting");
    }
    if (port_ == 0) {
      std::smatch match;
      const std::string output = ReadFile(log);
      if (std::regex_search(output, match, started)) port_ = std::stoi(match[1].str());
    }
    if (port_ != 0) {
      try {
        const nlohmann::json status = Execute("GET", "/status");
        if (status.is_object() && status.value("ready", false)) return;
      } catch (const WebDriverError&) {
        // Not answering yet.
      }
    }
    if (Clock::now() >= deadline) fail("not ready within the start timeout");
    std::this_thread::sleep_for(kPollInterval);
  }
}

void ChromeDriver::Stop() noexcept {
  if (pid_ <= 0) return;
  const pid_t pid = pid_;
  pid_ = -1;
  ::kill(-pid, SIGTERM);
  const auto deadline = Clock::now() + kStopDeadline;
  for (;;) {
    // WNOWAIT leaves chromedriver a zombie, so that its pid, the group id, cannot be reused before
    // the SIGKILL below.
    siginfo_t info{};
    const int waited = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if ((waited == 0 && info.si_pid == pid) || (waited != 0 && errno != EINTR)) break;
    if (Clock::now() >= deadline) {
      std::cerr << "ChromeDriver: pid " << pid << " ignored SIGTERM; killing its group\n";
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  // Browsers still shutting down, or whatever ignored SIGTERM.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

nlohmann::json ChromeDriver::Execute(std::string_view method, const std::string& path,
                                     const nlohmann::json& body) {
  const std::string command = std::string(method) + " " + path;
  CURL* curl = http_->curl.get();
  curl_easy_reset(curl);
  const std::string url = base_url() + path;
  std::string reply;
  std::string payload;
  HeaderList headers;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  // Whatever proxy the environment names, the driver is on this host.
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kRequestTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
  if (method == "POST") {
    payload = body.dump();
    // "Expect:" keeps curl from waiting for a 100 Continue on larger bodies. Appending to a list
    // returns its unchanged head, which `headers` owns.
    headers.reset(curl_slist_append(nullptr, "Content-Type: application/json; charset=utf-8"));
    if (headers == nullptr || curl_slist_append(headers.get(), "Expect:") == nullptr) {
      throw std::runtime_error("curl_slist_append failed");
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  } else if (method == "DELETE") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else if (method != "GET") {
    throw std::invalid_argument("WebDriver command with unsupported method: " + command);
  }

  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) throw WebDriverError(command, 0, "", curl_easy_strerror(code));
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  nlohmann::json parsed = nlohmann::json::parse(reply, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("value")) {
    throw WebDriverError(command, http_status, "",
                         "HTTP " + std::to_string(http_status) +
                             " with a reply that is not WebDriver JSON: " + reply.substr(0, 500));
  }
  nlohmann::json& value = parsed["value"];
  if (http_status != 200 || (value.is_object() && value.contains("error"))) {
    const std::string error = StringMember(value, "error");
    throw WebDriverError(command, http_status, error.empty() ? "unknown error" : error,
                         StringMember(value, "message"));
  }
  return std::move(value);
}

void to_json(nlohmann::json& json, const WebElement& element) {
  json = nlohmann::json{{kElementKey, element.id}};
}

std::unique_ptr<BrowserSession> BrowserSession::Start(ChromeDriver& driver,
                                                      const Options& options) {
  // From here on the session owns the profile directory: its destructor cleans up on failure.
  std::unique_ptr<BrowserSession> session(
      new BrowserSession(driver, MakeTempDir(kProfileDirPrefix)));

  nlohmann::json args = nlohmann::json::array();
  for (const char* arg : kBrowserArgs) args.push_back(arg);
  args.push_back("--user-data-dir=" + session->profile_dir_);
  for (const std::string& arg : options.extra_args) args.push_back(arg);
  nlohmann::json chrome_options = {{"args", args}};
  if (!options.browser_binary.empty()) chrome_options["binary"] = options.browser_binary;
  const nlohmann::json capabilities = {{"browserName", "chrome"},
                                       {"acceptInsecureCerts", false},
                                       {"pageLoadStrategy", "normal"},
                                       {"timeouts",
                                        {{"implicit", 0},
                                         {"pageLoad", options.page_load_timeout.count()},
                                         {"script", options.script_timeout.count()}}},
                                       {"goog:chromeOptions", chrome_options}};

  nlohmann::json created;
  try {
    created =
        driver.Execute("POST", "/session", {{"capabilities", {{"alwaysMatch", capabilities}}}});
  } catch (const WebDriverError& e) {
    throw WebDriverError(
        "POST /session", e.http_status(), e.error(),
        std::string(e.what()) + "\n--- " + driver.log_path() + " ---\n" + driver.LogTail());
  }
  session->id_ = StringMember(created, "sessionId");
  if (session->id_.empty()) {
    throw WebDriverError("POST /session", 200, "", "no sessionId in " + created.dump());
  }
  if (created.contains("capabilities") && created["capabilities"].is_object()) {
    const nlohmann::json& reported = created["capabilities"];
    const auto pid = reported.find("goog:processID");
    if (pid != reported.end() && pid->is_number_integer()) {
      session->browser_pid_ = pid->get<pid_t>();
    }
  }
  return session;
}

BrowserSession::~BrowserSession() {
  if (!id_.empty()) {
    try {
      driver_.Execute("DELETE", "/session/" + id_);
    } catch (const std::exception& e) {
      std::cerr << "BrowserSession: cannot end session " << id_ << ": " << e.what() << "\n";
    }
  }
  // The driver answers before the browser has exited; its profile is in use until then.
  if (browser_pid_ > 0 &&
      !WaitFor([&] { return ProcessEnded(browser_pid_); }, kBrowserExitDeadline, kPollInterval)) {
    std::cerr << "BrowserSession: browser pid " << browser_pid_ << " still runs\n";
  }
  RemoveDir(profile_dir_, "BrowserSession");
}

nlohmann::json BrowserSession::Command(std::string_view method, const std::string& path_suffix,
                                       const nlohmann::json& body) {
  return driver_.Execute(method, "/session/" + id_ + path_suffix, body);
}

std::string BrowserSession::ElementPath(const WebElement& element, std::string_view suffix) const {
  return "/element/" + PathSegment(element.id) + std::string(suffix);
}

void BrowserSession::Navigate(const std::string& url) { Command("POST", "/url", {{"url", url}}); }

std::string BrowserSession::CurrentUrl() { return Command("GET", "/url").get<std::string>(); }

std::string BrowserSession::Title() { return Command("GET", "/title").get<std::string>(); }

std::string BrowserSession::PageSource() { return Command("GET", "/source").get<std::string>(); }

std::optional<WebElement> BrowserSession::FindElement(const std::string& css) {
  try {
    return ElementFromJson(Command("POST", "/element", {{"using", "css selector"}, {"value", css}}),
                           "POST /session/" + id_ + "/element");
  } catch (const WebDriverError& e) {
    if (e.error() == "no such element") return std::nullopt;
    throw;
  }
}

std::vector<WebElement> BrowserSession::FindElements(const std::string& css) {
  const nlohmann::json found =
      Command("POST", "/elements", {{"using", "css selector"}, {"value", css}});
  std::vector<WebElement> elements;
  for (const nlohmann::json& reference : found) {
    elements.push_back(ElementFromJson(reference, "POST /session/" + id_ + "/elements"));
  }
  return elements;
}

std::optional<WebElement> BrowserSession::WaitForElement(const std::string& css,
                                                         std::chrono::milliseconds timeout) {
  std::optional<WebElement> element;
  WaitFor([&] { return (element = FindElement(css)).has_value(); }, timeout, milliseconds(50));
  return element;
}

void BrowserSession::Click(const WebElement& element) {
  Command("POST", ElementPath(element, "/click"));
}

void BrowserSession::SendKeys(const WebElement& element, const std::string& text) {
  Command("POST", ElementPath(element, "/value"), {{"text", text}});
}

void BrowserSession::Clear(const WebElement& element) {
  Command("POST", ElementPath(element, "/clear"));
}

std::string BrowserSession::ElementText(const WebElement& element) {
  return Command("GET", ElementPath(element, "/text")).get<std::string>();
}

std::optional<std::string> BrowserSession::ElementAttribute(const WebElement& element,
                                                            const std::string& name) {
  const nlohmann::json value =
      Command("GET", ElementPath(element, "/attribute/" + PathSegment(name)));
  if (value.is_null()) return std::nullopt;
  return value.is_string() ? value.get<std::string>() : value.dump();
}

nlohmann::json BrowserSession::ElementProperty(const WebElement& element, const std::string& name) {
  return Command("GET", ElementPath(element, "/property/" + PathSegment(name)));
}

nlohmann::json BrowserSession::ExecuteScript(const std::string& script,
                                             const nlohmann::json& args) {
  return Command("POST", "/execute/sync", {{"script", script}, {"args", args}});
}

void BrowserSession::Screenshot(const std::string& png_path) {
  const Result<std::string> png =
      protocol::Base64Decode(Command("GET", "/screenshot").get<std::string>());
  if (!png.ok()) {
    throw WebDriverError("GET /session/" + id_ + "/screenshot", 200, "",
                         "screenshot is not base64: " + png.error().message);
  }
  std::ofstream out(png_path, std::ios::binary | std::ios::trunc);
  out << *png;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + png_path);
}

std::vector<Cookie> BrowserSession::GetCookies() {
  std::vector<Cookie> cookies;
  for (const nlohmann::json& reported : Command("GET", "/cookie")) {
    Cookie cookie;
    cookie.name = StringMember(reported, "name");
    cookie.value = StringMember(reported, "value");
    cookie.domain = StringMember(reported, "domain");
    cookie.path = StringMember(reported, "path");
    cookie.secure = reported.value("secure", false);
    cookie.http_only = reported.value("httpOnly", false);
    cookie.same_site = StringMember(reported, "sameSite");
    if (const auto expiry = reported.find("expiry");
        expiry != reported.end() && expiry->is_number()) {
      cookie.expiry = expiry->get<long>();
    }
    cookies.push_back(std::move(cookie));
  }
  return cookies;
}

void BrowserSession::DeleteAllCookies() { Command("DELETE", "/cookie"); }

void BrowserSession::AddCookie(const std::string& name, const std::string& value) {
  Command("POST", "/cookie", {{"cookie", {{"name", name}, {"value", value}, {"path", "/"}}}});
}

std::string HtmlDataUrl(std::string_view html) {
  return "data:text/html;charset=utf-8;base64," + protocol::Base64Encode(html);
}

std::string SpkiSha256Base64(const std::string& cert_pem_path) {
  const std::unique_ptr<BIO, BioFree> bio(BIO_new_file(cert_pem_path.c_str(), "r"));
  if (bio == nullptr) ThrowOpenSsl("cannot open " + cert_pem_path);
  const std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) ThrowOpenSsl("no PEM certificate in " + cert_pem_path);
  unsigned char* der = nullptr;
  const int der_length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  if (der_length <= 0) ThrowOpenSsl("encoding the public key of " + cert_pem_path);
  const std::unique_ptr<unsigned char, OpenSslFree> der_owner(der);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(der, static_cast<std::size_t>(der_length), digest, &digest_length, EVP_sha256(),
                 nullptr) != 1) {
    ThrowOpenSsl("hashing the public key of " + cert_pem_path);
  }
  return protocol::Base64Encode(
      std::string_view(reinterpret_cast<const char*>(digest), digest_length));
}

}  // namespace optischema::testing
