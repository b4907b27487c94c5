package observe

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/libpq"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// member is one node to observe and, after, what was seen.
type member struct {
	c   *spec.Cluster
	n   *spec.Node
	sn  *state.Node
	err error
}

// byHost groups members reached the same way, in order of first
// appearance: their host is examined in one command.
func byHost(members []*member) [][]*member {
	var groups [][]*member
	index := map[string]int{}
	for _, m := range members {
		k := hostKey(m.n)
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], m)
	}
	return groups
}

// hostKey identifies how a node is reached: nodes with the same key share
// a transport, and so one probe.
func hostKey(n *spec.Node) string {
	if n.SSH == nil {
		return "local\x00" + n.OSUser
	}
	s := n.SSH
	return strings.Join([]string{"ssh", n.Host, strconv.Itoa(s.Port), s.User, s.IdentityFile, s.KnownHostsFile, s.Become, n.OSUser}, "\x00")
}

func newNode(n *spec.Node) *state.Node {
	return &state.Node{
		Name:      n.Name,
		Host:      n.Host,
		Reachable: true,
		DataDir:   state.DataDir{Path: n.DataDir},
		Files:     []*state.File{},
	}
}

// observeHost observes the members that share a transport: the host in one
// probe while each node's server is asked, then each node's files.
func observeHost(ctx context.Context, pool *host.Pool, ms []*member, opts Options) {
	ctx, cancel := context.WithTimeout(ctx, opts.timeout())
	defer cancel()
	for _, m := range ms {
		m.sn = newNode(m.n)
	}
	first := ms[0].n
	tr, err := Transport(ctx, pool, first)
	if err != nil {
		for _, m := range ms {
			if Unreachable(err) {
				m.sn.Reachable, m.sn.Error = false, err.Error()
			} else {
				m.err = &Error{Cluster: m.c.Name, Node: m.n.Name, Host: m.n.Host, Step: "connect to the host", Err: err}
			}
		}
		return
	}

	// Each node's server is asked at once, while the host is examined in
	// one probe; a node is finished as soon as both have answered for it.
	obs := make([]*nodeObserver, len(ms))
	targets := make([]probeTarget, len(ms))
	asked := make([]chan struct{}, len(ms))
	for i, m := range ms {
		o := &nodeObserver{ctx: ctx, tr: tr, c: m.c, n: m.n, sn: m.sn}
		obs[i], targets[i] = o, o.target()
		asked[i] = make(chan struct{})
		go func() {
			defer close(asked[i])
			o.srv, o.srvErr = observeServer(ctx, tr, m.c, m.n)
		}()
	}
	facts, probeErr := runProbe(ctx, tr, first.OSUser, targets)
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-asked[i]
			m.err = obs[i].complete(facts, probeErr)
		}()
	}
	wg.Wait()
}

// complete finishes the node from its host's facts (or their failure) and
// its server's answer, and returns its error.
func (o *nodeObserver) complete(facts *hostFacts, probeErr error) error {
	err := probeErr
	if err != nil {
		if o.srv != nil {
			o.sn.Server = o.srv.server // for display
		}
		err = stepErr("examine the host as "+o.n.OSUser, err)
	} else {
		err = o.finish(facts)
	}
	if err == nil {
		return nil
	}
	step, cause := "observe", err
	var se *stepError
	if errors.As(err, &se) {
		step, cause = se.step, se.err
	}
	return &Error{Cluster: o.c.Name, Node: o.n.Name, Host: o.tr.Name(), Step: step, Err: cause}
}

// nodeObserver observes one node.
type nodeObserver struct {
	ctx context.Context
	tr  host.Transport
	c   *spec.Cluster
	n   *spec.Node
	sn  *state.Node

	srv    *serverResult
	srvErr error
}

// The config files the spec's directories imply; the server's own
// config_file and hba_file, when they differ, and includes are read after.
func (o *nodeObserver) guessConf() string { return path.Join(o.n.ConfigDir, "postgresql.conf") }
func (o *nodeObserver) guessHBA() string  { return path.Join(o.n.ConfigDir, "pg_hba.conf") }

// passfile is the standby's passfile, "" for none.
func (o *nodeObserver) passfile() string {
	if o.n.Role == spec.Standby {
		return o.n.Passfile
	}
	return ""
}

// target is the node's part of its host's probe.
func (o *nodeObserver) target() probeTarget {
	t := probeTarget{
		dataDir: path.Clean(o.n.DataDir),
		binDir:  path.Clean(o.n.BinDir),
		files:   []string{o.guessConf(), path.Join(o.n.DataDir, confparse.AutoConfName), o.guessHBA()},
	}
	if p := o.passfile(); p != "" {
		t.files = append(t.files, p)
	}
	return t
}

// finish fills sn from the host's facts and the server's answer.
func (o *nodeObserver) finish(facts *hostFacts) error {
	n := o.n
	// The data directory first: with a server error it still shows.
	dirErr := o.hostFacts(facts)
	if o.srvErr != nil {
		return o.srvErr
	}
	srv := o.srv
	o.sn.Server = srv.server
	if dirErr != nil {
		return dirErr
	}

	rd := newRecorder(o.ctx, o.tr, facts.files)
	dataDir := path.Clean(n.DataDir)
	configFile, hbaFile := o.guessConf(), o.guessHBA()
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

	if p := o.passfile(); p != "" {
		o.sn.Passfile = o.passfileFacts(rd.fact(p))
		if rd.ioErr != nil {
			return stepErr("read "+p, rd.ioErr)
		}
	}
	redactNode(o.sn, o.c, cfg)
	return nil
}

var binVersionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// hostFacts records the machine, the binaries and the data directory.
func (o *nodeObserver) hostFacts(h *hostFacts) error {
	sn, d := o.sn, &o.sn.DataDir
	sn.MachineID = h.machineID
	if m := binVersionRE.FindStringSubmatch(h.binVersion[path.Clean(o.n.BinDir)]); m != nil {
		sn.BinVersion, _ = strconv.Atoi(m[1])
	}
	dir := path.Clean(d.Path)
	f := h.files[dir]
	switch {
	case f == nil || (f.statErr == nil && f.info.kind == ""):
		return stepErr("examine data directory "+d.Path, errors.New("it changed while it was examined; try again"))
	case errors.Is(f.statErr, fs.ErrNotExist):
		// Not there: a node to build.
	case f.statErr != nil:
		return stepErr("examine data directory "+d.Path+" as "+o.n.OSUser, f.statErr)
	case !f.info.isDir():
		return stepErr("examine data directory "+d.Path, fmt.Errorf("it is a %s, not a directory", f.info.kind))
	case f.unlistable:
		return stepErr("list data directory "+d.Path+" as "+o.n.OSUser, fs.ErrPermission)
	default:
		d.Exists, d.Owner, d.Mode = true, f.info.owner, f.info.mode()
		names, listed := h.listing[dir]
		if !listed {
			return stepErr("list data directory "+d.Path, errors.New("it changed while it was examined; try again"))
		}
		d.Empty = len(names) == 0
		for _, name := range names {
			switch name {
			case "standby.signal":
				d.StandbySignal = true
			case "recovery.signal":
				d.RecoverySignal = true
			case "postmaster.pid":
				d.PostmasterPID = true
			}
		}
		if msg, failed := h.pgVersionErr[dir]; failed {
			return stepErr("read "+path.Join(d.Path, "PG_VERSION"), errors.New(msg))
		}
		d.PGVersion = h.pgVersion[dir]
		if msg, failed := h.controlErr[dir]; failed {
			d.ControlDataError = msg
		} else if out, ok := h.controlData[dir]; ok {
			parseControlData(d, out)
		}
	}
	if h.freeErr != nil {
		return stepErr("measure free space near "+d.Path, h.freeErr)
	}
	d.FreeBytes = h.free[dir]
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
	res, err := o.tr.Run(o.ctx, host.Cmd{Argv: []string{"readlink", "-f", "--", want, serverDir}, As: o.n.OSUser, Light: true})
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
		if errors.Is(rd.fact(configFile).statErr, fs.ErrNotExist) {
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
		pf.Matches = libpq.PassfileMatches(f.data, p.Host, strconv.Itoa(p.Port), "replication", o.c.Replication.User, pw.Reveal())
	}
	return pf
}
