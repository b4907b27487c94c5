package catalog

// The differences between PostgreSQL 15, which pg15.tsv records from a live
// server, and the other major versions. Sources: the release notes of 13–17
// and the postgresql.conf.sample of each version (../shared/corpus). Only
// parameters that can appear in a config file matter here.

type span struct{ since, until int }

// lifespans holds parameters of PostgreSQL 15 that are not in every version.
var lifespans = map[string]span{
	// Added in 13.
	"autovacuum_vacuum_insert_scale_factor": {13, 0},
	"autovacuum_vacuum_insert_threshold":    {13, 0},
	"backtrace_functions":                   {13, 0},
	"enable_incremental_sort":               {13, 0},
	"hash_mem_multiplier":                   {13, 0},
	"ignore_invalid_pages":                  {13, 0},
	"log_min_duration_sample":               {13, 0},
	"log_parameter_max_length":              {13, 0},
	"log_parameter_max_length_on_error":     {13, 0},
	"log_statement_sample_rate":             {13, 0},
	"logical_decoding_work_mem":             {13, 0},
	"maintenance_io_concurrency":            {13, 0},
	"max_slot_wal_keep_size":                {13, 0},
	"wal_keep_size":                         {13, 0},
	"wal_receiver_create_temp_slot":         {13, 0},
	"wal_skip_threshold":                    {13, 0},
	// Added in 14.
	"client_connection_check_interval": {14, 0},
	"compute_query_id":                 {14, 0},
	"debug_discard_caches":             {14, 0},
	"default_toast_compression":        {14, 0},
	"enable_async_append":              {14, 0},
	"enable_memoize":                   {14, 0},
	"huge_page_size":                   {14, 0},
	"idle_session_timeout":             {14, 0},
	"in_hot_standby":                   {14, 0},
	"log_recovery_conflict_waits":      {14, 0},
	"min_dynamic_shared_memory":        {14, 0},
	"recovery_init_sync_method":        {14, 0},
	"remove_temp_files_after_crash":    {14, 0},
	"ssl_crl_dir":                      {14, 0},
	"track_wal_io_timing":              {14, 0},
	"vacuum_failsafe_age":              {14, 0},
	"vacuum_multixact_failsafe_age":    {14, 0},
	// Added in 15.
	"allow_in_place_tablespaces":       {15, 0},
	"archive_library":                  {15, 0},
	"log_startup_progress_interval":    {15, 0},
	"recovery_prefetch":                {15, 0},
	"recursive_worktable_factor":       {15, 0},
	"shared_memory_size":               {15, 0},
	"shared_memory_size_in_huge_pages": {15, 0},
	"stats_fetch_consistency":          {15, 0},
	"wal_decode_buffer_size":           {15, 0},
	// Removed in 16.
	"force_parallel_mode":      {Oldest, 15},
	"promote_trigger_file":     {Oldest, 15},
	"vacuum_defer_cleanup_age": {Oldest, 15},
	"lc_collate":               {Oldest, 15},
	"lc_ctype":                 {Oldest, 15},
	// Removed in 17.
	"db_user_namespace":       {Oldest, 16},
	"old_snapshot_threshold":  {Oldest, 16},
	"trace_recovery_messages": {Oldest, 16},
}

// notIn15 holds parameters that PostgreSQL 15 does not have.
var notIn15 = []Param{
	// Removed in 13.
	{Name: "wal_keep_segments", VarType: Integer, Context: Sighup, Min: 0, Max: 2147483647, HasRange: true, Since: Oldest, Until: 12},
	// Removed in 14.
	{Name: "operator_precedence_warning", VarType: Bool, Context: User, Since: Oldest, Until: 13},
	{Name: "vacuum_cleanup_index_scale_factor", VarType: Real, Context: User, Min: 0, Max: 1e10, HasRange: true, Since: Oldest, Until: 13},
	// Removed in 15.
	{Name: "stats_temp_directory", VarType: String, Context: Sighup, Since: Oldest, Until: 14},
	// Added in 16.
	{Name: "createrole_self_grant", VarType: String, Context: User, Since: 16},
	{Name: "debug_io_direct", VarType: String, Context: Postmaster, Since: 16},
	{Name: "debug_logical_replication_streaming", VarType: Enum, Context: User, EnumVals: []string{"buffered", "immediate"}, Since: 16},
	{Name: "debug_parallel_query", VarType: Enum, Context: User, EnumVals: []string{"off", "on", "regress"}, Since: 16},
	{Name: "enable_presorted_aggregate", VarType: Bool, Context: User, Since: 16},
	{Name: "gss_accept_delegation", VarType: Bool, Context: Sighup, Since: 16},
	{Name: "icu_validation_level", VarType: Enum, Context: User, EnumVals: []string{"disabled", "debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error"}, Since: 16},
	{Name: "max_parallel_apply_workers_per_subscription", VarType: Integer, Context: Sighup, Min: 0, Max: 1024, HasRange: true, Since: 16},
	{Name: "reserved_connections", VarType: Integer, Context: Postmaster, Min: 0, Max: 262143, HasRange: true, Since: 16},
	{Name: "scram_iterations", VarType: Integer, Context: User, Min: 1, Max: 2147483647, HasRange: true, Since: 16},
	{Name: "send_abort_for_crash", VarType: Bool, Context: Sighup, Since: 16},
	{Name: "send_abort_for_kill", VarType: Bool, Context: Sighup, Since: 16},
	{Name: "vacuum_buffer_usage_limit", VarType: Integer, Unit: "kB", Context: User, Min: 0, Max: 16777216, HasRange: true, Since: 16},
	// Added in 17.
	{Name: "allow_alter_system", VarType: Bool, Context: Sighup, Since: 17},
	{Name: "commit_timestamp_buffers", VarType: Integer, Unit: "8kB", Context: Postmaster, Min: 0, Max: 131072, HasRange: true, Since: 17},
	{Name: "enable_group_by_reordering", VarType: Bool, Context: User, Since: 17},
	{Name: "event_triggers", VarType: Bool, Context: Superuser, Since: 17},
	{Name: "huge_pages_status", VarType: Enum, Context: Internal, EnumVals: []string{"off", "on", "unknown"}, Since: 17},
	{Name: "io_combine_limit", VarType: Integer, Unit: "8kB", Context: User, Min: 1, Max: 32, HasRange: true, Since: 17},
	{Name: "max_notify_queue_pages", VarType: Integer, Context: Postmaster, Min: 64, Max: 2147483647, HasRange: true, Since: 17},
	{Name: "multixact_member_buffers", VarType: Integer, Unit: "8kB", Context: Postmaster, Min: 16, Max: 131072, HasRange: true, Since: 17},
	{Name: "multixact_offset_buffers", VarType: Integer, Unit: "8kB", Context: Postmaster, Min: 16, Max: 131072, HasRange: true, Since: 17},
	{Name: "notify_buffers", VarType: Integer, Unit: "8kB", Context: Postmaster, Min: 16, Max: 131072, HasRange: true, Since: 17},
	{Name: "restrict_nonsystem_relation_kind", VarType: String, Context: User, Since: 17},
	{Name: "serializable_buffers", VarType: Integer, Unit: "8kB", Context: Postmaster, Min: 16, Max: 131072, HasRange: true, Since: 17},
	{Name: "subtransaction_buffers", VarType: Integer, Unit: "8kB", Context: Postmaster, Min: 0, Max: 131072, HasRange: true, Since: 17},
	{Name: "summarize_wal", VarType: Bool, Context: Sighup, Since: 17},
	{Name: "sync_replication_slots", VarType: Bool, Context: Sighup, Since: 17},
	{Name: "synchronized_standby_slots", VarType: String, Context: Sighup, Since: 17},
	{Name: "trace_connection_negotiation", VarType: Bool, Context: Postmaster, Since: 17},
	{Name: "transaction_buffers", VarType: Integer, Unit: "8kB", Context: Postmaster, Min: 0, Max: 131072, HasRange: true, Since: 17},
	{Name: "transaction_timeout", VarType: Integer, Unit: "ms", Context: User, Min: 0, Max: 2147483647, HasRange: true, Since: 17},
	{Name: "wal_summary_keep_time", VarType: Integer, Unit: "min", Context: Sighup, Min: 0, Max: 35791394, HasRange: true, Since: 17},
}

type overrideKey struct {
	name    string
	version int
}

// overrides change a parameter in one version where it differs from 15.
var overrides = map[overrideKey]func(*Param){
	// Until 13 the standby's connection could not change without a restart.
	{"primary_conninfo", 12}:  func(p *Param) { p.Context = Postmaster },
	{"primary_slot_name", 12}: func(p *Param) { p.Context = Postmaster },
	// wal_compression was a Boolean until 15 made it an enum of methods.
	{"wal_compression", 12}: boolParam,
	{"wal_compression", 13}: boolParam,
	{"wal_compression", 14}: boolParam,
	// password_encryption accepted on/off (meaning md5) until 14.
	{"password_encryption", 12}: withAliases(map[string]string{"on": "md5", "true": "md5", "yes": "md5", "1": "md5"}),
	{"password_encryption", 13}: withAliases(map[string]string{"on": "md5", "true": "md5", "yes": "md5", "1": "md5"}),
	// 16 renamed force_parallel_mode; 16 raised max_wal_senders' ceiling the
	// same as 15, nothing to do there.
}

func boolParam(p *Param) {
	p.VarType, p.EnumVals, p.aliases = Bool, nil, nil
}

func withAliases(al map[string]string) func(*Param) {
	return func(p *Param) { p.aliases = al }
}

// boolAliases are the hidden spellings guc_tables.c gives enums that were
// Booleans once: true/yes/1 mean on, false/no/0 mean off.
var boolAliases = map[string]string{
	"true": "on", "yes": "on", "1": "on",
	"false": "off", "no": "off", "0": "off",
}

// enumAliases maps lowercased hidden enum spellings to the value PostgreSQL
// shows for them (config_enum_lookup_by_value returns the first visible
// name with the same value).
var enumAliases = map[string]map[string]string{
	"wal_level":            {"archive": "replica", "hot_standby": "replica"},
	"synchronous_commit":   boolAliases,
	"huge_pages":           boolAliases,
	"recovery_prefetch":    boolAliases,
	"constraint_exclusion": boolAliases,
	"backslash_quote":      boolAliases,
	"compute_query_id":     boolAliases,
	"archive_mode":         boolAliases,
	"force_parallel_mode":  boolAliases,
	"debug_parallel_query": boolAliases,
	"wal_compression": {
		"on": "pglz", "true": "pglz", "yes": "pglz", "1": "pglz",
		"false": "off", "no": "off", "0": "off",
	},
	"client_min_messages":     {"debug": "debug2", "info": "info"},
	"log_min_messages":        {"debug": "debug2"},
	"log_min_error_statement": {"debug": "debug2"},
	"trace_recovery_messages": {"debug": "debug2"},
}
