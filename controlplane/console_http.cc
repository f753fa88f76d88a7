#include "controlplane/console_http.h"

#include <cctype>

namespace optischema::controlplane {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseUrlEncoded(std::string_view text) {
  std::map<std::string, std::string> values;
  while (!text.empty()) {
    const std::size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string name = Decode(pair.substr(0, eq));
    const std::string value =
        eq == std::string_view::npos ? std::string() : Decode(pair.substr(eq + 1));
    values.emplace(name, value);
  }
  return values;
}

std::string CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t semicolon = header.find(';');
    std::string_view item = header.substr(0, semicolon);
    header = semicolon == std::string_view::npos ? std::string_view()
                                                 : header.substr(semicolon + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const std::size_t eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) {
      return std::string(item.substr(eq + 1));
    }
  }
  return {};
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

ApiReply ConsoleReply(int status, std::string content_type, std::string body) {
  ApiReply reply{status, std::move(body), {}};
  reply.content_type = std::move(content_type);
  reply.headers = {{"Content-Security-Policy", kContentSecurityPolicy},
                   {"X-Content-Type-Options", "nosniff"},
                   {"X-Frame-Options", "DENY"},
                   {"Referrer-Policy", "same-origin"},
                   {"Cache-Control", "no-store"}};
  return reply;
}

ApiReply HtmlReply(int status, std::string html) {
  return ConsoleReply(status, "text/html; charset=utf-8", std::move(html));
}

ApiReply RedirectReply(const std::string& location) {
  ApiReply reply = ConsoleReply(303, "text/plain; charset=utf-8", "see " + location + "\n");
  reply.headers.emplace_back("Location", location);
  return reply;
}

}  // namespace optischema::controlplane
