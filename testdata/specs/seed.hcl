# The seed scenario: one primary and one standby, each its own Debian host
# reached over SSH, with PostgreSQL 15 from Debian's packages
# (pg_createcluster 15 main: data in /var/lib, config in /etc, systemd unit
# postgresql@15-main). Run pgrepl from an operator's machine:
#
#   export PGREPL_REPLICATION_PASSWORD=…   # never written in the spec
#   pgrepl plan -s seed.hcl

cluster "orders" {
  postgres_version = 15

  replication {
    user     = "replicator"
    password = env("PGREPL_REPLICATION_PASSWORD")
  }

  defaults {
    data_dir   = "/var/lib/postgresql/15/main"
    config_dir = "/etc/postgresql/15/main"
    bin_dir    = "/usr/lib/postgresql/15/bin"
    control    = "systemd"
    service    = "postgresql@15-main"

    ssh {
      user             = "ops"
      identity_file    = "~/.ssh/id_ed25519"
      known_hosts_file = "~/.ssh/known_hosts"
      become           = "sudo" # ops runs pgrepl's commands as postgres
    }

    settings = {
      listen_addresses = "*"
    }
  }

  primary "db1" {
    host = "192.0.2.11"
  }

  standby "db2" {
    host = "192.0.2.12"
  }
}
