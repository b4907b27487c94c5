#!/usr/bin/env bash
# deps.sh demo|test: installs what "make demo" or "make test" needs, when it
# is missing, from Debian's packages, so that both work on a fresh machine.
#
#   demo  PostgreSQL 15's server (initdb, pg_ctl, pg_basebackup) and psql
#   test  the same, plus sshd, the ssh client tools, sudo, runuser and ip
#
# Nothing is installed when everything is there. As root it runs apt-get;
# as another user it names the packages and the command, and fails. With
# PGREPL_PG_BINDIR set, PostgreSQL comes from there and is not installed.
set -euo pipefail
what=${1:-test}
case $what in demo | test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
need=()
add() { case " ${need[*]-} " in *" $1 "*) ;; *) need+=("$1") ;; esac; }

if [ -z "${PGREPL_PG_BINDIR:-}" ]; then
	for b in initdb pg_ctl postgres pg_basebackup pg_controldata; do
		[ -x "/usr/lib/postgresql/15/bin/$b" ] || add postgresql-15
	done
fi
command -v psql >/dev/null || add postgresql-client-15
if [ "$what" = test ]; then
	[ -x /usr/sbin/sshd ] || add openssh-server
	for c in ssh ssh-keygen ssh-agent ssh-add; do command -v "$c" >/dev/null || add openssh-client; done
	command -v ip >/dev/null || add iproute2
	command -v runuser >/dev/null || add util-linux
	command -v sudo >/dev/null || add sudo
fi
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "make $what needs Debian packages that are missing: ${need[*]}" >&2
	echo "install them with: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
	exit 1
fi
command -v apt-get >/dev/null || { echo "make $what needs ${need[*]}, and there is no apt-get to install them" >&2; exit 1; }
echo "installing for make $what: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
