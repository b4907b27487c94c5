package spec

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const (
	E = hcl.DiagError
	W = hcl.DiagWarning
)

// want is one expected diagnostic: severity, exact summary, line, and
// optionally text its detail must contain.
type want struct {
	sev     hcl.DiagnosticSeverity
	summary string
	line    int
	detail  string
}

// tpl is a one-cluster spec with one line for each part a test changes, so
// that every case can name its lines: the replication slot is line 5, the
// defaults slot line 8, the primary's line 13 and the standby's line 18.
type tpl struct {
	version, repl, defaults, primary, standby string
}

func (t tpl) src() string {
	v := t.version
	if v == "" {
		v = "15"
	}
	return fmt.Sprintf(`cluster "c" {
  postgres_version = %s
  replication {
    password = env("PW")
    %s
  }
  defaults {
    %s
  }
  primary "pg1" {
    host     = "127.0.0.2"
    data_dir = "/srv/pg1"
    %s
  }
  standby "pg2" {
    host     = "127.0.0.3"
    data_dir = "/srv/pg2"
    %s
  }
}
`, v, t.repl, t.defaults, t.primary, t.standby)
}

const testPassword = "s3cret-Pa55word"

// testOptions: env has PW (the password), EMPTY (set, empty) and HOST; the
// spec lives in /spec, whose files are secrets/pw (with a line break),
// secrets/pw-bare (without) and dsn.
func testOptions() Options {
	env := map[string]string{"PW": testPassword, "EMPTY": "", "HOST": "127.0.0.9"}
	files := map[string]string{
		"/spec/secrets/pw":      testPassword + "\n",
		"/spec/secrets/pw-bare": testPassword,
		"/spec/dsn":             "host=/run/pg user=postgres password=" + testPassword,
	}
	return Options{
		Dir: "/spec",
		LookupEnv: func(name string) (string, bool) {
			v, ok := env[name]
			return v, ok
		},
		ReadFile: func(path string) ([]byte, error) {
			if v, ok := files[path]; ok {
				return []byte(v), nil
			}
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		},
	}
}

func loadString(t *testing.T, src string) (*Spec, hcl.Diagnostics) {
	t.Helper()
	return LoadSource([]Source{{Name: "test.hcl", Bytes: []byte(src)}}, testOptions())
}

func checkDiags(t *testing.T, diags hcl.Diagnostics, wants []want) {
	t.Helper()
	var got []string
	for _, d := range diags {
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		got = append(got, fmt.Sprintf("%s %d %s", sevName(d.Severity), line, d.Summary))
	}
	var exp []string
	for _, w := range wants {
		exp = append(exp, fmt.Sprintf("%s %d %s", sevName(w.sev), w.line, w.summary))
	}
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Fatalf("diagnostics:\n%s\nwant:\n%s\nall:\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"), dump(diags))
	}
	for i, w := range wants {
		if w.detail != "" && !strings.Contains(diags[i].Detail, w.detail) {
			t.Errorf("diagnostic %d %q: detail %q does not contain %q", i, w.summary, diags[i].Detail, w.detail)
		}
	}
}

func sevName(s hcl.DiagnosticSeverity) string {
	if s == hcl.DiagWarning {
		return "warning"
	}
	return "error"
}

func dump(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "  %s: %s (%v)\n", sevName(d.Severity), d.Summary, d.Subject)
		fmt.Fprintf(&b, "      %s\n", d.Detail)
	}
	return b.String()
}

// TestRules holds one case per rule of the spec language (see README.md),
// each asserting every diagnostic's severity, exact summary and line.
func TestRules(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []want
	}{
		{"valid", tpl{}.src(), nil},

		// Syntax and structure.
		{"syntax error", "cluster \"c\" {\n  postgres_version = \n}\n", []want{{E, "Invalid expression", 2, ""}}},
		{"top-level argument", "postgres_version = 15\n" + tpl{}.src(),
			[]want{{E, "Unsupported argument", 1, `"postgres_version" belongs in the cluster block.`}}},
		{"top-level node block", "primary \"x\" {}\n" + tpl{}.src(),
			[]want{{E, "Unsupported block type", 1, `primary blocks belong inside a cluster "NAME" { … } block. Valid blocks: cluster.`}}},
		{"cluster without name", "cluster {\n  postgres_version = 15\n}\n", []want{{E, "Missing name for cluster", 1, `A cluster block needs a name: cluster "NAME" { … }.`}}},
		{"cluster with two labels", "cluster \"a\" \"b\" {\n}\n", []want{{E, "Extraneous label for cluster", 1, "takes one label, its name"}}},
		{"invalid cluster name", strings.Replace(tpl{}.src(), `cluster "c"`, `cluster "my cluster"`, 1),
			[]want{{E, "Invalid cluster name", 1, `"my cluster" is not a valid cluster name`}}},
		{"unknown cluster argument", strings.Replace(tpl{}.src(), "  postgres_version = 15\n", "  postgres_version = 15\n  postgres_versoin = 15\n", 1),
			[]want{{E, "Unsupported argument", 3, `An argument named "postgres_versoin" is not expected in a cluster block. Did you mean "postgres_version"? Valid arguments: postgres_version. Valid blocks: defaults, primary, replication, standby.`}}},
		{"unknown cluster block", strings.Replace(tpl{}.src(), "  standby \"pg2\"", "  standy \"pg2\"", 1),
			[]want{{E, "Unsupported block type", 15, `Blocks of type "standy" are not expected in a cluster block. Did you mean "standby"?`}}},
		{"node attribute in cluster", strings.Replace(tpl{}.src(), "  postgres_version = 15\n", "  postgres_version = 15\n  port = 5433\n", 1),
			[]want{{E, "Unsupported argument", 3, `"port" belongs in a primary, standby or defaults block.`}}},

		// postgres_version.
		{"missing postgres_version", strings.Replace(tpl{}.src(), "  postgres_version = 15\n", "\n", 1),
			[]want{{E, "Missing required argument", 1, `The argument "postgres_version" is required in a cluster block`}}},
		{"postgres_version 11", tpl{version: "11"}.src(), []want{{E, "Unsupported PostgreSQL version", 2, "pgrepl supports PostgreSQL 12 to 17; postgres_version is 11."}}},
		{"postgres_version 18", tpl{version: "18"}.src(), []want{{E, "Unsupported PostgreSQL version", 2, "postgres_version is 18."}}},
		{"postgres_version 12", tpl{version: "12"}.src(), nil},
		{"postgres_version 17", tpl{version: "17"}.src(), nil},
		{"postgres_version as string", tpl{version: `"15"`}.src(), nil},
		{"postgres_version not a number", tpl{version: `"fifteen"`}.src(),
			[]want{{E, "Incorrect attribute value type", 2, `Inappropriate value for attribute "postgres_version": a number required, but a string was given.`}}},
		{"postgres_version fraction", tpl{version: "15.2"}.src(), []want{{E, "Invalid postgres_version", 2, "must be a whole number"}}},

		// replication.
		{"missing replication", strings.Replace(tpl{}.src(), "  replication {\n    password = env(\"PW\")\n    \n  }\n", "", 1),
			[]want{{E, "Missing replication block", 1, ""}}},
		{"two replication blocks", strings.Replace(tpl{}.src(), "  defaults {", "  replication {}\n  defaults {", 1),
			[]want{{E, "Duplicate replication block", 7, "the first is at test.hcl:3"}}},
		{"replication with a label", strings.Replace(tpl{}.src(), "  replication {", "  replication \"r\" {", 1),
			[]want{{E, "Missing replication block", 1, ""}, {E, "Extraneous label for replication", 3, "A replication block takes no labels."}}},
		{"unknown replication argument", tpl{repl: `passwd = "x"`}.src(),
			[]want{{E, "Unsupported argument", 5, `Did you mean "password"? Valid arguments: auth_method, checkpoint, password, slots, synchronous, user.`}}},
		{"missing password", strings.Replace(tpl{}.src(), `password = env("PW")`, `user = "rep"`, 1),
			[]want{{E, "Missing replication password", 3, `auth_method "scram-sha-256" needs a password`}}},
		{"trust needs no password", strings.Replace(tpl{}.src(), `password = env("PW")`, `auth_method = "trust"`, 1),
			[]want{{W, "Trust authentication for replication", 4, "without a password"}}},
		{"md5", tpl{repl: `auth_method = "md5"`}.src(), []want{{W, "md5 authentication", 5, "Use auth_method = \"scram-sha-256\"."}}},
		{"unknown auth_method", tpl{repl: `auth_method = "scram"`}.src(),
			[]want{{E, "Unsupported auth_method", 5, `auth_method must be one of "md5", "scram-sha-256" or "trust"; it is "scram".`}}},
		{"literal password", strings.Replace(tpl{}.src(), `env("PW")`, `"hunter2hunter2"`, 1),
			[]want{{W, "Password written in the spec", 4, `Use env("PGREPL_REPLICATION_PASSWORD") or file("…") instead.`}}},
		{"env unset", strings.Replace(tpl{}.src(), `env("PW")`, `env("PGREPL_REPLICATION_PASSWORD")`, 1),
			[]want{{E, "Environment variable not set", 4, `env("PGREPL_REPLICATION_PASSWORD"): the environment variable PGREPL_REPLICATION_PASSWORD is not set.`}}},
		{"env empty", strings.Replace(tpl{}.src(), `env("PW")`, `env("EMPTY")`, 1),
			[]want{{E, "Empty replication password", 4, `It is read by env("EMPTY").`}}},
		{"file missing", strings.Replace(tpl{}.src(), `env("PW")`, `file("secrets/nope")`, 1),
			[]want{{E, "Cannot read file", 4, `file("secrets/nope"): no file /spec/secrets/nope.`}}},
		{"file with line break", strings.Replace(tpl{}.src(), `env("PW")`, `file("secrets/pw")`, 1),
			[]want{{E, "Invalid replication password", 4, `write trimspace(file("…"))`}}},
		{"trimspace file", strings.Replace(tpl{}.src(), `env("PW")`, `trimspace(file("secrets/pw"))`, 1), nil},
		{"file without line break", strings.Replace(tpl{}.src(), `env("PW")`, `file("secrets/pw-bare")`, 1), nil},
		{"env without argument", strings.Replace(tpl{}.src(), `env("PW")`, `env()`, 1), []want{{E, "Not enough function arguments", 4, ""}}},
		{"unknown function", strings.Replace(tpl{}.src(), `env("PW")`, `envv("PW")`, 1), []want{{E, "Call to unknown function", 4, ""}}},
		{"variables are not supported", strings.Replace(tpl{}.src(), `env("PW")`, `var.pw`, 1), []want{{E, "Variables not allowed", 4, ""}}},
		{"empty user", tpl{repl: `user = ""`}.src(), []want{{E, "Invalid replication user", 5, ""}}},
		{"unknown checkpoint", tpl{repl: `checkpoint = "slow"`}.src(),
			[]want{{E, "Unsupported checkpoint", 5, `checkpoint must be "fast" or "spread"`}}},
		{"slots not a bool", tpl{repl: `slots = "maybe"`}.src(), []want{{E, "Incorrect attribute value type", 5, "a bool required"}}},
		{"synchronous unknown standby", tpl{repl: `synchronous = ["pg3"]`}.src(),
			[]want{{E, "Unknown synchronous standby", 5, `replication.synchronous names "pg3", which is not a standby of cluster "c". Did you mean "pg2"? Standbys: pg2.`}}},
		{"synchronous primary", tpl{repl: `synchronous = ["pg1"]`}.src(), []want{{E, "Invalid synchronous standby", 5, `"pg1" is the primary`}}},
		{"synchronous twice", tpl{repl: `synchronous = ["pg2", "pg2"]`}.src(), []want{{E, "Duplicate synchronous standby", 5, ""}}},
		{"synchronous not a list", tpl{repl: `synchronous = "pg2"`}.src(), []want{{E, "Incorrect attribute value type", 5, "a list required"}}},
		{"ssh block in replication", tpl{repl: `ssh {}`}.src(),
			[]want{{E, "Unsupported block type", 5, "ssh blocks belong in a primary, standby or defaults block."}}},

		// Nodes: structure.
		{"missing primary", strings.Replace(tpl{}.src(), "  primary \"pg1\" {\n    host     = \"127.0.0.2\"\n    data_dir = \"/srv/pg1\"\n    \n  }\n", "", 1),
			[]want{{E, "Missing primary", 1, `Cluster "c" has no primary block`}}},
		{"two primaries", strings.Replace(tpl{}.src(), "  standby \"pg2\"", "  primary \"pg2\"", 1),
			[]want{{E, "More than one primary", 15, `Cluster "c" already has primary "pg1" at test.hcl:10`}}},
		{"duplicate node name", strings.Replace(tpl{}.src(), "  standby \"pg2\"", "  standby \"pg1\"", 1),
			[]want{{E, "Duplicate node name", 15, `Cluster "c" already has a node named "pg1" at test.hcl:10`}}},
		{"primary without name", strings.Replace(tpl{}.src(), "  primary \"pg1\" {", "  primary {", 1),
			[]want{{E, "Missing primary", 1, ""}, {E, "Missing name for primary", 10, ""}}},
		{"invalid node name", strings.Replace(tpl{}.src(), "  standby \"pg2\"", "  standby \"pg 2\"", 1),
			[]want{{E, "Invalid node name", 15, "it becomes the standby's application_name"}}},
		{"unknown node argument", tpl{primary: `hots = "x"`}.src(),
			[]want{{E, "Unsupported argument", 13, `An argument named "hots" is not expected in a primary block. Did you mean "host"? Valid arguments: admin_dsn, bin_dir, config_dir, control, data_dir, hba, host, os_user, port, service, settings. Valid blocks: ssh.`}}},
		{"slot on primary", tpl{primary: `slot = "x"`}.src(),
			[]want{{E, "Unsupported argument", 13, `"slot" is only valid in a standby block`}}},
		{"source_address in defaults", tpl{defaults: `source_address = "127.0.0.1"`}.src(),
			[]want{{E, "Unsupported argument", 8, `"source_address" is only valid in a standby block`}}},
		{"password on node", tpl{standby: `password = "x"`}.src(),
			[]want{{E, "Unsupported argument", 18, `"password" belongs in the cluster's replication block.`}}},
		{"unknown node block", tpl{primary: `sshh {}`}.src(),
			[]want{{E, "Unsupported block type", 13, `Did you mean "ssh"?`}}},
		{"settings as a block", tpl{primary: `settings {}`}.src(),
			[]want{{E, "Unsupported block type", 13, `"settings" is an argument, not a block: write settings = … .`}}},
		{"ssh as an argument", tpl{primary: `ssh = {}`}.src(),
			[]want{{E, "Unsupported argument", 13, `"ssh" is a block, not an argument: write ssh { … }.`}}},
		{"two ssh blocks", tpl{primary: `ssh {}` + "\n    ssh {}"}.src(),
			[]want{{E, "Duplicate ssh block", 14, ""}}},

		// Nodes: attributes.
		{"missing host", strings.Replace(tpl{}.src(), "    host     = \"127.0.0.3\"\n", "\n", 1),
			[]want{{E, "Missing required argument", 15, `The argument "host" is required in a standby block (or the cluster's defaults)`}}},
		{"host in defaults", strings.Replace(strings.Replace(tpl{defaults: `host = "127.0.0.2"`}.src(), "    host     = \"127.0.0.3\"\n", "    port = 5433\n", 1), "    host     = \"127.0.0.2\"\n", "\n", 1), nil},
		{"invalid host", strings.Replace(tpl{}.src(), `"127.0.0.3"`, `"db 2"`, 1), []want{{E, "Invalid host", 16, `host must be an IP address or a host name; "db 2" is neither.`}}},
		{"host name", strings.Replace(tpl{}.src(), `"127.0.0.3"`, `"db2.example.com"`, 1), nil},
		{"missing data_dir", strings.Replace(tpl{}.src(), "    data_dir = \"/srv/pg2\"\n", "\n", 1),
			[]want{{E, "Missing required argument", 15, `The argument "data_dir" is required in a standby block (or the cluster's defaults): the node's data directory, such as /var/lib/postgresql/15/main.`}}},
		{"relative data_dir", strings.Replace(tpl{}.src(), `"/srv/pg2"`, `"srv/pg2"`, 1),
			[]want{{E, "Relative path", 17, `data_dir must be an absolute path on the node, such as /var/lib/postgresql/15/main; "srv/pg2" is relative.`}}},
		{"relative config_dir", tpl{primary: `config_dir = "etc"`}.src(), []want{{E, "Relative path", 13, "such as /etc/postgresql/15/main"}}},
		{"relative bin_dir", tpl{defaults: `bin_dir = "bin"`}.src(), []want{{E, "Relative path", 8, "such as /usr/lib/postgresql/15/bin"}}},
		{"port out of range", tpl{primary: `port = 70000`}.src(), []want{{E, "Invalid port", 13, "port must be a whole number from 1 to 65535; it is 70000."}}},
		{"port not a number", tpl{primary: `port = "fifty"`}.src(), []want{{E, "Incorrect attribute value type", 13, ""}}},
		{"unknown control", tpl{defaults: `control = "init.d"`}.src(),
			[]want{{E, "Unsupported control", 8, `control must be one of "pg_ctl", "pg_ctlcluster" or "systemd"; it is "init.d".`}}},
		{"systemd without service", tpl{defaults: `control = "systemd"`}.src(),
			[]want{{E, "Missing service", 8, `add service = "postgresql@15-main"`}}},
		{"systemd with service", tpl{defaults: `control = "systemd"` + "\n    service = \"postgresql@15-main\""}.src(), nil},
		{"pg_ctlcluster without Debian config_dir", tpl{primary: `control = "pg_ctlcluster"`}.src(),
			[]want{{E, "Missing service", 13, `add service = "15/main"`}}},
		{"pg_ctlcluster with Debian config_dir", tpl{primary: `control = "pg_ctlcluster"` + "\n    config_dir = \"/etc/postgresql/15/main\""}.src(), nil},
		{"pg_ctlcluster of another version", tpl{primary: `control = "pg_ctlcluster"` + "\n    service = \"16/main\""}.src(),
			[]want{{E, "Invalid service", 14, `service "16/main" is a PostgreSQL 16 cluster, but postgres_version is 15.`}}},
		{"pg_ctlcluster service not VERSION/NAME", tpl{primary: `control = "pg_ctlcluster"` + "\n    service = \"main\""}.src(),
			[]want{{E, "Invalid service", 14, "VERSION/NAME"}}},
		{"service with pg_ctl", tpl{primary: `service = "postgresql@15-main"`}.src(),
			[]want{{W, "Unused service", 13, `with "pg_ctl" it is ignored`}}},
		{"empty os_user", tpl{defaults: `os_user = ""`}.src(), []want{{E, "Invalid os_user", 8, ""}}},
		{"ssh become", tpl{primary: `ssh { become = "doas" }`}.src(),
			[]want{{E, "Unsupported become", 13, `become must be "none" or "sudo"; it is "doas".`}}},
		{"ssh port", tpl{primary: `ssh { port = 0 }`}.src(), []want{{E, "Invalid port", 13, ""}}},
		{"ssh unknown argument", tpl{primary: `ssh { identiy_file = "k" }`}.src(),
			[]want{{E, "Unsupported argument", 13, `An argument named "identiy_file" is not expected in an ssh block. Did you mean "identity_file"? Valid arguments: become, identity_file, known_hosts_file, port, user.`}}},
		{"ssh with a label", tpl{primary: `ssh "x" {}`}.src(), []want{{E, "Extraneous label for ssh", 13, ""}}},
		{"sensitive host", tpl{standby: `source_address = env("HOST")`}.src(),
			[]want{{E, "Sensitive value not allowed", 18, "source_address cannot hold a value read through env() or file(): pgrepl treats such values as secrets, and this one would be shown in plans."}}},
		{"nonsensitive host", tpl{standby: `source_address = nonsensitive(env("HOST"))`}.src(), nil},
		{"invalid source_address", tpl{standby: `source_address = "10.0.0.0/99"`}.src(), []want{{E, "Invalid source_address", 18, ""}}},
		{"source_address CIDR", tpl{standby: `source_address = "10.1.0.0/16"`}.src(), nil},
		{"passfile", tpl{standby: `passfile = "/etc/pgrepl/pg2.pgpass"`}.src(), nil},
		{"relative passfile", tpl{standby: `passfile = "pg2.pgpass"`}.src(), []want{{E, "Relative passfile", 18, `"pg2.pgpass" is relative`}}},
		{"passfile on primary", tpl{primary: `passfile = "/x"`}.src(), []want{{E, "Unsupported argument", 13, `"passfile" is only valid in a standby block`}}},
		{"invalid slot", tpl{standby: `slot = "Pg-2"`}.src(), []want{{E, "Invalid slot name", 18, `"Pg-2" is not one`}}},
		{"slot without slots", tpl{repl: `slots = false`, standby: `slot = "s2"`}.src(), []want{{E, "Slot without slots", 18, ""}}},
		{"admin_dsn from env", tpl{primary: `admin_dsn = env("HOST")`}.src(), nil},
		{"admin_dsn literal without password", tpl{primary: `admin_dsn = "host=/run/pg user=postgres"`}.src(), nil},
		{"admin_dsn literal with password", tpl{primary: `admin_dsn = "host=/run/pg user=postgres password=x"`}.src(),
			[]want{{W, "Password written in the spec", 13, "This admin_dsn holds a password"}}},
		{"admin_dsn URL with password", tpl{primary: `admin_dsn = "postgres://postgres:x@localhost/postgres"`}.src(),
			[]want{{W, "Password written in the spec", 13, ""}}},

		// Collisions.
		{"same host and port", strings.Replace(tpl{}.src(), `"127.0.0.3"`, `"127.0.0.2"`, 1),
			[]want{{E, "Two nodes share a host and port", 16, `"pg2" and "pg1" (test.hcl:10) both listen on 127.0.0.2 port 5432`}}},
		{"same host, other port", strings.Replace(tpl{standby: "port = 5433"}.src(), `"127.0.0.3"`, `"127.0.0.2"`, 1), nil},
		{"same host and port from defaults", strings.Replace(strings.Replace(tpl{defaults: `host = "127.0.0.2"`}.src(), "    host     = \"127.0.0.3\"\n", "\n", 1), "    host     = \"127.0.0.2\"\n", "\n", 1),
			[]want{{E, "Two nodes share a host and port", 15, ""}}},
		{"same data_dir on this machine", strings.Replace(tpl{}.src(), `"/srv/pg2"`, `"/srv/pg1"`, 1),
			[]want{{E, "Two nodes share a data directory", 17, `"pg2" and "pg1" (test.hcl:10) both use /srv/pg1 on this machine (no ssh block)`}}},
		{"same data_dir on two SSH hosts", strings.Replace(tpl{defaults: `ssh {}`}.src(), `"/srv/pg2"`, `"/srv/pg1"`, 1), nil},
		{"same data_dir on one SSH host", strings.Replace(strings.Replace(tpl{defaults: `ssh {}`, standby: "port = 5433"}.src(), `"127.0.0.3"`, `"127.0.0.2"`, 1), `"/srv/pg2"`, `"/srv/pg1"`, 1),
			[]want{{E, "Two nodes share a data directory", 17, "both use /srv/pg1 on 127.0.0.2"}}},
		{"one SSH host, two data_dirs", strings.Replace(tpl{defaults: `ssh {}`, standby: "port = 5433"}.src(), `"127.0.0.3"`, `"127.0.0.2"`, 1), nil},
		{"same config_dir", tpl{primary: `config_dir = "/etc/pg"`, standby: `config_dir = "/etc/pg"`}.src(),
			[]want{{E, "Two nodes share a config directory", 18, ""}}},
		{"duplicate derived slot", strings.Replace(strings.Replace(tpl{}.src(), `standby "pg2"`, `standby "pg-2"`, 1), "}\n}\n", "}\n  standby \"pg_2\" {\n    host = \"127.0.0.4\"\n    data_dir = \"/srv/pg_2\"\n  }\n}\n", 1),
			[]want{{E, "Duplicate slot name", 20, `Standbys "pg-2" and "pg_2" both use replication slot "pg_2"`}}},

		// hba rules.
		{"hba rule", tpl{primary: `hba = ["hostssl all app 10.0.0.0/8 scram-sha-256 clientcert=verify-full"]`}.src(), nil},
		{"hba rule with netmask", tpl{primary: `hba = ["host all all 10.0.0.0 255.0.0.0 scram-sha-256"]`}.src(), nil},
		{"hba local rule", tpl{primary: `hba = ["local all postgres peer"]`}.src(), nil},
		{"hba bad type", tpl{primary: `hba = ["hots all all 10.0.0.0/8 md5"]`}.src(), []want{{E, "Invalid hba rule", 13, `"hots" is not a connection type`}}},
		{"hba bad method", tpl{primary: `hba = ["host all all 10.0.0.0/8 scram"]`}.src(), []want{{E, "Invalid hba rule", 13, `"scram" is not an authentication method`}}},
		{"hba bad address", tpl{primary: `hba = ["host all all 10.0.0.0/33 md5"]`}.src(), []want{{E, "Invalid hba rule", 13, `"10.0.0.0/33" is not a valid CIDR address.`}}},
		{"hba missing address", tpl{primary: `hba = ["host all all"]`}.src(), []want{{E, "Invalid hba rule", 13, "The rule ends before its address."}}},
		{"hba missing netmask", tpl{primary: `hba = ["host all all 10.0.0.1 md5"]`}.src(), []want{{E, "Invalid hba rule", 13, `"md5" is not a valid netmask.`}}},
		{"hba bad option", tpl{primary: `hba = ["host all all 10.0.0.0/8 cert verify"]`}.src(), []want{{E, "Invalid hba rule", 13, `The option "verify" is not name=value.`}}},
		{"hba comment", tpl{primary: `hba = ["host all all 10.0.0.0/8 md5 # x"]`}.src(), []want{{E, "Invalid hba rule", 13, "comment"}}},
		{"hba replication trust", tpl{primary: `hba = ["host replication all 10.0.0.0/8 trust"]`}.src(),
			[]want{{W, "Trust authentication for replication", 13, "from 10.0.0.0/8 stream the whole database"}}},
		{"hba replication from anywhere", tpl{primary: `hba = ["host replication all 0.0.0.0/0 scram-sha-256"]`}.src(),
			[]want{{W, "Replication open to any address", 13, ""}}},
		{"hba replication from anywhere, netmask", tpl{primary: `hba = ["host replication all 0.0.0.0 0.0.0.0 scram-sha-256"]`}.src(),
			[]want{{W, "Replication open to any address", 13, ""}}},
		{"hba replication md5", tpl{primary: `hba = ["host replication all 10.0.0.0/8 md5"]`}.src(), []want{{W, "md5 authentication", 13, ""}}},
		{"hba not a replication rule", tpl{primary: `hba = ["host all all 0.0.0.0/0 trust"]`}.src(), nil},
		{"hba several warnings", tpl{standby: `hba = ["host replication all all trust"]`}.src(),
			[]want{{W, "Trust authentication for replication", 18, ""}, {W, "Replication open to any address", 18, ""}}},
		{"hba not strings", tpl{primary: `hba = [{ type = "host" }]`}.src(), []want{{E, "Incorrect attribute value type", 13, "Each element of hba must be a string"}}},

		// Settings: names, types, units, ranges.
		{"known settings", tpl{defaults: `settings = { shared_buffers = "128MB", work_mem = 4096, jit = false, random_page_cost = 1.1, synchronous_commit = "remote_apply" }`}.src(), nil},
		{"unknown setting", tpl{primary: `settings = { max_wal_sender = 5 }`}.src(),
			[]want{{E, "Unknown setting", 13, `PostgreSQL 15 has no setting named "max_wal_sender". Did you mean "max_wal_senders"?`}}},
		{"unknown setting, no suggestion", tpl{primary: `settings = { frobnicate = 5 }`}.src(),
			[]want{{E, "Unknown setting", 13, `PostgreSQL 15 has no setting named "frobnicate". A custom (extension) setting needs a dotted name, such as pgaudit.log.`}}},
		{"setting of another version", tpl{version: "12", primary: `settings = { wal_keep_size = "1GB" }`}.src(),
			[]want{{E, "Unknown setting", 13, `PostgreSQL 12 has no setting named "wal_keep_size". It exists in PostgreSQL 13 to 17.`}}},
		{"custom setting, quoted", tpl{primary: `settings = { "pgaudit.log" = "all" }`}.src(), nil},
		{"custom setting, bare", tpl{primary: `settings = { pgaudit.log = "all" }`}.src(), nil},
		{"setting name case", tpl{primary: `settings = { Max_Connections = 200 }`}.src(), nil},
		{"duplicate setting", tpl{primary: `settings = { max_connections = 200, MAX_CONNECTIONS = 300 }`}.src(),
			[]want{{E, "Duplicate setting", 13, "max_connections is already set at test.hcl:13"}}},
		{"invalid integer", tpl{primary: `settings = { max_wal_senders = "lots" }`}.src(),
			[]want{{E, "Invalid value for setting", 13, `Invalid value for parameter "max_wal_senders": "lots". max_wal_senders takes an integer from 0 to 262143.`}}},
		{"invalid unit", tpl{primary: `settings = { shared_buffers = "128MiB" }`}.src(),
			[]want{{E, "Invalid value for setting", 13, `Invalid value for parameter "shared_buffers": "128MiB". Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".`}}},
		{"out of range", tpl{primary: `settings = { max_connections = 0 }`}.src(),
			[]want{{E, "Invalid value for setting", 13, `0 is outside the valid range for parameter "max_connections" (1 .. 262143).`}}},
		{"invalid bool", tpl{primary: `settings = { jit = "maybe" }`}.src(),
			[]want{{E, "Invalid value for setting", 13, `Parameter "jit" requires a Boolean value. jit takes true or false (on or off).`}}},
		{"invalid enum", tpl{primary: `settings = { synchronous_commit = "sometimes" }`}.src(),
			[]want{{E, "Invalid value for setting", 13, `Available values: local, remote_write, remote_apply, on, off.`}}},
		{"list for an integer", tpl{primary: `settings = { max_connections = [1, 2] }`}.src(),
			[]want{{E, "Invalid value for setting", 13, "max_connections takes one integer value, not a list."}}},
		{"object value", tpl{primary: `settings = { work_mem = { a = 1 } }`}.src(),
			[]want{{E, "Invalid value for setting", 13, "work_mem must be a string, a number, a bool or a list of strings; it is an object."}}},
		{"sensitive setting", tpl{primary: `settings = { ssl_key_file = env("HOST") }`}.src(),
			[]want{{E, "Sensitive value not allowed", 13, "Setting ssl_key_file cannot hold a value read through env() or file()"}}},
		{"settings not an object", tpl{primary: `settings = "x"`}.src(), []want{{E, "Incorrect attribute value type", 13, "an object required"}}},
		{"read-only setting", tpl{primary: `settings = { block_size = 8192 }`}.src(),
			[]want{{E, "Read-only setting", 13, "block_size is fixed when PostgreSQL is built"}}},
		{"primary_conninfo", tpl{standby: `settings = { primary_conninfo = "host=x" }`}.src(),
			[]want{{E, "Setting derived by pgrepl", 18, "primary_conninfo cannot be set in the spec: pgrepl derives it"}}},
		{"primary_slot_name", tpl{standby: `settings = { primary_slot_name = "x" }`}.src(),
			[]want{{E, "Setting derived by pgrepl", 18, `set slot = "…" on the standby`}}},
		{"synchronous_standby_names", tpl{defaults: `settings = { synchronous_standby_names = "*" }`}.src(),
			[]want{{E, "Setting derived by pgrepl", 8, "replication.synchronous"}}},

		// Settings pgrepl derives: raised, never broken.
		{"wal_level minimal", tpl{defaults: `settings = { wal_level = "minimal" }`}.src(),
			[]want{{E, "wal_level too low for replication", 8, "wal_level = minimal cannot stream WAL to standbys; pgrepl needs replica or logical."}}},
		{"wal_level logical", tpl{primary: `settings = { wal_level = "logical" }`}.src(), nil},
		{"wal_level archive (an alias of replica)", tpl{primary: `settings = { wal_level = "archive" }`}.src(), nil},
		{"max_wal_senders too low", tpl{primary: `settings = { max_wal_senders = 2 }`}.src(),
			[]want{{E, "max_wal_senders too low", 13, "max_wal_senders = 2 leaves too few WAL senders for this cluster's 1 standby: pgrepl needs at least 3"}}},
		{"max_wal_senders enough", tpl{primary: `settings = { max_wal_senders = 3 }`}.src(), nil},
		{"max_wal_senders too low on a standby", tpl{standby: `settings = { max_wal_senders = 0 }`}.src(),
			[]want{{E, "max_wal_senders too low", 18, ""}}},
		{"max_replication_slots too low", tpl{primary: `settings = { max_replication_slots = 0 }`}.src(),
			[]want{{E, "max_replication_slots too low", 13, "max_replication_slots = 0 cannot hold a slot for each of this cluster's 1 standby: pgrepl needs at least 1."}}},
		{"max_replication_slots without slots", tpl{repl: "slots = false", primary: `settings = { max_replication_slots = 0 }`}.src(), nil},
		{"hot_standby off", tpl{standby: `settings = { hot_standby = false }`}.src(),
			[]want{{E, "hot_standby must stay on", 18, "hot_standby = off makes a standby refuse every connection"}}},
		{"hot_standby off in defaults", tpl{defaults: `settings = { hot_standby = "off" }`}.src(), []want{{E, "hot_standby must stay on", 8, ""}}},
		{"listen_addresses excludes the primary", tpl{primary: `settings = { listen_addresses = "localhost" }`}.src(),
			[]want{{E, "listen_addresses excludes the primary's host", 13, `listen_addresses = "localhost" does not include 127.0.0.2, the primary's host, so standbys could not connect.`}}},
		{"listen_addresses empty", tpl{primary: `settings = { listen_addresses = "" }`}.src(), []want{{E, "listen_addresses excludes the primary's host", 13, ""}}},
		{"listen_addresses star", tpl{primary: `settings = { listen_addresses = "*" }`}.src(), nil},
		{"listen_addresses any IPv4", tpl{primary: `settings = { listen_addresses = "0.0.0.0" }`}.src(), nil},
		{"listen_addresses list", tpl{primary: `settings = { listen_addresses = "localhost, 127.0.0.2" }`}.src(), nil},
		{"listen_addresses host name", tpl{primary: `settings = { listen_addresses = "db1.example.com" }`}.src(), nil},
		{"listen_addresses on a standby", tpl{standby: `settings = { listen_addresses = "localhost" }`}.src(), nil},
		{"port setting disagrees", tpl{primary: `settings = { port = 5433 }`}.src(),
			[]want{{E, "port setting disagrees with the node's port", 13, `The port setting is 5433 but "pg1"'s port is 5432`}}},
		{"port setting agrees", tpl{primary: `port = 5433` + "\n    settings = { port = 5433 }"}.src(), nil},
		{"data_directory disagrees", tpl{primary: `settings = { data_directory = "/srv/other" }`}.src(),
			[]want{{E, "data_directory disagrees with data_dir", 13, ""}}},
		{"hba_file disagrees", tpl{primary: `settings = { hba_file = "/etc/pg_hba.conf" }`}.src(),
			[]want{{E, "hba_file disagrees with config_dir", 13, "pgrepl manages /srv/pg1/pg_hba.conf"}}},
		{"standby below the primary", tpl{primary: `settings = { max_connections = 200 }`, standby: `settings = { max_connections = 100 }`}.src(),
			[]want{{E, "Standby setting below the primary's", 18, `max_connections = 100 on standby "pg2" is below the primary's 200`}}},
		{"standby above the primary", tpl{primary: `settings = { max_connections = 100 }`, standby: `settings = { max_connections = 200 }`}.src(), nil},
		{"defaults apply to every node", tpl{defaults: `settings = { max_wal_senders = 1 }`}.src(),
			[]want{{E, "max_wal_senders too low", 8, ""}}},
		{"settings skipped for an unsupported version", tpl{version: "11", primary: `settings = { frobnicate = 1 }`}.src(),
			[]want{{E, "Unsupported PostgreSQL version", 2, ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, diags := loadString(t, tc.src)
			checkDiags(t, diags, tc.want)
			if diags.HasErrors() != (s.Clusters == nil) {
				t.Errorf("errors %v but %d clusters", diags.HasErrors(), len(s.Clusters))
			}
		})
	}
}

// TestLoadFiles covers reading specs from the file system: a file, a
// directory of *.hcl files forming one spec, and paths that do not exist.
func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := writeFile(filepath.Join(dir, name), src); err != nil {
			t.Fatal(err)
		}
	}
	write("b.hcl", strings.Replace(tpl{}.src(), `cluster "c"`, `cluster "b"`, 1))
	write("a.hcl", strings.ReplaceAll(strings.Replace(tpl{}.src(), `cluster "c"`, `cluster "a"`, 1), "/srv/", "/srv/a-"))
	write(".hidden.hcl", "not hcl at all {")
	write("notes.txt", "ignored")
	opts := testOptions()
	opts.Dir = dir

	s, diags := Load(".", opts)
	checkDiags(t, diags, []want{{E, "Two nodes share a host and port", 11, `"pg1" of cluster "b" and "pg1" of cluster "a" (a.hcl:10) both listen on 127.0.0.2 port 5432`},
		{E, "Two nodes share a host and port", 16, ""}})
	if got := strings.Join(s.Files, " "); got != "a.hcl b.hcl" {
		t.Errorf("files %q, want a.hcl b.hcl", got)
	}

	write("b.hcl", strings.ReplaceAll(strings.ReplaceAll(strings.Replace(tpl{}.src(), `cluster "c"`, `cluster "b"`, 1), "127.0.0.", "127.0.1."), "/srv/", "/srv/b-"))
	s, diags = Load(".", opts)
	checkDiags(t, diags, nil)
	if len(s.Clusters) != 2 || s.Clusters[0].Name != "a" || s.Clusters[1].Name != "b" {
		t.Fatalf("clusters %+v", s.Clusters)
	}
	if s.Dir != dir {
		t.Errorf("Dir %q, want %q", s.Dir, dir)
	}
	s2, _ := Load("b.hcl", opts)
	if s2.Hash == s.Hash || len(s2.Files) != 1 || s2.Files[0] != "b.hcl" {
		t.Errorf("one file: files %v hash %s (dir hash %s)", s2.Files, s2.Hash, s.Hash)
	}
	s3, _ := LoadSource(s.Sources, opts)
	if s3.Hash != s.Hash {
		t.Errorf("LoadSource hash %s, want %s", s3.Hash, s.Hash)
	}

	write("a.hcl", strings.Replace(tpl{}.src(), `cluster "c"`, `cluster "b"`, 1))
	write("b.hcl", strings.ReplaceAll(strings.ReplaceAll(strings.Replace(tpl{}.src(), `cluster "c"`, `cluster "b"`, 1), "127.0.0.", "127.0.1."), "/srv/", "/srv/b-"))
	_, diags = Load(".", opts)
	checkDiags(t, diags, []want{{E, "Duplicate cluster name", 1, `A cluster named "b" is already defined at a.hcl:1`}})

	for _, p := range []string{"missing.hcl", "missing-dir/"} {
		s, diags := Load(p, opts)
		if s != nil || len(diags) != 1 || diags[0].Summary != "Cannot read spec" || !strings.Contains(diags[0].Detail, "missing") {
			t.Errorf("Load(%q) = %v, %v", p, s, diags)
		}
	}
	empty := t.TempDir()
	if _, diags := Load(empty, Options{}); len(diags) != 1 || !strings.Contains(diags[0].Detail, "No *.hcl files in directory") {
		t.Errorf("empty directory: %v", diags)
	}
	if _, diags := LoadSource(nil, opts); len(diags) != 1 || diags[0].Summary != "Empty spec" {
		t.Errorf("no sources: %v", diags)
	}
	x := Source{Name: "x.hcl", Bytes: []byte("bogus = 1\n")}
	if _, diags := LoadSource([]Source{x, x}, opts); len(diags) != 1 || diags[0].Summary != "Duplicate spec file" {
		t.Errorf("a source twice: %v", diags)
	}
	// Diagnostics follow the order of the sources, then positions.
	_, diags = LoadSource([]Source{{Name: "z.hcl", Bytes: []byte("\nbogus = 1\n")}, x}, opts)
	if len(diags) != 2 || diags[0].Subject.Filename != "z.hcl" || diags[1].Subject.Filename != "x.hcl" {
		t.Errorf("order: %v", diags)
	}
}

func TestFilesError(t *testing.T) {
	_, err := Files(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "no spec file or directory") {
		t.Errorf("Files: %v", err)
	}
}

func writeFile(name, src string) error { return os.WriteFile(name, []byte(src), 0o644) }
