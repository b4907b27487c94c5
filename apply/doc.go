// Package apply carries out a plan: it changes the hosts of a cluster step by
// step, through the same transports observation uses (package host), and
// proves at the end that replication works (package verify).
//
// What may never happen (DESIGN §5) shapes every step here:
//
//   - No data is deleted. A data directory being replaced is moved aside to
//     <data_dir>.pgrepl-<timestamp> after a free-space check; a basebackup
//     that fails moves its partial directory aside too
//     (<data_dir>.pgrepl-<timestamp>-failed).
//   - A config file is re-read before it is written, and refused when it no
//     longer is what the plan saw (its sha256). Its previous version is kept
//     beside it as <file>.pgrepl-<timestamp> (owner and mode kept), and the
//     new one is written atomically, keeping owner and mode. A pg_hba.conf
//     that PostgreSQL would reject (pg_hba_file_rules) is put back before
//     any reload; a restart that fails puts the previous config files back
//     and starts the server again.
//   - Two applies on one cluster never interleave: a lock file on the
//     primary's host (see Lock) names who holds it and since when.
//   - The replication password never reaches an argv, an environment, a
//     log or the server: roles get a SCRAM verifier computed here
//     (internal/scram), pg_basebackup and the standby read a passfile of
//     mode 0600.
//
// Timestamps in names are UTC, "20261125T224837Z" (Stamp).
//
// The pg_ctl control writes the server's startup output to
// <data_dir>.log, beside the data directory (pg_ctl start always gets -l:
// without it the server inherits pgrepl's stdout and the command never
// ends). A server with logging_collector on logs there only until the
// collector starts.
package apply
