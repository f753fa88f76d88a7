#include "tests/support/advisor_fixtures.h"

#include <stdexcept>
#include <utility>

namespace optischema::testing {

const pg::DigestKey& TestDigestKey() {
  static const pg::DigestKey key = *pg::DigestKey::FromBytes("0123456789abcdef0123456789abcdef");
  return key;
}

advisor::AdvisorOptions KeyedAdvisorOptions() {
  advisor::AdvisorOptions options;
  options.digest_key = TestDigestKey();
  return options;
}

std::unique_ptr<pg::PgSession> ConnectSession(const std::string& dsn, pg::SessionMode mode) {
  pg::ConnectOptions connect;
  connect.dsn = dsn;
  connect.mode = mode;
  auto session = pg::ConnectLibpq(connect);
  if (!session.ok()) throw std::runtime_error(session.error().ToString());
  return std::move(session).value();
}

protocol::Advice AdviseOnce(advisor::Advisor& advisor, const std::string& dsn) {
  auto session = ConnectSession(dsn);
  auto advice = advisor.Run(*session);
  if (!advice.ok()) throw std::runtime_error(advice.error().ToString());
  advisor.Commit();
  return std::move(advice).value();
}

const protocol::IndexFinding* FindingFor(const protocol::Advice& advice, const std::string& index) {
  for (const auto& f : advice.findings) {
    if (f.index == index) return &f;
  }
  return nullptr;
}

}  // namespace optischema::testing
