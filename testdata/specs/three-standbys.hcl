# A primary with three standbys, one of them synchronous: a commit waits
# until pg2 has it. pg3 and pg4 stream asynchronously.

cluster "billing" {
  postgres_version = 16

  replication {
    user = "replicator"
    # file() reads relative to this file; trimspace drops the line break.
    password = trimspace(file("secrets/replication-password"))

    slots       = true    # one physical slot per standby (the default)
    synchronous = ["pg2"] # -> synchronous_standby_names
    checkpoint  = "fast"  # pg_basebackup --checkpoint=fast (the default)
  }

  defaults {
    bin_dir = "/usr/lib/postgresql/16/bin"
    settings = {
      listen_addresses         = "*"
      max_connections          = 200
      shared_buffers           = "2GB"
      shared_preload_libraries = ["pg_stat_statements"]
      "pg_stat_statements.max" = 10000
      wal_keep_size            = "1GB"
      hot_standby_feedback     = true
    }
  }

  primary "pg1" {
    host     = "127.0.0.2"
    data_dir = "/srv/billing/pg1"
    settings = {
      max_wal_senders = 10 # pgrepl needs at least 5: 3 standbys + 2
    }
    hba = [
      "hostssl billing app 10.20.0.0/16 scram-sha-256",
    ]
  }

  standby "pg2" {
    host     = "127.0.0.3"
    data_dir = "/srv/billing/pg2"
  }

  standby "pg3" {
    host     = "127.0.0.4"
    data_dir = "/srv/billing/pg3"
  }

  standby "pg4" {
    host     = "127.0.0.5"
    data_dir = "/srv/billing/pg4"
    slot     = "pg4_dr" # default: pg4
  }
}
