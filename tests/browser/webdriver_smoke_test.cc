// The WebDriver client of tests/support/webdriver.h against Debian's chromedriver and headless
// Chromium: a page is driven as a user would, drawn content is checked, a screenshot is kept, and
// a test HTTPS server is trusted only through the SPKI hash of its certificate.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_artifacts.h"
#include "tests/support/tls_test_server.h"
#include "tests/support/wait_for.h"
#include "tests/support/webdriver.h"

namespace optischema::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

// A form whose button writes a greeting, and a canvas a script fills with a 48x48 red square.
constexpr char kFormAndCanvasPage[] = R"html(<!doctype html>
<html><head><title>WebDriver smoke</title></head><body>
<form id="form" onsubmit="return false">
  <input id="name" name="visitor" type="text">
  <button id="greet" type="button">Greet</button>
</form>
<p id="greeting">Nobody greeted yet</p>
<canvas id="canvas" width="64" height="64"></canvas>
<script>
  const context = document.getElementById('canvas').getContext('2d');
  context.fillStyle = '#d03030';
  context.fillRect(8, 8, 48, 48);
  document.getElementById('greet').addEventListener('click', () => {
    document.getElementById('greeting').textContent =
        'Hello, ' + document.getElementById('name').value + '!';
  });
</script>
</body></html>)html";

// Counts the pixels of the canvas matching arguments[0] whose alpha is not zero.
constexpr char kCountOpaquePixels[] = R"js(
  const canvas = document.querySelector(arguments[0]);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let opaque = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) ++opaque;
  return opaque;)js";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class WebDriverSmokeTest : public ::testing::Test {
 protected:
  std::unique_ptr<ChromeDriver> driver_ = ChromeDriver::Start();
};

TEST_F(WebDriverSmokeTest, DrivesAFormReadsTheCanvasAndSavesAScreenshot) {
  const auto browser = BrowserSession::Start(*driver_);
  browser->Navigate(HtmlDataUrl(kFormAndCanvasPage));
  EXPECT_EQ(browser->Title(), "WebDriver smoke");
  EXPECT_TRUE(browser->CurrentUrl().starts_with("data:text/html"));
  EXPECT_NE(browser->PageSource().find("Nobody greeted yet"), std::string::npos);
  EXPECT_EQ(browser->FindElements("#form > *").size(), 2U);
  EXPECT_EQ(browser->FindElement("#no-such-element"), std::nullopt);

  const std::optional<WebElement> name = browser->FindElement("#name");
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(browser->ElementAttribute(*name, "name"), "visitor");
  EXPECT_EQ(browser->ElementAttribute(*name, "data-absent"), std::nullopt);
  browser->SendKeys(*name, "Ada");
  browser->Clear(*name);
  browser->SendKeys(*name, "Grace");
  EXPECT_EQ(browser->ElementProperty(*name, "value"), "Grace");
  EXPECT_EQ(browser->ElementAttribute(*name, "value"), std::nullopt);

  const std::optional<WebElement> greet = browser->FindElement("#greet");
  ASSERT_TRUE(greet.has_value());
  browser->Click(*greet);
  const std::optional<WebElement> greeting = browser->FindElement("#greeting");
  ASSERT_TRUE(greeting.has_value());
  std::string text;
  EXPECT_TRUE(WaitFor([&] { return (text = browser->ElementText(*greeting)) == "Hello, Grace!"; },
                      seconds(5)))
      << "greeting: " << text;

  EXPECT_EQ(browser->ExecuteScript(kCountOpaquePixels, nlohmann::json::array({"#canvas"})),
            48 * 48);
  EXPECT_EQ(browser->ExecuteScript("return arguments[0].id;", nlohmann::json::array({*greet})),
            "greet");

  const fs::path screenshot = fs::path(ArtifactDir()) / "webdriver_smoke.png";
  fs::remove(screenshot);
  browser->Screenshot(screenshot.string());
  ASSERT_TRUE(fs::exists(screenshot));
  EXPECT_GT(fs::file_size(screenshot), 0U);
  EXPECT_TRUE(ReadFile(screenshot).starts_with("\x89PNG\r\n\x1a\n"));
}

TEST_F(WebDriverSmokeTest, ScriptErrorsSurfaceAsWebDriverErrorsWithTheirCode) {
  const auto browser = BrowserSession::Start(*driver_);
  browser->Navigate(HtmlDataUrl("<p>plain</p>"));
  try {
    browser->ExecuteScript("throw new Error('boom');");
    FAIL() << "the script's exception was not reported";
  } catch (const WebDriverError& e) {
    EXPECT_EQ(e.error(), "javascript error");
    EXPECT_NE(std::string(e.what()).find("boom"), std::string::npos) << e.what();
  }
}

TEST_F(WebDriverSmokeTest, TrustsAnHttpsServerOnlyThroughItsSpkiHashAndKeepsItsCookies) {
  const auto server = TlsTestServer::Start();
  server->SetHandler([](const RecordedRequest&) {
    TestResponse response;
    response.body = R"({"page":"ok"})";
    return response;
  });

  {
    // chromedriver shows the interstitial rather than failing with "insecure certificate".
    const auto untrusting = BrowserSession::Start(*driver_);
    untrusting->Navigate(server->base_url() + "/");
    EXPECT_EQ(untrusting->Title(), "Privacy error");
    EXPECT_TRUE(server->Requests().empty()) << "the untrusting browser sent a request";
  }

  // tls_test_server.h: the server certificate is server.pem next to ca.pem.
  const std::string cert_file = (fs::path(server->ca_file()).parent_path() / "server.pem").string();
  BrowserSession::Options options;
  options.extra_args = {"--ignore-certificate-errors-spki-list=" + SpkiSha256Base64(cert_file)};
  const auto browser = BrowserSession::Start(*driver_, options);
  browser->Navigate(server->base_url() + "/");
  EXPECT_NE(browser->PageSource().find(R"("page":"ok")"), std::string::npos)
      << browser->PageSource();
  const std::vector<RecordedRequest> requests = server->Requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.front().path, "/");

  browser->AddCookie("session", "abc123");
  const std::vector<Cookie> cookies = browser->GetCookies();
  ASSERT_EQ(cookies.size(), 1U);
  EXPECT_EQ(cookies[0].name, "session");
  EXPECT_EQ(cookies[0].value, "abc123");
  EXPECT_EQ(cookies[0].domain, "127.0.0.1");
  EXPECT_EQ(cookies[0].path, "/");
  EXPECT_EQ(cookies[0].expiry, std::nullopt);
  EXPECT_EQ(browser->ExecuteScript("return document.cookie;"), "session=abc123");
  browser->DeleteAllCookies();
  EXPECT_TRUE(browser->GetCookies().empty());
}

// Every listening socket of /proc/net/tcp and /proc/net/tcp6 on `port`, as "<hex address>".
std::vector<std::string> ListeningAddresses(int port) {
  std::vector<std::string> addresses;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot;
      std::string local;
      std::string remote;
      std::string state;
      fields >> slot >> local >> remote >> state;
      const std::size_t colon = local.rfind(':');
      if (state != "0A" || colon == std::string::npos) continue;  // 0A: TCP_LISTEN
      if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) {
        addresses.push_back(local.substr(0, colon));
      }
    }
  }
  return addresses;
}

TEST_F(WebDriverSmokeTest, ChromeDriverListensOnLoopbackAddressesOnly) {
  const std::vector<std::string> addresses = ListeningAddresses(driver_->port());
  ASSERT_FALSE(addresses.empty());
  for (const std::string& address : addresses) {
    // 127.0.0.1 (little-endian hex) and ::1.
    EXPECT_TRUE(address == "0100007F" || address == "00000000000000000000000001000000")
        << "chromedriver listens on " << address;
  }
}

}  // namespace
}  // namespace optischema::testing
