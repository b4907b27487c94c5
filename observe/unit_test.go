package observe

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/ssh"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/scram"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

func TestRedact(t *testing.T) {
	sp, _ := writeSpec(t, specText(node{kind: "primary", name: "pg1", host: "127.0.0.2", port: 5432, dataDir: "/srv/pg1", socket: "/tmp"}))
	c := sp.Clusters[0]
	sn := &state.Node{
		Files: []*state.File{
			{Path: "/a", Content: state.Content("primary_conninfo = 'host=x password=''other pw'' user=r'\n# " + testPassword + "\n")},
			{Path: "/b", Content: state.Content("port = 5432\n")},
		},
		Server: state.Server{Settings: []state.Setting{
			{Name: "primary_conninfo", Setting: "host=x password=from-server user=r"},
			{Name: "cluster_name", Setting: "from-server and other pw"},
		}},
	}
	sn.Files[0].SHA256 = state.Hash(sn.Files[0].Content)
	sum := sn.Files[0].SHA256
	cfgText := "primary_conninfo = 'host=x password=''other pw'' user=r'\n"
	cfg := loadConfText(t, cfgText)
	redactNode(sn, c, cfg)
	got := string(sn.Files[0].Content)
	for _, secret := range []string{"other pw", testPassword, "from-server"} {
		if strings.Contains(got, secret) {
			t.Errorf("file still holds %q:\n%s", secret, got)
		}
	}
	if !sn.Files[0].Redacted || sn.Files[0].SHA256 != sum || sn.Files[1].Redacted {
		t.Errorf("redacted flags %v %v, sha kept %v", sn.Files[0].Redacted, sn.Files[1].Redacted, sn.Files[0].SHA256 == sum)
	}
	if s := sn.Server.Settings[0].Setting; s != "host=x password="+spec.Redacted+" user=r" {
		t.Errorf("primary_conninfo setting: %q", s)
	}
	if s := sn.Server.Settings[1].Setting; strings.Contains(s, "other pw") || strings.Contains(s, "from-server") {
		t.Errorf("cluster_name setting: %q", s)
	}
}

func TestPasswordState(t *testing.T) {
	v, err := scram.New("right", 4096, nil)
	if err != nil {
		t.Fatal(err)
	}
	right := spec.NewSecret("right", spec.LiteralRef)
	wrong := spec.NewSecret("wrong", spec.LiteralRef)
	for _, tc := range []struct {
		stored string
		want   spec.Secret
		state  state.PasswordState
	}{
		{"", right, state.PasswordNone},
		{"", spec.Secret{}, state.PasswordNone},
		{v.String(), right, state.PasswordMatches},
		{v.String(), wrong, state.PasswordDiffers},
		{v.String(), spec.Secret{}, state.PasswordUnknown},
		{"md5" + strings.Repeat("0", 32), right, state.PasswordMD5},
		{"SCRAM-SHA-256$garbage", right, state.PasswordDiffers},
	} {
		if got := passwordState(tc.stored, tc.want); got != tc.state {
			t.Errorf("passwordState(%.20q, %v set=%v) = %s, want %s", tc.stored, tc.want, tc.want.IsSet(), got, tc.state)
		}
	}
}

func TestParseProbe(t *testing.T) {
	k := "0123abcd"
	out := "\n--" + k + " machine-id\nabc\n\n--" + k + " rc 0\n" +
		"\n--" + k + " cat\nbinary\x00\n--other x\n\n--" + k + " rc 0\n" +
		"\n--" + k + " version 0\nsh: 1: /x/postgres: not found\n--" + k + " rc 127\n"
	r, err := parseProbe([]byte(out), k)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.text("machine-id"); got != "abc" {
		t.Errorf("machine-id %q", got)
	}
	if got := string(r["cat"].out); got != "binary\x00\n--other x\n" {
		t.Errorf("cat: %q", got)
	}
	if got := r.failure("version 0"); got != "sh: 1: /x/postgres: not found" {
		t.Errorf("version 0 failure %q", got)
	}
	for _, bad := range []string{"", "garbage", "\n--" + k + " a\nx", "\n--" + k + " a\nx\n--" + k + " rc x\n"} {
		if _, err := parseProbe([]byte(bad), k); err == nil {
			t.Errorf("parseProbe(%q): no error", bad)
		}
	}
}

func TestParseControlData(t *testing.T) {
	out := `pg_control version number:            1300
Catalog version number:               202209061
Database system identifier:           7312345678901234567
Database cluster state:               shut down in recovery
pg_control last modified:             Tue 01 Jan 2026 00:00:00 UTC
Latest checkpoint's TimeLineID:       3
Latest checkpoint's PrevTimeLineID:   2
`
	var d state.DataDir
	parseControlData(&d, out)
	if d.SystemIdentifier != "7312345678901234567" || d.Timeline != 3 || d.ClusterState != "shut down in recovery" {
		t.Errorf("parsed %+v", d)
	}
}

func TestUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "x"}}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("connect: %w", refused), true},
		{fmt.Errorf("connect: %w", syscall.ECONNREFUSED), true},
		{fmt.Errorf("connect: %w", syscall.EHOSTUNREACH), true},
		{fmt.Errorf("connect: %w", context.DeadlineExceeded), true},
		{&net.DNSError{Err: "no such host", Name: "db1"}, true},
		{fmt.Errorf("connect: %w", &host.HostKeyError{}), false},
		{errors.New("ssh: unable to authenticate"), false},
		{fmt.Errorf("x: %w", context.Canceled), false},
	} {
		if got := Unreachable(tc.err); got != tc.want {
			t.Errorf("Unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestServerDown(t *testing.T) {
	dial := func(err error) error {
		return &host.OpError{Op: "dial", Path: "unix /x/.s.PGSQL.5432", Host: "local", Err: err}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true},
		{&pgconn.PgError{Code: "28P01", Message: "password authentication failed"}, false},
		{&pgconn.PgError{Code: "28000", Message: "no pg_hba.conf entry"}, false},
		{&pgconn.PgError{Code: "53300", Message: "too many clients"}, false},
		{dial(syscall.ENOENT), true},
		{dial(syscall.ECONNREFUSED), true},
		{dial(syscall.EACCES), false},
		{dial(&ssh.OpenChannelError{Reason: ssh.ConnectionFailed}), true},
		{dial(&ssh.OpenChannelError{Reason: ssh.Prohibited}), false},
		{dial(fmt.Errorf("%w: EOF", host.ErrConnLost)), false},
		{fmt.Errorf("timeout: %w", context.DeadlineExceeded), true},
		{errors.New("tls: handshake failure"), false},
	} {
		if got := serverDown(tc.err); got != tc.want {
			t.Errorf("serverDown(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// mapReader serves files from memory.
type mapReader map[string]string

func (m mapReader) ReadFile(p string) ([]byte, error) {
	if s, ok := m[p]; ok {
		return []byte(s), nil
	}
	return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

func (m mapReader) ReadDir(p string) ([]string, error) {
	return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

func loadConfText(t *testing.T, text string) *confparse.Config {
	t.Helper()
	cfg, err := confparse.Load(mapReader{"/etc/pg/postgresql.conf": text}, "/etc/pg/postgresql.conf", "/srv/pg1")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
