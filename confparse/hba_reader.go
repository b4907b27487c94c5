package confparse

// HBAReader reads the files a pg_hba.conf refers to: "@file" name lists and,
// from PostgreSQL 16, include, include_if_exists and include_dir. It is the
// same Reader that Load uses for postgresql.conf.
type HBAReader = Reader
