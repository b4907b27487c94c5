# A spec with a mistake of each common kind, for the golden output of
# pgrepl validate. Do not fix it.
cluster "shop" {
  postgres_version = 15

  replication {
    user        = "replicator"
    password    = env("PGREPL_TEST_UNSET_PASSWORD")
    synchronous = ["db3"]
  }

  defaults {
    data_dir = "/var/lib/postgresql/15/main"
    settings = {
      wal_level      = "minimal"
      max_wal_sender = 10
    }
  }

  primary "db1" {
    host = "192.0.2.11"
    ssh {}
    settings = {
      max_wal_senders  = "lots"
      shared_buffers   = "128MiB"
      listen_addresses = "localhost"
    }
  }

  standby "db2" {
    host     = "192.0.2.12"
    data_dir = "var/lib/postgresql/15/main"
    slot     = "DB-2"
    ssh {}
    settings = {
      primary_conninfo = "host=192.0.2.11"
    }
  }

  standby "db2" {
    hots = "192.0.2.13"
  }
}
