#pragma once

// FakeHttpClient: answers from a script of results (or a responder), records every request. For
// unit tests of code behind the HttpClient seam. Send, Then, SetResponder and Requests() are
// thread-safe; the public `requests` member is for single-threaded tests only.

#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "delivery/http_client.h"

namespace optischema::testing {

class FakeHttpClient final : public delivery::HttpClient {
 public:
  // Queues the next answer. With the script empty, requests get 202 with the body "{}".
  void Then(Result<delivery::HttpResponse> answer) {
    std::lock_guard lock(mu_);
    script_.push_back(std::move(answer));
  }
  // Answers every request the script does not, instead of 202.
  void SetResponder(
      std::function<Result<delivery::HttpResponse>(const delivery::HttpRequest&)> responder) {
    std::lock_guard lock(mu_);
    responder_ = std::move(responder);
  }
  std::vector<delivery::HttpRequest> Requests() const {
    std::lock_guard lock(mu_);
    return requests;
  }
  void ThenStatus(int status, std::map<std::string, std::string> headers = {}) {
    delivery::HttpResponse r;
    r.status = status;
    if (status >= 200 && status < 300) r.body = "{}";  // the control plane acknowledges in JSON
    r.headers = std::move(headers);
    Then(std::move(r));
  }

  Result<delivery::HttpResponse> Send(const delivery::HttpRequest& request) override {
    std::lock_guard lock(mu_);
    requests.push_back(request);
    if (script_.empty() && responder_) return responder_(request);
    if (script_.empty()) {
      delivery::HttpResponse r;
      r.status = 202;
      r.body = "{}";
      return r;
    }
    Result<delivery::HttpResponse> next = std::move(script_.front());
    script_.pop_front();
    return next;
  }

  std::vector<delivery::HttpRequest> requests;

 private:
  mutable std::mutex mu_;
  std::deque<Result<delivery::HttpResponse>> script_;
  std::function<Result<delivery::HttpResponse>(const delivery::HttpRequest&)> responder_;
};

}  // namespace optischema::testing
