// The control plane's side of set_table_options and analyze_table: their risk, and that an
// analyze_table (which changes nothing that can be undone) cannot be sent back as a rollback.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "controlplane/recommendation_actions.h"
#include "controlplane/risk_rule.h"
#include "controlplane/store.h"
#include "tests/support/manual_clock.h"

namespace optischema::controlplane {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(TableKindsRisk, SetTableOptionsIsMediumAndAnalyzeTableIsLow) {
  const Risk options = RiskOf({{"kind", "set_table_options"},
                               {"spec",
                                {{"schema", "public"},
                                 {"table", "orders"},
                                 {"options", {{"autovacuum_enabled", "false"}}}}}},
                              nullptr);
  EXPECT_EQ(options.level, RiskLevel::kMedium);
  EXPECT_NE(options.rule.find("set_table_options is medium"), std::string::npos) << options.rule;
  const Risk analyze =
      RiskOf({{"kind", "analyze_table"}, {"spec", {{"schema", "public"}, {"table", "orders"}}}},
             nullptr);
  EXPECT_EQ(analyze.level, RiskLevel::kLow);
  EXPECT_NE(analyze.rule.find("analyze_table is low"), std::string::npos) << analyze.rule;
}

TEST(TableKindsRollback, OnlyAnalyzeTableCannotBeRolledBack) {
  for (const char* kind :
       {"create_index", "drop_index", "set_config", "rewrite", "set_table_options"}) {
    EXPECT_TRUE(MayRollBack(kind)) << kind;
  }
  EXPECT_FALSE(MayRollBack("analyze_table"));
}

class TableKindsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "optischema-table-kinds-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    auto store = Store::Open(dir_ + "/data", Store::OpenMode::kCreate, clock_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // A recommendation of `kind` stored as applied.
  void AddApplied(const std::string& id, const std::string& kind) {
    const json body = {{"id", id}, {"kind", kind}, {"spec", json::object()}};
    ASSERT_TRUE(store_->AddRecommendation({id, "agent", "applied", std::nullopt, body.dump()}).ok());
  }

  std::string dir_;
  testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(TableKindsStoreTest, RollbackOfAnAppliedAnalyzeTableIsRefusedAndNothingChanges) {
  AddApplied("rec-analyze", "analyze_table");
  auto refused = RequestRollback(*store_, "rec-analyze", "dba");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("analyze_table changes nothing that can be rolled back"),
            std::string::npos)
      << refused.error().message;
  auto row = store_->GetRecommendation("rec-analyze");
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*row)->record.status, "applied");

  AddApplied("rec-options", "set_table_options");
  auto requested = RequestRollback(*store_, "rec-options", "dba");
  ASSERT_TRUE(requested.ok()) << requested.error().message;
  EXPECT_FALSE(*requested);
  row = store_->GetRecommendation("rec-options");
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*row)->record.status, kStatusRollbackRequested);
}

}  // namespace
}  // namespace optischema::controlplane
