#!/usr/bin/env bash
# bench-apply: pgrepl apply's overhead against the runbook it replaces.
#
# Builds, once, a ~200 MB primary (pgbench -i -s 13) and an unrelated
# stand-alone server, both stopped, as templates. Then, RUNS times each and
# alternating, on identical fresh copies of the templates (copying is not
# timed):
#
#   runbook: the raw commands an operator types — create the replication
#            role, add the pg_hba.conf line, set max_wal_senders, restart the
#            primary, create the slot, stop the standby, move its data aside,
#            pg_basebackup -Fp -Xs -R -P -S --checkpoint=fast, give it its own
#            listen address, start it, and check (pg_stat_replication
#            streaming, pg_is_in_recovery, a write refused, replay caught up);
#   pgrepl:  pgrepl apply --auto-approve on the same spec (observe, plan, the
#            same steps, and its own verification).
#
# and prints each time, the medians, and the ratio pgrepl/runbook (target:
# at most 1.3). Works as root (servers run as the postgres OS user) or as any
# user. PGREPL_PG_BINDIR overrides /usr/lib/postgresql/15/bin; RUNS (default
# 7: fewer let one noisy run move the median), SCALE (default 13) and PORT
# (default 55432, on 127.0.0.2 and 127.0.0.3) can be set.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
runs=${RUNS:-7}
scale=${SCALE:-13}
port=${PORT:-55432}
for b in initdb pg_ctl pg_basebackup psql pgbench; do
	[ -x "$bindir/$b" ] || { echo "bench: $bindir/$b not found" >&2; exit 1; }
done
(cd "$here" && go build -o bin/pgrepl ./cmd/pgrepl)

dir=$(workdir pgrepl-bench)
stop_all() {
	for d in "$dir"/*/pg1 "$dir"/*/pg2 "$dir"/tmpl/pg1 "$dir"/tmpl/pg2; do
		[ -f "$d/postmaster.pid" ] && as "$bindir/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
	done
}
trap 'stop_all; rm -rf "$dir"' EXIT

now() { date +%s.%N; }
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s' "$password" >"$dir/replication.pw"
chmod 0600 "$dir/replication.pw"

# Templates: pg1 with pgbench data, pg2 an unrelated cluster; both stopped.
echo "bench: building the templates (pgbench -i -s $scale) ..."
as mkdir -p "$dir/tmpl"
for n in pg1:127.0.0.2 pg2:127.0.0.3; do
	name=${n%%:*} addr=${n#*:}
	as "$bindir/initdb" -D "$dir/tmpl/$name" -U "$osuser" --auth-local=trust --auth-host=scram-sha-256 \
		--no-instructions -E UTF8 --locale=C >/dev/null
done
as "$bindir/pg_ctl" -D "$dir/tmpl/pg1" -l "$dir/tmpl/pg1.log" -w \
	-o "-c listen_addresses='' -c unix_socket_directories=$dir/tmpl -c port=$port" start >/dev/null
as "$bindir/pgbench" -i -q -s "$scale" -h "$dir/tmpl" -p "$port" -U "$osuser" postgres >/dev/null 2>&1
as "$bindir/psql" -XAtq -h "$dir/tmpl" -p "$port" -U "$osuser" -d postgres -c "CHECKPOINT"
size=$(as "$bindir/psql" -XAtq -h "$dir/tmpl" -p "$port" -U "$osuser" -d postgres -c "SELECT pg_size_pretty(sum(pg_database_size(oid))) FROM pg_database")
as "$bindir/pg_ctl" -D "$dir/tmpl/pg1" -m fast -w stop >/dev/null
echo "bench: primary holds $size"

# fresh RUN: copies of the templates under $dir/RUN, both servers started
# on their own addresses, as a host would have them.
fresh() {
	local r=$dir/$1
	as mkdir -p "$r"
	for n in pg1:127.0.0.2 pg2:127.0.0.3; do
		local name=${n%%:*} addr=${n#*:}
		as cp -a "$dir/tmpl/$name" "$r/$name"
		as mkdir -p "$r/$name.sock"
		cat <<-EOF | as tee -a "$r/$name/postgresql.conf" >/dev/null
			port = $port
			listen_addresses = '$addr'
			unix_socket_directories = '$r/$name.sock'
		EOF
		as "$bindir/pg_ctl" -D "$r/$name" -l "$r/$name.log" -w start >/dev/null
	done
	sync
}

psql1() { as "$bindir/psql" -XAtq -v ON_ERROR_STOP=1 -h "$1/pg1.sock" -p "$port" -U "$osuser" -d postgres "${@:2}"; }
psql2() { as "$bindir/psql" -XAtq -v ON_ERROR_STOP=1 -h "$1/pg2.sock" -p "$port" -U "$osuser" -d postgres "${@:2}"; }

# The runbook, as its raw commands.
runbook() {
	local r=$dir/$1
	# Replication role (the statement on stdin, not on the command line).
	echo "CREATE ROLE replicator WITH LOGIN REPLICATION PASSWORD '$password'" | psql1 "$r" >/dev/null
	# pg_hba.conf line for the standby, and the primary's settings.
	echo "host replication replicator 127.0.0.1/32 scram-sha-256" | as tee -a "$r/pg1/pg_hba.conf" >/dev/null
	echo "max_wal_senders = 5" | as tee -a "$r/pg1/postgresql.conf" >/dev/null
	as "$bindir/pg_ctl" -D "$r/pg1" -l "$r/pg1.log" -m fast -w restart >/dev/null
	psql1 "$r" -c "SELECT pg_create_physical_replication_slot('pg2', true)" >/dev/null
	# The standby: stop, move aside, copy, own settings, start.
	as "$bindir/pg_ctl" -D "$r/pg2" -m fast -w stop >/dev/null
	as mv "$r/pg2" "$r/pg2.old"
	printf '127.0.0.2:%s:replication:replicator:%s\n' "$port" "$password" | as tee "$r/pg2.pgpass" >/dev/null
	as chmod 0600 "$r/pg2.pgpass"
	as "$bindir/pg_basebackup" -d "host=127.0.0.2 port=$port user=replicator application_name=pg2 passfile=$r/pg2.pgpass" \
		-D "$r/pg2" -Fp -Xs -R -P -S pg2 --checkpoint=fast 2>/dev/null
	cat <<-EOF | as tee -a "$r/pg2/postgresql.conf" >/dev/null
		listen_addresses = '127.0.0.3'
		unix_socket_directories = '$r/pg2.sock'
	EOF
	as "$bindir/pg_ctl" -D "$r/pg2" -l "$r/pg2.log" -w start >/dev/null
	# Checks.
	until [ "$(psql1 "$r" -c "SELECT state FROM pg_stat_replication WHERE application_name = 'pg2'")" = streaming ]; do sleep 0.1; done
	[ "$(psql2 "$r" -c "SELECT pg_is_in_recovery()")" = t ]
	if psql2 "$r" -c "CREATE TABLE nope (x int)" >/dev/null 2>&1; then echo "bench: the standby took a write" >&2; exit 1; fi
	local lsn
	lsn=$(psql1 "$r" -c "SELECT pg_current_wal_lsn()")
	until [ "$(psql2 "$r" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ]; do sleep 0.1; done
}

# pgrepl apply on the same setup.
with_pgrepl() {
	local r=$dir/$1
	cat >"$r.hcl" <<-EOF
		cluster "bench" {
		  postgres_version = 15
		  replication {
		    user     = "replicator"
		    password = file("$dir/replication.pw")
		  }
		  defaults {
		    port    = $port
		    os_user = "$osuser"
		    control = "pg_ctl"
		    bin_dir = "$bindir"
		  }
		  primary "pg1" {
		    host     = "127.0.0.2"
		    data_dir = "$r/pg1"
		    settings = {
		      listen_addresses        = "127.0.0.2"
		      unix_socket_directories = "$r/pg1.sock"
		      max_wal_senders         = 5
		    }
		  }
		  standby "pg2" {
		    host           = "127.0.0.3"
		    data_dir       = "$r/pg2"
		    source_address = "127.0.0.1"
		    settings = {
		      listen_addresses        = "127.0.0.3"
		      unix_socket_directories = "$r/pg2.sock"
		    }
		  }
		}
	EOF
	"$pgrepl" apply --auto-approve --spec "$r.hcl" >"$r.out" 2>&1 || { cat "$r.out" >&2; exit 1; }
}

# same_work checks, untimed, that a run did the whole job: the primary was
# restarted with max_wal_senders = 5, and the standby streams and holds every
# pgbench row.
same_work() {
	local r=$dir/$1
	[ "$(psql1 "$r" -c "SHOW max_wal_senders")" = 5 ] || { echo "bench: $1: the primary was not restarted with max_wal_senders = 5" >&2; exit 1; }
	[ "$(psql1 "$r" -c "SELECT state FROM pg_stat_replication WHERE application_name = 'pg2'")" = streaming ] || { echo "bench: $1: pg2 does not stream" >&2; exit 1; }
	[ "$(psql2 "$r" -c "SELECT count(*) FROM pgbench_accounts")" = "$((scale * 100000))" ] || { echo "bench: $1: pg2 lacks rows" >&2; exit 1; }
	[ -d "$r/pg2.old" ] || ls -d "$r"/pg2.pgrepl-* >/dev/null || { echo "bench: $1: the old pg2 is gone" >&2; exit 1; }
}

cleanup_run() {
	local r=$dir/$1
	for d in "$r/pg1" "$r/pg2"; do
		[ -f "$d/postmaster.pid" ] && as "$bindir/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
	done
	rm -rf "$r" "$r.hcl" "$r.out"
}

declare -a t_runbook t_pgrepl
for i in $(seq 1 "$runs"); do
	for what in runbook pgrepl; do
		fresh "$what$i"
		start=$(now)
		if [ "$what" = runbook ]; then runbook "$what$i"; else with_pgrepl "$what$i"; fi
		end=$(now)
		secs=$(echo "$end - $start" | bc -l)
		if [ "$what" = runbook ]; then t_runbook+=("$secs"); else t_pgrepl+=("$secs"); fi
		printf 'bench: run %d %-8s %6.2fs\n' "$i" "$what" "$secs"
		same_work "$what$i"
		if [ "$what" = pgrepl ] && [ "$i" = 1 ]; then grep -E '^pg[12]: .*(done|FAILED)|^Apply' "$dir/$what$i.out" | sed 's/^/    /'; fi
		cleanup_run "$what$i"
	done
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mr=$(median "${t_runbook[@]}")
mp=$(median "${t_pgrepl[@]}")
ratio=$(echo "$mp / $mr" | bc -l)
printf '\nprimary: %s; %d runs each\n' "$size" "$runs"
printf 'runbook (raw commands): median %6.2fs  (%s)\n' "$mr" "${t_runbook[*]}"
printf 'pgrepl apply:           median %6.2fs  (%s)\n' "$mp" "${t_pgrepl[*]}"
printf 'ratio pgrepl/runbook:   %.2f (target <= 1.30)\n' "$ratio"
