# The local demo pair with pg1's max_connections moved to 50: a standby needs
# at least its primary's value, so the order of the restarts matters.

cluster "demo" {
  postgres_version = 15

  replication {
    user     = "replicator"
    password = env("PGREPL_REPLICATION_PASSWORD")
  }

  defaults {
    port    = 5432
    os_user = "postgres"
    control = "pg_ctl"
  }

  primary "pg1" {
    host     = "127.0.0.2"
    data_dir = "/srv/pgrepl-demo/pg1"
    settings = {
      # Each node's own: pg_basebackup copies the primary's config files
      # into the standby's data directory.
      listen_addresses        = "127.0.0.2"
      max_connections         = 50
      unix_socket_directories = "/srv/pgrepl-demo/pg1"
    }
  }

  standby "pg2" {
    host     = "127.0.0.3"
    data_dir = "/srv/pgrepl-demo/pg2"
    # A connection to 127.0.0.2 comes from 127.0.0.1 unless a local route
    # says otherwise, so that is the address the primary's pg_hba.conf rule
    # for this standby must name.
    source_address = "127.0.0.1"
    settings = {
      listen_addresses        = "127.0.0.3"
      unix_socket_directories = "/srv/pgrepl-demo/pg2"
    }
  }
}
