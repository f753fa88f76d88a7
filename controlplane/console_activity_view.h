#pragma once

// The console's view of a database's activity (docs/protocol-v1.md, "Activity"): the chart of its
// load by wait class over a period, and the tables of its latest `activity` member (top waits,
// load by statement, blocking chains, sessions idle in a transaction).
//
// The activity JSON is read as stored: missing or mistyped members read as absent
// (json_members.h); every text in it is escaped. Pure functions; thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/series_records.h"

namespace optischema::controlplane {

// The chart "Database load by wait class" (canvas id "chart-load"): one series per wait class,
// CPU first then most load first, each point the bucket's average active sessions in the class.
std::string RenderLoadChart(const std::vector<WaitClassPoint>& points, bool hourly);

// The queryids the activity's load by statement names, in its order.
std::vector<std::string> ActivityQueryids(const nlohmann::json& activity);

// Where the activity's sessions and statements are, for links to the statement page.
struct ActivityPlace {
  std::string agent_id;
  std::string database;
  // Label of a statement link by queryid (its text, shortened), when known; else the queryid.
  std::map<std::string, std::string> statement_labels;
};

// The sections of the latest activity, collected at `collected_s`.
std::string RenderActivitySections(const nlohmann::json& activity, int64_t collected_s,
                                   int64_t now_s, const ActivityPlace& place);

// The load of statement `queryid` by wait class in the activity, as a table (statement page), or
// "" when the activity names it nowhere.
std::string RenderStatementLoad(const nlohmann::json& activity, const std::string& queryid);

}  // namespace optischema::controlplane
