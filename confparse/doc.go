// Package confparse reads and edits PostgreSQL's configuration files
// (postgresql.conf, postgresql.auto.conf, pg_hba.conf) losslessly, as
// PostgreSQL itself reads them. It does no I/O beyond an injected Reader and
// imports nothing of the project.
//
// For postgresql.conf syntax, ParseConf parses one file into a File that
// keeps every byte (File.Bytes returns the input unchanged), Load follows the
// include directives and postgresql.auto.conf the way PostgreSQL's
// ProcessConfigFile does and answers what the pg_file_settings view would
// report (Config.Entries) and which line wins for a name (Config.Lookup), and
// File.Set, File.Remove and Config.SetWinning make minimal edits that leave
// every other byte identical.
package confparse
