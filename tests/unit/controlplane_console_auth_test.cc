// The console's credentials: Argon2id password hashes, TOTP codes (RFC 6238's own test vectors),
// and logins and sessions (console_auth.h) on a temporary store with a manual clock.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "controlplane/console_auth.h"
#include "controlplane/password_hash.h"
#include "controlplane/retention.h"
#include "controlplane/store.h"
#include "controlplane/totp.h"
#include "controlplane/user_management.h"
#include "protocol/sha256.h"
#include "tests/support/manual_clock.h"

namespace optischema::controlplane {
namespace {

namespace fs = std::filesystem;
using std::chrono::minutes;

constexpr char kPassword[] = "correct horse battery staple";

TEST(PasswordHash, VerifiesTheRightPasswordAndRefusesAWrongOne) {
  auto hash = HashPassword(kPassword);
  ASSERT_TRUE(hash.ok()) << hash.error().message;
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, kPassword));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse battery stapl"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
}

TEST(PasswordHash, SaltsEachHashSoEqualPasswordsHashDifferently) {
  auto a = HashPassword(kPassword);
  auto b = HashPassword(kPassword);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find(kPassword), std::string::npos);
}

TEST(PasswordHash, RefusesMalformedHashesAndShortNewPasswords) {
  EXPECT_FALSE(VerifyPassword("", kPassword));
  EXPECT_FALSE(VerifyPassword("$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", kPassword));
  EXPECT_FALSE(VerifyPassword("$argon2id$garbage", kPassword));
  const Status short_one = CheckNewPassword("short");
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.error().message.find("short\""), std::string::npos);
  EXPECT_NE(short_one.error().message.find("at least 12"), std::string::npos);
  EXPECT_TRUE(CheckNewPassword(kPassword).ok());
}

TEST(PasswordHash, RandomPasswordsAreLongEnoughAndDiffer) {
  auto a = NewRandomPassword();
  auto b = NewRandomPassword();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(CheckNewPassword(*a).ok());
  EXPECT_NE(*a, *b);
}

// RFC 6238, appendix B: the secrets are the ASCII digits repeated to the hash's length.
struct TotpVector {
  int64_t time;
  const char* sha1;
  const char* sha256;
  const char* sha512;
};

TEST(Totp, MatchesTheTestVectorsOfRfc6238) {
  const std::string sha1_secret = "12345678901234567890";
  const std::string sha256_secret = "12345678901234567890123456789012";
  const std::string sha512_secret =
      "1234567890123456789012345678901234567890123456789012345678901234";
  const TotpVector vectors[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  for (const TotpVector& v : vectors) {
    SCOPED_TRACE(v.time);
    auto sha1 = TotpCode(sha1_secret, v.time, 8, TotpHash::kSha1);
    auto sha256 = TotpCode(sha256_secret, v.time, 8, TotpHash::kSha256);
    auto sha512 = TotpCode(sha512_secret, v.time, 8, TotpHash::kSha512);
    ASSERT_TRUE(sha1.ok() && sha256.ok() && sha512.ok());
    EXPECT_EQ(*sha1, v.sha1);
    EXPECT_EQ(*sha256, v.sha256);
    EXPECT_EQ(*sha512, v.sha512);
  }
}

TEST(Totp, AcceptsTheCurrentAndAdjacentStepsOnly) {
  // "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" is base32 of the RFC's SHA-1 secret.
  const std::string secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
  const int64_t now = 1111111111;
  auto code = TotpCode("12345678901234567890", now, kTotpDigits, TotpHash::kSha1);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, "050471");
  EXPECT_TRUE(VerifyTotp(secret, *code, now));
  EXPECT_TRUE(VerifyTotp(secret, *code, now + kTotpStepSeconds));
  EXPECT_FALSE(VerifyTotp(secret, *code, now + 3 * kTotpStepSeconds));
  EXPECT_FALSE(VerifyTotp(secret, "05047", now));
  EXPECT_FALSE(VerifyTotp(secret, "05047a", now));
  EXPECT_FALSE(VerifyTotp("not base32!", *code, now));
}

TEST(Totp, NewSecretsAreBase32Of160BitsAndDiffer) {
  auto a = NewTotpSecret();
  auto b = NewTotpSecret();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

class ConsoleAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "optischema-auth-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    auto store = Store::Open(dir_ + "/data", Store::OpenMode::kCreate, clock_);
    if (!store.ok()) throw std::runtime_error(store.error().message);
    store_ = std::move(*store);
    auth_ = std::make_unique<ConsoleAuth>(*store_, clock_);
    ASSERT_TRUE(CreateUser(*store_, "alice", Role::kApprover, kPassword, "test", "cli").ok());
  }
  void TearDown() override {
    auth_.reset();
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  LoginResult Login(const std::string& password, const std::string& code = "") {
    auto result = auth_->Login({"alice", password, code, "192.0.2.7"});
    if (!result.ok()) throw std::runtime_error(result.error().message);
    return *result;
  }

  // How many console audit records have `action`.
  int Count(const std::string& action) {
    auto records = store_->ListConsoleAudit(1000);
    int n = 0;
    for (const ConsoleAuditRecord& r : *records) n += r.action == action;
    return n;
  }

  std::string dir_;
  testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ConsoleAuth> auth_;
};

TEST_F(ConsoleAuthTest, LoginMakesASessionStoredOnlyAsItsHash) {
  const LoginResult login = Login(kPassword);
  ASSERT_TRUE(login.ok) << login.refusal;
  EXPECT_EQ(login.session_id.size(), 64u);
  auto stored = store_->GetSession(login.session_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->has_value()) << "the raw id must not be a key of the store";
  auto session = auth_->Authenticate(login.session_id);
  ASSERT_TRUE(session.ok() && session->has_value());
  EXPECT_EQ((*session)->user.name, "alice");
  EXPECT_EQ((*session)->session.id_sha256, protocol::Sha256Hex(login.session_id));
  EXPECT_EQ((*session)->session.csrf_token.size(), 64u);
  EXPECT_EQ((*session)->session.address, "192.0.2.7");
  EXPECT_EQ(Count("login"), 1);
}

TEST_F(ConsoleAuthTest, FiveFailuresLockTheAccountAndTheRightPasswordIsThenRefused) {
  for (int i = 0; i < kMaxFailedLogins; ++i) EXPECT_FALSE(Login("wrong password!").ok);
  EXPECT_EQ(Count("login_failed"), kMaxFailedLogins);
  EXPECT_EQ(Count("lockout"), 1);
  auto user = store_->GetUser("alice");
  ASSERT_TRUE(user.ok() && user->has_value());
  EXPECT_EQ((*user)->failed_login_attempts, kMaxFailedLogins);
  ASSERT_TRUE((*user)->locked_until_s.has_value());

  const LoginResult sixth = Login(kPassword);
  EXPECT_FALSE(sixth.ok);
  EXPECT_NE(sixth.refusal.find("locked"), std::string::npos);
  EXPECT_EQ(Count("login_refused_locked"), 1);
  EXPECT_EQ(Count("login"), 0);

  clock_.Advance(kLockoutDuration + minutes(1));
  EXPECT_TRUE(Login(kPassword).ok) << "the lock ends by itself";
  auto after = store_->GetUser("alice");
  EXPECT_EQ((*after)->failed_login_attempts, 0);
}

TEST_F(ConsoleAuthTest, UnknownAndDisabledUsersAreRefusedLikeAWrongPassword) {
  auto unknown = auth_->Login({"mallory", kPassword, "", "192.0.2.9"});
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->ok);
  ASSERT_TRUE(DisableUser(*store_, "alice", "admin", "cli").ok());
  const LoginResult disabled = Login(kPassword);
  EXPECT_FALSE(disabled.ok);
  EXPECT_EQ(disabled.refusal, unknown->refusal);
}

TEST_F(ConsoleAuthTest, SessionEndsAfterIdleTimeoutLifetimeLogoutOrDisable) {
  const std::string idle = Login(kPassword).session_id;
  clock_.Advance(kSessionIdleTimeout - minutes(1));
  ASSERT_TRUE(auth_->Authenticate(idle)->has_value()) << "still within the idle timeout";
  clock_.Advance(kSessionIdleTimeout);
  EXPECT_FALSE(auth_->Authenticate(idle)->has_value()) << "idle past the timeout";

  const std::string busy = Login(kPassword).session_id;
  for (auto spent = minutes(0); spent < kSessionLifetime - minutes(20); spent += minutes(20)) {
    clock_.Advance(minutes(20));
    ASSERT_TRUE(auth_->Authenticate(busy)->has_value());
  }
  clock_.Advance(minutes(21));  // 12 h 1 min after the login, 21 min after the last request
  EXPECT_FALSE(auth_->Authenticate(busy)->has_value()) << "past the absolute lifetime";

  const std::string out = Login(kPassword).session_id;
  auto context = auth_->Authenticate(out);
  ASSERT_TRUE(context->has_value());
  ASSERT_TRUE(auth_->Logout(**context, "192.0.2.7").ok());
  EXPECT_FALSE(auth_->Authenticate(out)->has_value());
  EXPECT_EQ(Count("logout"), 1);

  const std::string disabled = Login(kPassword).session_id;
  ASSERT_TRUE(DisableUser(*store_, "alice", "admin", "cli").ok());
  EXPECT_FALSE(auth_->Authenticate(disabled)->has_value());
}

TEST_F(ConsoleAuthTest, RetentionSweepDeletesSessionsThatCanNoLongerBeUsed) {
  const std::string idle = Login(kPassword).session_id;
  clock_.Advance(kSessionIdleTimeout - minutes(5));
  const std::string fresh = Login(kPassword).session_id;
  clock_.Advance(minutes(10));
  auto counts = SweepRetention(*store_, clock_, {0, 0});
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->sessions, 1);
  EXPECT_FALSE(store_->GetSession(protocol::Sha256Hex(idle))->has_value());
  EXPECT_TRUE(store_->GetSession(protocol::Sha256Hex(fresh))->has_value());
}

TEST_F(ConsoleAuthTest, SecondFactorIsRequiredOnceEnrolled) {
  auto secret = EnrollTotp(*store_, "alice", "admin", "cli");
  ASSERT_TRUE(secret.ok());
  EXPECT_FALSE(Login(kPassword).ok) << "no code";
  EXPECT_FALSE(Login(kPassword, "000000").ok);
  // The code an authenticator shows for the secret now.
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  std::string raw;
  {
    // Decode base32 by hand (RFC 4648 alphabet) to compute the code as an authenticator would.
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint32_t buffer = 0;
    int bits = 0;
    for (const char c : *secret) {
      buffer = (buffer << 5) | static_cast<uint32_t>(alphabet.find(c));
      bits += 5;
      if (bits >= 8) {
        raw += static_cast<char>((buffer >> (bits - 8)) & 0xff);
        bits -= 8;
      }
    }
  }
  auto code = TotpCode(raw, now_s, kTotpDigits, TotpHash::kSha1);
  ASSERT_TRUE(code.ok());
  EXPECT_TRUE(Login(kPassword, *code).ok);
}

TEST_F(ConsoleAuthTest, ResetPasswordLiftsTheLockoutAndEndsSessions) {
  const std::string before = Login(kPassword).session_id;
  for (int i = 0; i < kMaxFailedLogins; ++i) Login("wrong password!");
  ASSERT_TRUE(ResetPassword(*store_, "alice", "another long password", "admin", "cli").ok());
  EXPECT_FALSE(auth_->Authenticate(before)->has_value());
  EXPECT_FALSE(Login(kPassword).ok);
  EXPECT_TRUE(Login("another long password").ok);
}

}  // namespace
}  // namespace optischema::controlplane
