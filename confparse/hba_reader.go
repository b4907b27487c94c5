package confparse

// HBAReader reads the files a pg_hba.conf refers to: "@file" name lists and,
// from PostgreSQL 16, include, include_if_exists and include_dir. A missing
// file must give an error that satisfies errors.Is(err, fs.ErrNotExist).
// ReadDir returns the names (not paths) of the entries of a directory.
type HBAReader interface {
	ReadFile(path string) ([]byte, error)
	ReadDir(path string) ([]string, error)
}
