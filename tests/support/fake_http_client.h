#pragma once

// FakeHttpClient: answers from a script of results, records every request. For unit tests of
// code behind the HttpClient seam.

#include <deque>
#include <vector>

#include "protocol/http_client.h"

namespace optischema::testing {

class FakeHttpClient final : public protocol::HttpClient {
 public:
  // Queues the next answer. With the script empty, requests get 202.
  void Then(Result<protocol::HttpResponse> answer) { script_.push_back(std::move(answer)); }
  void ThenStatus(int status, std::map<std::string, std::string> headers = {}) {
    protocol::HttpResponse r;
    r.status = status;
    r.headers = std::move(headers);
    Then(std::move(r));
  }

  Result<protocol::HttpResponse> Send(const protocol::HttpRequest& request) override {
    requests.push_back(request);
    if (script_.empty()) {
      protocol::HttpResponse r;
      r.status = 202;
      return r;
    }
    Result<protocol::HttpResponse> next = std::move(script_.front());
    script_.pop_front();
    return next;
  }

  std::vector<protocol::HttpRequest> requests;

 private:
  std::deque<Result<protocol::HttpResponse>> script_;
};

}  // namespace optischema::testing
