#pragma once

// The settings a `set_config` recommendation may change: those PostgreSQL documents as tuning
// knobs for performance (memory, planner costs and switches, parallelism, autovacuum and vacuum
// cost, WAL and checkpoint sizing, background writer). Every other setting is refused before the
// database is contacted, whatever the signature: a setting that runs commands or loads code
// (archive_command, *_preload_libraries, extension_control_path, oauth_validator_libraries, ...),
// moves files (log_directory, data_directory, ...), weakens durability or integrity (fsync,
// full_page_writes, synchronous_commit, session_replication_role, ...), authentication, logging
// or connection limits, and any setting a later PostgreSQL adds, until it is listed here.
//
// This table is the one place the list lives; docs/security.md prints it (a unit test keeps the
// two equal). Names are PostgreSQL's, in lower case; lookups ignore case, as PostgreSQL does.

#include <array>
#include <string_view>

namespace optischema::applier {

struct AllowedSetting {
  std::string_view name;
  std::string_view group;  // the heading it is listed under in docs/security.md
};

inline constexpr std::string_view kMemory = "Memory";
inline constexpr std::string_view kPlanner = "Planner costs and switches";
inline constexpr std::string_view kParallel = "Parallelism";
inline constexpr std::string_view kVacuum = "Autovacuum and vacuum cost";
inline constexpr std::string_view kWal = "WAL, checkpoints and background writer";

inline constexpr auto kAllowedSettings = std::to_array<AllowedSetting>({
    {"autovacuum_work_mem", kMemory},
    {"effective_cache_size", kMemory},
    {"hash_mem_multiplier", kMemory},
    {"logical_decoding_work_mem", kMemory},
    {"maintenance_work_mem", kMemory},
    {"shared_buffers", kMemory},
    {"temp_buffers", kMemory},
    {"vacuum_buffer_usage_limit", kMemory},
    {"work_mem", kMemory},

    {"constraint_exclusion", kPlanner},
    {"cpu_index_tuple_cost", kPlanner},
    {"cpu_operator_cost", kPlanner},
    {"cpu_tuple_cost", kPlanner},
    {"cursor_tuple_fraction", kPlanner},
    {"default_statistics_target", kPlanner},
    {"effective_io_concurrency", kPlanner},
    {"enable_async_append", kPlanner},
    {"enable_bitmapscan", kPlanner},
    {"enable_distinct_reordering", kPlanner},
    {"enable_gathermerge", kPlanner},
    {"enable_group_by_reordering", kPlanner},
    {"enable_hashagg", kPlanner},
    {"enable_hashjoin", kPlanner},
    {"enable_incremental_sort", kPlanner},
    {"enable_indexonlyscan", kPlanner},
    {"enable_indexscan", kPlanner},
    {"enable_material", kPlanner},
    {"enable_memoize", kPlanner},
    {"enable_mergejoin", kPlanner},
    {"enable_nestloop", kPlanner},
    {"enable_parallel_append", kPlanner},
    {"enable_parallel_hash", kPlanner},
    {"enable_partition_pruning", kPlanner},
    {"enable_partitionwise_aggregate", kPlanner},
    {"enable_partitionwise_join", kPlanner},
    {"enable_presorted_aggregate", kPlanner},
    {"enable_self_join_elimination", kPlanner},
    {"enable_seqscan", kPlanner},
    {"enable_sort", kPlanner},
    {"enable_tidscan", kPlanner},
    {"from_collapse_limit", kPlanner},
    {"geqo", kPlanner},
    {"geqo_effort", kPlanner},
    {"geqo_generations", kPlanner},
    {"geqo_pool_size", kPlanner},
    {"geqo_seed", kPlanner},
    {"geqo_selection_bias", kPlanner},
    {"geqo_threshold", kPlanner},
    {"jit", kPlanner},
    {"jit_above_cost", kPlanner},
    {"jit_inline_above_cost", kPlanner},
    {"jit_optimize_above_cost", kPlanner},
    {"join_collapse_limit", kPlanner},
    {"maintenance_io_concurrency", kPlanner},
    {"plan_cache_mode", kPlanner},
    {"random_page_cost", kPlanner},
    {"recursive_worktable_factor", kPlanner},
    {"seq_page_cost", kPlanner},

    {"max_parallel_maintenance_workers", kParallel},
    {"max_parallel_workers", kParallel},
    {"max_parallel_workers_per_gather", kParallel},
    {"max_worker_processes", kParallel},
    {"min_parallel_index_scan_size", kParallel},
    {"min_parallel_table_scan_size", kParallel},
    {"parallel_leader_participation", kParallel},
    {"parallel_setup_cost", kParallel},
    {"parallel_tuple_cost", kParallel},

    {"autovacuum_analyze_scale_factor", kVacuum},
    {"autovacuum_analyze_threshold", kVacuum},
    {"autovacuum_freeze_max_age", kVacuum},
    {"autovacuum_max_workers", kVacuum},
    {"autovacuum_multixact_freeze_max_age", kVacuum},
    {"autovacuum_naptime", kVacuum},
    {"autovacuum_vacuum_cost_delay", kVacuum},
    {"autovacuum_vacuum_cost_limit", kVacuum},
    {"autovacuum_vacuum_insert_scale_factor", kVacuum},
    {"autovacuum_vacuum_insert_threshold", kVacuum},
    {"autovacuum_vacuum_scale_factor", kVacuum},
    {"autovacuum_vacuum_threshold", kVacuum},
    {"vacuum_cost_delay", kVacuum},
    {"vacuum_cost_limit", kVacuum},
    {"vacuum_cost_page_dirty", kVacuum},
    {"vacuum_cost_page_hit", kVacuum},
    {"vacuum_cost_page_miss", kVacuum},

    {"bgwriter_delay", kWal},
    {"bgwriter_flush_after", kWal},
    {"bgwriter_lru_maxpages", kWal},
    {"bgwriter_lru_multiplier", kWal},
    {"checkpoint_completion_target", kWal},
    {"checkpoint_flush_after", kWal},
    {"checkpoint_timeout", kWal},
    {"max_wal_size", kWal},
    {"min_wal_size", kWal},
    {"wal_buffers", kWal},
    {"wal_compression", kWal},
});

// Whether `name` (any case) is in kAllowedSettings.
bool IsAllowedSetting(std::string_view name);

}  // namespace optischema::applier
