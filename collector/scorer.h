#pragma once

// Statement score, 0–100: how much attention a statement deserves in this window. The formula is
// documented in docs/design.md ("How statements are scored") and is monotone in each input.

#include "protocol/snapshot.h"

namespace optischema::collector {

// standard: window mean < 1 s; long: 1–5 s; heavy: > 5 s.
protocol::DurationClass ClassifyDuration(double mean_exec_time_ms);
// Weight of a duration class in the score: 1.0, 1.5, 2.0.
double DurationWeight(protocol::DurationClass c);

// Score of one statement from its window counters, window mean and share of window time (0–100).
double ScoreStatement(const protocol::WindowCounters& window, double mean_exec_time_ms,
                      double time_pct);

}  // namespace optischema::collector
