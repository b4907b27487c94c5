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
// Output. Steps run in plan order; each prints, to the command's stdout,
// a line when it starts and one when it ends, with its duration and what it
// left behind:
//
//	pg1: edit_file /srv/pg1/postgresql.conf ...
//	pg1: edit_file /srv/pg1/postgresql.conf: done (0.1s); previous version kept as /srv/pg1/postgresql.conf.pgrepl-20261125T224837Z
//	pg2: basebackup from pg1 ...
//	pg2: basebackup from pg1: 45% (90.1 MB of 200.0 MB)
//	pg2: basebackup from pg1: done (12.3s); previous data directory kept at /srv/pg2.pgrepl-20261125T224837Z
//	pg2: verify ...
//	    ✓ streaming    pg_stat_replication: streaming (async)
//	pg2: verify: done (0.1s); streaming (async), 0 bytes behind
//
// (nodes are "cluster/node" when the spec has several clusters).
// pg_basebackup's progress is a bar redrawn in place on a terminal, and a
// line at most every 5 seconds otherwise. A step that fails ends with
// "FAILED (duration)"; the apply stops, and Result.WriteReport lists what
// was done, what failed (with the command's error output, the server's log
// for a start) and what was not done — the command prints it to stderr.
//
// Files apply leaves beside what it changes (it removes nothing but its own
// lock and an empty directory it made or replaces):
//
//	<file>.pgrepl-<stamp>[-N]          the previous version of an edited config file
//	<file>.pgrepl-<stamp>-undone       a new file taken back by a failed restart
//	<data_dir>.pgrepl-<stamp>          a standby's data directory, moved aside for a rebuild
//	<data_dir>.pgrepl-<stamp>-failed   the partial copy of a pg_basebackup that failed
//	<data_dir>.log                     the server's output when started by pg_ctl
//	<data_dir of primary>/../.pgrepl-<cluster>.lock   while an apply runs (LockPath)
//
// Timestamps in names are UTC, "20261125T224837Z" (Stamp).
//
// The pg_ctl control writes the server's output to <data_dir>.log, beside
// the data directory (pg_ctl start always gets -l: without it the server
// inherits pgrepl's stdout and the command never ends; beside, so that
// pg_basebackup does not copy it and a rebuild keeps it). A server with
// logging_collector on logs there only until the collector starts.
// pg_ctlcluster and systemd keep their own logs; a failed start quotes the
// last lines of whichever applies.
package apply
