package observe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// nodeObserver observes one node.
type nodeObserver struct {
	ctx context.Context
	tr  host.Transport
	c   *spec.Cluster
	n   *spec.Node
	sn  *state.Node
}

// run fills sn. The host and the server are asked at the same time; the
// config files the probe reads are the ones the spec's directories imply,
// and any other (the server's own config_file or hba_file, an include) is
// read after through the transport.
func (o *nodeObserver) run() error {
	n := o.n
	guessConf := path.Join(n.ConfigDir, "postgresql.conf")
	guessHBA := path.Join(n.ConfigDir, "pg_hba.conf")
	guessAuto := path.Join(n.DataDir, confparse.AutoConfName)
	files := []string{guessConf, guessAuto, guessHBA}
	passfile := ""
	if n.Role == spec.Standby && n.Passfile != "" {
		passfile = n.Passfile
	}

	var srv *serverResult
	var srvErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv, srvErr = observeServer(o.ctx, o.tr, o.c, n)
	}()
	probe, probeErr := runProbe(o.ctx, o.tr, n.OSUser, n.DataDir, n.BinDir, passfile, files)
	<-done
	if probeErr != nil {
		return stepErr("examine the host as "+n.OSUser, probeErr)
	}
	if srvErr != nil {
		return srvErr
	}
	o.sn.Server = srv.server

	if err := o.hostFacts(probe); err != nil {
		return err
	}

	// The files, as the probe read them.
	rd := newRecorder(o.ctx, o.tr)
	all := files
	if passfile != "" {
		all = append([]string{passfile}, files...)
	}
	for i, p := range all {
		rd.known[p] = probeFile(probe, i, p)
	}

	dataDir := n.DataDir
	configFile, hbaFile := guessConf, guessHBA
	if srv.server.Up {
		if err := o.checkDataDirectory(srv.dataDirectory); err != nil {
			return err
		}
		dataDir = srv.dataDirectory
		configFile, hbaFile = srv.configFile, srv.hbaFile
	}

	cfg, err := o.loadConfig(rd, configFile, dataDir)
	if err != nil {
		return err
	}
	if !srv.server.Up && cfg != nil {
		// hba_file set in postgresql.conf (Debian's layout) is where the
		// server will read its rules. A relative one is relative to the
		// directory the server was started from, which no file records.
		if e, ok := cfg.Lookup("hba_file"); ok && path.IsAbs(e.Setting) {
			hbaFile = path.Clean(e.Setting)
		}
	}
	o.sn.ConfigFile, o.sn.HBAFile = configFile, hbaFile
	if err := o.loadHBA(rd, hbaFile, cfg, srv); err != nil {
		return err
	}
	o.sn.Files = rd.files()

	if passfile != "" {
		o.sn.Passfile = o.passfileFacts(rd.known[passfile])
	}
	redact(o.sn, o.c, cfg)
	return nil
}

var binVersionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// hostFacts records the machine, the binaries and the data directory.
func (o *nodeObserver) hostFacts(p probeResult) error {
	sn, d := o.sn, &o.sn.DataDir
	if id, ok := p.text("machine-id"); ok {
		sn.MachineID = id
	}
	if v, ok := p.text("version"); ok {
		if m := binVersionRE.FindStringSubmatch(v); m != nil {
			sn.BinVersion, _ = strconv.Atoi(m[1])
		}
	}
	if msg := p.failure("datadir"); msg != "" {
		err := statError(msg)
		if !errors.Is(err, fs.ErrNotExist) {
			return stepErr("examine data directory "+d.Path+" as "+o.n.OSUser, err)
		}
	} else if out, ok := p["datadir"]; ok {
		si, err := parseStatInfo(out.out)
		if err != nil {
			return stepErr("examine data directory "+d.Path, err)
		}
		if !si.isDir() {
			return stepErr("examine data directory "+d.Path, fmt.Errorf("it is a %s, not a directory", si.kind))
		}
		d.Exists, d.Owner, d.Mode = true, si.owner, si.mode()
	}
	if d.Exists {
		if msg := p.failure("list"); msg != "" {
			return stepErr("list data directory "+d.Path+" as "+o.n.OSUser, statError(msg))
		}
		names := map[string]bool{}
		for _, name := range bytes.Split(p["list"].out, []byte{0}) {
			if len(name) > 0 {
				names[string(name)] = true
			}
		}
		d.Empty = len(names) == 0
		d.StandbySignal = names["standby.signal"]
		d.RecoverySignal = names["recovery.signal"]
		d.PostmasterPID = names["postmaster.pid"]
		if msg := p.failure("pg_version"); msg != "" {
			return stepErr("read "+path.Join(d.Path, "PG_VERSION"), statError(msg))
		}
		d.PGVersion, _ = p.text("pg_version")
		if _, ran := p["controldata"]; ran {
			if msg := p.failure("controldata"); msg != "" {
				d.ControlDataError = msg
			} else {
				parseControlData(d, string(p["controldata"].out))
			}
		}
	}
	free, ok := p.text("df")
	if !ok {
		return stepErr("measure free space near "+d.Path, errors.New(p.failure("df")))
	}
	var avail, bsize uint64
	if _, err := fmt.Sscanf(free, "%d %d", &avail, &bsize); err != nil {
		return stepErr("measure free space near "+d.Path, fmt.Errorf("unexpected output of stat -f: %q", free))
	}
	d.FreeBytes = avail * bsize
	return nil
}

// parseControlData takes what the planner needs from pg_controldata's
// output (run with LC_ALL=C, so the labels are English).
func parseControlData(d *state.DataDir, out string) {
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Database system identifier":
			d.SystemIdentifier = v
		case "Latest checkpoint's TimeLineID":
			d.Timeline, _ = strconv.Atoi(v)
		case "Database cluster state":
			d.ClusterState = v
		}
	}
}

// checkDataDirectory makes sure the server answering on the node's port is
// the node's: another cluster's server there would have every later step
// act on the wrong data.
func (o *nodeObserver) checkDataDirectory(serverDir string) error {
	want := path.Clean(o.n.DataDir)
	if serverDir == "" || path.Clean(serverDir) == want {
		return nil
	}
	// The same directory by another name (a symbolic link)?
	res, err := o.tr.Run(o.ctx, host.Cmd{Argv: []string{"readlink", "-f", "--", want, serverDir}, As: o.n.OSUser})
	if err == nil && res.ExitCode == 0 {
		if l := strings.Split(strings.TrimRight(string(res.Stdout), "\n"), "\n"); len(l) == 2 && l[0] == l[1] {
			return nil
		}
	}
	return stepErr("check the server's data directory", fmt.Errorf(
		"the server answering at the node's admin_dsn runs on data directory %s, but the spec's data_dir is %s: it is another server (check port and admin_dsn)",
		serverDir, want))
}

// loadConfig reads postgresql.conf, what it includes and
// postgresql.auto.conf as the server would. A missing postgresql.conf is a
// fact (a node not yet built); one PostgreSQL would refuse is an error: no
// safe edit can be planned on a file the server cannot read.
func (o *nodeObserver) loadConfig(rd *recorder, configFile, dataDir string) (*confparse.Config, error) {
	rd.configFile, rd.autoFile, rd.role = configFile, path.Join(dataDir, confparse.AutoConfName), state.RoleConfig
	cfg, err := confparse.Load(rd, configFile, dataDir)
	if rd.ioErr != nil {
		return nil, stepErr("read the configuration", rd.ioErr)
	}
	if err != nil {
		if f := rd.known[configFile]; f != nil && errors.Is(f.statErr, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, stepErr("read the configuration", err)
	}
	return cfg, nil
}

// loadHBA reads pg_hba.conf (and, from PostgreSQL 16, what it includes),
// refusing one PostgreSQL would refuse. Without a version to parse it as
// (no server, no PG_VERSION, no binaries), the file is recorded unparsed.
func (o *nodeObserver) loadHBA(rd *recorder, hbaFile string, cfg *confparse.Config, srv *serverResult) error {
	rd.role = state.RoleHBA
	src, err := rd.ReadFile(hbaFile)
	if rd.ioErr != nil {
		return stepErr("read "+hbaFile, rd.ioErr)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return stepErr("read "+hbaFile, err)
	}
	version := o.version(srv)
	if version < 12 || version > 17 {
		return nil
	}
	ssl := false
	if srv.server.Up {
		if s := srv.server.Setting("ssl"); s != nil {
			ssl = s.Setting == "on"
		}
	} else if cfg != nil {
		if e, ok := cfg.Lookup("ssl"); ok {
			ssl, _ = confparse.ParseBool(e.Setting)
		}
	}
	_, err = confparse.ParseHBA(hbaFile, src, confparse.HBAOptions{Version: version, Reader: rd, SSL: ssl})
	if rd.ioErr != nil {
		return stepErr("read "+hbaFile, rd.ioErr)
	}
	if err != nil {
		return stepErr("read "+hbaFile, err)
	}
	return nil
}

// version is the major version the node's files are for: the running
// server's, else the data directory's, else the binaries', else the spec's.
func (o *nodeObserver) version(srv *serverResult) int {
	if srv.server.Up && srv.server.VersionNum > 0 {
		return srv.server.VersionNum / 10000
	}
	if v, err := strconv.Atoi(o.sn.DataDir.PGVersion); err == nil {
		return v
	}
	if o.sn.BinVersion > 0 {
		return o.sn.BinVersion
	}
	return o.c.PostgresVersion
}

// passfileFacts describes the standby's passfile and whether libpq would
// take the spec's password from it for the replication connection to the
// primary. Its content goes no further.
func (o *nodeObserver) passfileFacts(f *fileFact) *state.Passfile {
	pf := &state.Passfile{Path: f.path}
	if f.statErr != nil {
		return pf
	}
	pf.Exists, pf.Owner, pf.Mode = true, f.info.owner, f.info.mode()
	p := o.c.Primary
	pw := o.c.Replication.Password
	if f.readErr == nil && f.data != nil && p != nil && pw.IsSet() {
		pf.Matches = passfileMatches(f.data, p.Host, strconv.Itoa(p.Port), "replication", o.c.Replication.User, pw.Reveal())
	}
	return pf
}
