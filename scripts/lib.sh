# lib.sh: what demo.sh and bench-apply.sh share; sourced, not run.
#
# Sets here (the repository), pgrepl (its binary), bindir (PostgreSQL's:
# $PGREPL_PG_BINDIR or Debian's 15), osuser (who runs the servers: postgres
# for root, else the caller) and as (run a command as osuser).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pgrepl="$here/bin/pgrepl"
bindir=${PGREPL_PG_BINDIR:-/usr/lib/postgresql/15/bin}

if [ "$(id -u)" -eq 0 ]; then
	osuser=postgres
	as() { runuser -u "$osuser" -- "$@"; }
else
	osuser=$(id -un)
	as() { "$@"; }
fi

# workdir NAME: a new directory /tmp/NAME.XXXXXX that osuser may use.
workdir() {
	local d
	d=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 0755 "$d"
	if [ "$(id -u)" -eq 0 ]; then chown "$osuser:" "$d"; fi
	echo "$d"
}
