#pragma once

// A W3C WebDriver client for browser tests: Debian's chromedriver driving headless Chromium.
//
// ChromeDriver runs /usr/bin/chromedriver in a process group of its own, listening on a port of
// 127.0.0.1 (and ::1) that it picks itself. BrowserSession is one W3C session on it, that is one
// headless Chromium with a throwaway profile. Typical use:
//
//   auto driver = ChromeDriver::Start();
//   auto browser = BrowserSession::Start(*driver);
//   browser->Navigate(HtmlDataUrl("<button id=go>Go</button>"));
//   browser->Click(*browser->FindElement("#go"));
//
// Errors: every call that talks to the driver throws WebDriverError (a std::runtime_error) when
// the driver answers with a WebDriver error or cannot be reached; error() gives the W3C error
// code to act on. The one expected absence, an element that is not on the page, is an empty
// std::optional from FindElement instead.
//
// Thread safety: none. One test thread drives a ChromeDriver and its sessions. A ChromeDriver
// must outlive the sessions started on it; holding both in std::unique_ptr, the driver declared
// first, gets the order right.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace optischema::testing {

class WebDriverError : public std::runtime_error {
 public:
  // `command` is "<METHOD> <path>"; `error` the W3C error code, "" when no WebDriver answer came.
  WebDriverError(const std::string& command, long http_status, std::string error,
                 const std::string& message);

  // The W3C error code, e.g. "no such element", "insecure certificate", "timeout",
  // "javascript error", "invalid session id"; "" when the request got no WebDriver answer
  // (connection refused, transfer timeout, a reply that is not WebDriver JSON).
  const std::string& error() const { return error_; }
  // The HTTP status of the reply, 0 when there was none.
  long http_status() const { return http_status_; }

 private:
  std::string error_;
  long http_status_;
};

// The chromedriver process and the HTTP connection to it.
//
// Start() runs chromedriver with --port=0 and reads the port it chose from its output (no window
// in which another process could take a port picked for it), then polls GET /status until the
// driver reports ready. chromedriver is deliberately started without --allowed-ips: with that flag
// it listens on every interface and filters clients by address, without it it binds to the
// loopback addresses only. Its stdout and stderr, and the browsers' logs, go to log_path() in a
// private directory ("$TMPDIR/optischema-webdriver-XXXXXX").
//
// The destructor sends SIGTERM to the whole process group (chromedriver and any browser it
// started), SIGKILL to what is left after a deadline, reaps chromedriver and removes the
// directory. Never throws.
class ChromeDriver {
 public:
  struct Options {
    std::string binary = "/usr/bin/chromedriver";
    // Until chromedriver has printed its port and answers /status with ready: true.
    std::chrono::milliseconds start_timeout = std::chrono::seconds(20);
  };

  // Throws std::runtime_error with the driver's log when it cannot be started or does not become
  // ready in time; nothing is left running then.
  static std::unique_ptr<ChromeDriver> Start(const Options& options);
  static std::unique_ptr<ChromeDriver> Start() { return Start(Options{}); }
  ~ChromeDriver();

  ChromeDriver(const ChromeDriver&) = delete;
  ChromeDriver& operator=(const ChromeDriver&) = delete;

  // Sends one WebDriver command: `method` ("GET", "POST" or "DELETE") to `path` (e.g.
  // "/session/<id>/url"), with `body` as JSON for POST. Returns the reply's "value" member.
  // Throws WebDriverError. Each request may take up to two minutes, beyond the session's page
  // load and script timeouts.
  nlohmann::json Execute(std::string_view method, const std::string& path,
                         const nlohmann::json& body = nlohmann::json::object());

  int port() const { return port_; }
  std::string base_url() const;  // "http://127.0.0.1:<port>"
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string log_path() const;
  // The last lines of log_path(), for failure messages.
  std::string LogTail() const;

 private:
  struct Http;
  explicit ChromeDriver(std::string dir);

  // Spawns chromedriver, then waits for its port and readiness; throws on failure.
  void Launch(const Options& options);
  // Signals the process group, reaps chromedriver; no-op when it is not running. Never throws.
  void Stop() noexcept;

  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::unique_ptr<Http> http_;
};

// A reference to an element of the page a session shows, valid until the page changes.
struct WebElement {
  std::string id;  // the driver's element reference
};

// The W3C element reference object, so that elements can be passed in ExecuteScript's arguments:
// ExecuteScript("return arguments[0].value", nlohmann::json::array({element})).
void to_json(nlohmann::json& json, const WebElement& element);

struct Cookie {
  std::string name;
  std::string value;
  std::string domain;
  std::string path;
  bool secure = false;
  bool http_only = false;
  std::string same_site;       // "Strict", "Lax" or "None" as the browser reports it
  std::optional<long> expiry;  // seconds since the epoch; nullopt for a session cookie
};

// A W3C session: one headless Chromium.
//
// The browser runs with --headless=new --no-sandbox (so that it also runs as root) --disable-gpu
// --disable-dev-shm-usage --window-size=1280,1000 and --user-data-dir=<a private directory
// "$TMPDIR/optischema-chromium-XXXXXX">, then Options::extra_args. acceptInsecureCerts is false, so
// the browser does not trust a certificate it cannot verify unless extra_args say so, e.g.
// --ignore-certificate-errors-spki-list=<SpkiSha256Base64(cert)>. Unlike the W3C text, chromedriver
// does not fail Navigate with "insecure certificate" then: the navigation succeeds and shows
// Chromium's interstitial, titled "Privacy error", without any HTTP request reaching the server.
//
// The destructor ends the session (the browser quits), waits for the browser process to exit and
// removes the profile directory. Never throws.
class BrowserSession {
 public:
  struct Options {
    // Appended to the browser's command line after the defaults above.
    std::vector<std::string> extra_args;
    // The browser executable; "" leaves the choice to chromedriver (on Debian
    // /usr/lib/chromium/chromium, the binary behind the /usr/bin/chromium wrapper script).
    std::string browser_binary;
    // W3C session timeouts: Navigate fails with "timeout" after page_load_timeout, ExecuteScript
    // after script_timeout. Element look-ups never wait (implicit wait 0): use WaitForElement.
    std::chrono::milliseconds page_load_timeout = std::chrono::seconds(30);
    std::chrono::milliseconds script_timeout = std::chrono::seconds(30);
  };

  // Starts the browser. Throws WebDriverError when the driver cannot create the session (the
  // message then carries the driver's log tail), std::runtime_error when the profile directory
  // cannot be made.
  static std::unique_ptr<BrowserSession> Start(ChromeDriver& driver, const Options& options);
  static std::unique_ptr<BrowserSession> Start(ChromeDriver& driver) {
    return Start(driver, Options{});
  }
  ~BrowserSession();

  BrowserSession(const BrowserSession&) = delete;
  BrowserSession& operator=(const BrowserSession&) = delete;

  // Loads `url` and returns once the page has loaded (document.readyState "complete").
  void Navigate(const std::string& url);
  std::string CurrentUrl();
  std::string Title();
  // The serialized DOM as it is now, not the bytes the server sent.
  std::string PageSource();

  // The first element matching the CSS selector, nullopt when none does (now; no waiting).
  std::optional<WebElement> FindElement(const std::string& css);
  // Every element matching the CSS selector, in document order; empty when none does.
  std::vector<WebElement> FindElements(const std::string& css);
  // FindElement, polled until it finds one or `timeout` passes.
  std::optional<WebElement> WaitForElement(const std::string& css,
                                           std::chrono::milliseconds timeout);

  // Element interactions as a user would make them: scrolled into view, failing with "element
  // not interactable" or "element click intercepted" when a user could not do it either.
  void Click(const WebElement& element);
  // Types `text` into the element (appended to what it holds).
  void SendKeys(const WebElement& element, const std::string& text);
  void Clear(const WebElement& element);
  // The rendered text (innerText-like: hidden text excluded, whitespace collapsed).
  std::string ElementText(const WebElement& element);
  // The content attribute as in the markup, nullopt when the element does not have it. What the
  // user typed is no attribute: read ElementProperty(element, "value").
  std::optional<std::string> ElementAttribute(const WebElement& element, const std::string& name);
  // The DOM property (element[name]) as JSON, null when it is undefined.
  nlohmann::json ElementProperty(const WebElement& element, const std::string& name);

  // Runs `script` as the body of a function in the page, with `args` (a JSON array) as its
  // arguments, and returns what it returns (null for undefined). A thrown exception fails with
  // "javascript error".
  nlohmann::json ExecuteScript(const std::string& script,
                               const nlohmann::json& args = nlohmann::json::array());

  // Writes a PNG of the viewport to `png_path`, replacing the file. Throws std::runtime_error when
  // the file cannot be written.
  void Screenshot(const std::string& png_path);

  // Cookies visible to the current page; the page must be http(s), a data: URL has none.
  std::vector<Cookie> GetCookies();
  void DeleteAllCookies();
  // A session cookie for the current page's host and path "/".
  void AddCookie(const std::string& name, const std::string& value);

  // Sends `method` to "/session/<id><path_suffix>" for commands without a wrapper here.
  nlohmann::json Command(std::string_view method, const std::string& path_suffix,
                         const nlohmann::json& body = nlohmann::json::object());

  const std::string& id() const { return id_; }
  // The browser's main process, as chromedriver reports it; -1 when it did not say.
  pid_t browser_pid() const { return browser_pid_; }
  const std::string& profile_dir() const { return profile_dir_; }

 private:
  BrowserSession(ChromeDriver& driver, std::string profile_dir)
      : driver_(driver), profile_dir_(std::move(profile_dir)) {}

  std::string ElementPath(const WebElement& element, std::string_view suffix) const;

  ChromeDriver& driver_;
  std::string profile_dir_;
  std::string id_;
  pid_t browser_pid_ = -1;
};

// `html` as a "data:text/html;charset=utf-8;base64,..." URL, so that '#', '%' and the like in
// the page need no escaping.
std::string HtmlDataUrl(std::string_view html);

// The base64 SHA-256 of the DER SubjectPublicKeyInfo of the first certificate in the PEM file
// `cert_pem_path`: the form Chromium's --ignore-certificate-errors-spki-list takes. Throws
// std::runtime_error naming the file when it cannot be read or holds no certificate.
std::string SpkiSha256Base64(const std::string& cert_pem_path);

}  // namespace optischema::testing
