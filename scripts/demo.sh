#!/usr/bin/env bash
# make demo: pgrepl's main job on a local two-node cluster.
#
# Creates, under a temp dir, a PostgreSQL 15 primary on 127.0.0.2:5432 and an
# unrelated stand-alone server on 127.0.0.3:5432, writes a spec that makes the
# second a streaming standby of the first, then runs
#
#   pgrepl plan; pgrepl apply --auto-approve; pgrepl status --write-probe;
#   pgrepl plan --detailed-exitcode   (must say: No changes)
#
# and tears everything down, unless PGREPL_DEMO_KEEP=1. Works as root (the
# servers then run as the postgres OS user) or as any user (the servers run
# as that user). PGREPL_PG_BINDIR overrides /usr/lib/postgresql/15/bin.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
keep=${PGREPL_DEMO_KEEP:-0}

for b in initdb pg_ctl pg_basebackup; do
	[ -x "$bindir/$b" ] || { echo "demo: $bindir/$b not found; install postgresql-15 or set PGREPL_PG_BINDIR" >&2; exit 1; }
done
[ -x "$pgrepl" ] || { echo "demo: $pgrepl not built; run make build" >&2; exit 1; }

dir=$(workdir pgrepl-demo)

stop_all() {
	for n in pg1 pg2; do
		if [ -f "$dir/$n/postmaster.pid" ]; then
			as "$bindir/pg_ctl" -D "$dir/$n" -m fast -w stop >/dev/null 2>&1 || true
		fi
	done
}
cleanup() {
	status=$?
	if [ "$keep" = 1 ]; then
		echo
		echo "demo: kept in $dir (servers still running). To stop them:"
		echo "  $bindir/pg_ctl -D $dir/pg1 stop; $bindir/pg_ctl -D $dir/pg2 stop"
	else
		stop_all
		rm -rf "$dir"
	fi
	exit $status
}
trap cleanup EXIT

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	step() { printf '\n== %s\n' "$*"; }
fi

# The replication password lives only in the environment: pgrepl reads it
# through env() and never prints, saves or passes it on a command line.
PGREPL_REPLICATION_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
export PGREPL_REPLICATION_PASSWORD

step "Two plain PostgreSQL 15 servers: pg1 on 127.0.0.2:5432, pg2 (unrelated) on 127.0.0.3:5432"
for n in pg1:127.0.0.2 pg2:127.0.0.3; do
	name=${n%%:*} addr=${n#*:}
	# Local socket connections are trusted in this throw-away demo, so that
	# pgrepl (perhaps root) can connect as the server's superuser.
	as "$bindir/initdb" -D "$dir/$name" -U "$osuser" --auth-local=trust --auth-host=scram-sha-256 \
		--no-instructions -E UTF8 --locale=C >/dev/null
	cat >>"$dir/$name/postgresql.conf" <<-EOF
		listen_addresses = '$addr'
		unix_socket_directories = '$dir/$name'
	EOF
	as "$bindir/pg_ctl" -D "$dir/$name" -l "$dir/$name.log" -w start >/dev/null
done
# Some data on the primary, so the standby has something to show.
as "$bindir/psql" -XAtq -h "$dir/pg1" -U "$osuser" -d postgres \
	-c "CREATE TABLE demo_orders (id int PRIMARY KEY, item text); INSERT INTO demo_orders SELECT g, 'item ' || g FROM generate_series(1, 1000) g;"

cat >"$dir/pgrepl.hcl" <<EOF
# The demo cluster: pg2 becomes a streaming standby of pg1.
cluster "demo" {
  postgres_version = 15

  replication {
    user     = "replicator"
    password = env("PGREPL_REPLICATION_PASSWORD")
  }

  defaults {
    port    = 5432
    os_user = "$osuser"
    control = "pg_ctl"
    bin_dir = "$bindir"
  }

  primary "pg1" {
    host     = "127.0.0.2"
    data_dir = "$dir/pg1"
    settings = {
      # Each node's own: pg_basebackup copies the primary's postgresql.conf
      # into the standby's data directory.
      listen_addresses        = "127.0.0.2"
      unix_socket_directories = "$dir/pg1"
    }
  }

  standby "pg2" {
    host     = "127.0.0.3"
    data_dir = "$dir/pg2"
    # On one machine a connection to 127.0.0.2 comes from 127.0.0.1, so
    # that is the address the primary's pg_hba.conf rule must name.
    source_address = "127.0.0.1"
    settings = {
      listen_addresses        = "127.0.0.3"
      unix_socket_directories = "$dir/pg2"
    }
  }
}
EOF
cd "$dir"

step "pgrepl validate"
"$pgrepl" validate

step "pgrepl plan"
"$pgrepl" plan

step "pgrepl apply --auto-approve"
"$pgrepl" apply --auto-approve

step "pgrepl status --write-probe"
"$pgrepl" status --write-probe

step "pgrepl plan --detailed-exitcode (after apply: nothing left to do)"
set +e
"$pgrepl" plan --detailed-exitcode
code=$?
set -e
if [ "$code" -ne 0 ]; then
	echo "demo: the second plan wanted changes (exit $code)" >&2
	exit 1
fi

step "The old pg2 data directory was moved aside, not deleted"
ls -d "$dir"/pg2.pgrepl-* 

step "Checked independently with psql"
as "$bindir/psql" -XAt -h "$dir/pg1" -U "$osuser" -d postgres \
	-c "SELECT application_name, state, sync_state FROM pg_stat_replication"
as "$bindir/psql" -XAt -h "$dir/pg2" -U "$osuser" -d postgres \
	-c "SELECT 'pg2 in recovery: ' || pg_is_in_recovery(), 'rows on pg2: ' || count(*) FROM demo_orders"

echo
echo "demo: done."
