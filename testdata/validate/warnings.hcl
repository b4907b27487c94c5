# A valid spec with risky choices, for the golden output of pgrepl
# validate: warnings do not fail validation.
cluster "legacy" {
  postgres_version = 13

  replication {
    user        = "replicator"
    password    = "correct-horse-battery-staple"
    auth_method = "md5"
  }

  primary "pg1" {
    host     = "127.0.0.2"
    data_dir = "/srv/legacy/pg1"
    hba = [
      "host replication all 0.0.0.0/0 trust",
    ]
  }

  standby "pg2" {
    host     = "127.0.0.3"
    data_dir = "/srv/legacy/pg2"
  }
}
