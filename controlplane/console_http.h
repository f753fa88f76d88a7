#pragma once

// The console's side of HTTP, independent of the HTTP library (https_server.h carries it): the
// request as the console sees it, decoding of form bodies and cookies, and the headers every
// console reply carries.
//
// Pure functions; thread-safe.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "controlplane/api.h"

namespace optischema::controlplane {

// The largest form body the console reads (login, approve, user forms).
inline constexpr std::size_t kMaxConsoleBodyBytes = 64 * 1024;

struct WebRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;  // decoded; the first value of a repeated name
  std::map<std::string, std::string> form;   // the decoded urlencoded body of a POST
  std::string cookie;                        // the Cookie header
  std::string origin;                        // the Origin header; empty when absent
  std::string host;                          // the Host header
  std::string address;                       // the client's address
};

// "a=1&b=x%20y" → {a:1, b:"x y"}; '+' is a space; a malformed escape is kept as typed; the first
// value of a repeated name wins.
std::map<std::string, std::string> ParseUrlEncoded(std::string_view text);

// The value of cookie `name` in a Cookie header, or empty.
std::string CookieValue(std::string_view header, std::string_view name);

// `text` percent-encoded for a query value.
std::string UrlEncode(std::string_view text);

// The Content-Security-Policy of every console reply: scripts, styles, images and requests from
// the console's own origin only, no inline script or style, no framing, forms posted only to it.
inline constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'";

// A reply with the console's security headers (CSP, nosniff, no framing, a referrer only to
// itself (a browser then sends the Origin its forms need), no caching of pages).
ApiReply ConsoleReply(int status, std::string content_type, std::string body);
ApiReply HtmlReply(int status, std::string html);
// 303 to `location` (a path of the console).
ApiReply RedirectReply(const std::string& location);

}  // namespace optischema::controlplane
