package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgrepl/pgrepl/internal/pretty"

	"github.com/jackc/pgx/v5"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/redact"
	"github.com/pgrepl/pgrepl/observe"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
	"github.com/pgrepl/pgrepl/verify"
)

// Options shape Apply. The zero value works: hosts are reached through the
// pool, progress goes nowhere.
type Options struct {
	// Out receives the progress of the steps (the command's stdout).
	Out io.Writer
	// Terminal says Out is a terminal: pg_basebackup's progress is a bar
	// redrawn in place instead of a line every few seconds.
	Terminal bool
	// Now is the clock; default time.Now.
	Now func() time.Time

	// Locks are the cluster locks the caller took (see LockClusters);
	// nil: Apply takes those of the plan's clusters, and releases them.
	Locks *Locks
	// LockWait is how long Apply waits for a lock that is held.
	LockWait time.Duration

	// ControlTimeout bounds each start, stop and restart; default
	// DefaultControlTimeout.
	ControlTimeout time.Duration
	// VerifyTimeout bounds each standby's verification; default 60s.
	VerifyTimeout time.Duration

	// Transport, Connect and Observe reach nodes; nil means through the
	// pool, as observation does (observe.Transport, observe.ConnectTransport,
	// observe.Node). Tests inject their own.
	Transport func(ctx context.Context, n *spec.Node) (host.Transport, error)
	Connect   func(ctx context.Context, tr host.Transport, n *spec.Node) (*pgx.Conn, error)
	Observe   func(ctx context.Context, c *spec.Cluster, n *spec.Node) (*state.Node, error)
}

// StepStatus is how a step of an apply ended.
type StepStatus string

// The statuses of steps.
const (
	StepDone    StepStatus = "done"
	StepFailed  StepStatus = "failed"
	StepNotDone StepStatus = "not done"
)

// Step is one change of the plan as apply carried it out (or not).
type Step struct {
	// Index counts from 1 in plan order; steps apply added (edits
	// recomputed after a basebackup) have the index of the step they
	// precede and Extra set.
	Index    int
	Extra    bool
	Change   *plan.Change
	Label    string // "pg1: edit_file /etc/postgresql/15/main/postgresql.conf"
	Status   StepStatus
	Duration time.Duration
	// Note says what the step left behind: a backup, a moved-aside data
	// directory, "already as wanted".
	Note string
	Err  error
}

// Result is what an apply did.
type Result struct {
	Steps    []Step
	Verify   []*verify.Report
	Backups  []Backup
	Duration time.Duration
}

// Failed returns the step that failed, or nil.
func (r *Result) Failed() *Step {
	for i := range r.Steps {
		if r.Steps[i].Status == StepFailed {
			return &r.Steps[i]
		}
	}
	return nil
}

// Failure is the error of an apply that stopped at a failed step.
type Failure struct {
	Result *Result
}

func (f *Failure) Error() string {
	var failed []string
	for _, s := range f.Result.Steps {
		if s.Status == StepFailed {
			failed = append(failed, s.Err.Error())
		}
	}
	return strings.Join(failed, "\n")
}

// Unwrap returns the failed steps' errors.
func (f *Failure) Unwrap() []error {
	var errs []error
	for _, s := range f.Result.Steps {
		if s.Status == StepFailed && s.Err != nil {
			errs = append(errs, s.Err)
		}
	}
	return errs
}

// WriteReport writes what was done, what failed and what was not done.
func (r *Result) WriteReport(w io.Writer) error {
	var b strings.Builder
	failed := 0
	for _, s := range r.Steps {
		if s.Status == StepFailed {
			failed++
		}
	}
	if f := r.Failed(); f != nil && f.Change.Action != plan.Verify {
		fmt.Fprintf(&b, "Apply stopped at step %d of %d.\n", f.Index, r.planSteps())
	} else if failed > 0 {
		fmt.Fprintf(&b, "Apply finished, but %s failed verification.\n", pretty.Count(failed, "standby", "standbys"))
	}
	section := func(title string, st StepStatus) {
		first := true
		for _, s := range r.Steps {
			if s.Status != st {
				continue
			}
			if first {
				fmt.Fprintf(&b, "\n%s:\n", title)
				first = false
			}
			fmt.Fprintf(&b, "  %2d. %s", s.Index, s.Label)
			if s.Note != "" && st == StepDone {
				fmt.Fprintf(&b, " (%s)", s.Note)
			}
			b.WriteByte('\n')
			if st == StepFailed && s.Err != nil {
				b.WriteString(indent(s.Err.Error(), "      "))
				b.WriteByte('\n')
			}
		}
	}
	section("Done", StepDone)
	section("Failed", StepFailed)
	section("Not done", StepNotDone)
	b.WriteString("\nRun \"pgrepl plan\" to see the way forward from what the hosts hold now.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Result) planSteps() int {
	n := 0
	for _, s := range r.Steps {
		if !s.Extra {
			n++
		}
	}
	return n
}

// nodeKey names a node across clusters.
type nodeKey struct{ cluster, node string }

// nodeState is what apply keeps of a node between steps.
type nodeState struct {
	// backups are the config files changed since the server last
	// (re)started, for a restart's rollback.
	backups []Backup
	// settings are the values edited since the last reload or restart.
	settings map[string]plan.SettingChange
	// recomputed are the config edits computed again on the files a
	// basebackup left, by path, until they are made; order keeps the
	// planner's order.
	recomputed map[string]*plan.Change
	order      []string
}

type executor struct {
	sp    *spec.Spec
	pool  *host.Pool
	opts  Options
	out   *printer
	stamp string
	nodes map[nodeKey]*nodeState
	res   *Result
	multi bool // several clusters: labels name the cluster
}

// Apply carries out p's changes in order on the hosts of sp, and verifies
// at the end (the plan's verify steps). Each step prints a line when it
// starts and one when it ends, with its duration. A failed step stops the
// apply: the error is a *Failure, and the Result says what was done, what
// failed and what was not done (Result.WriteReport). A verify step that
// fails does not stop the other verify steps.
//
// p must come from plan.Make (its edits carry the new contents), made from
// a State observed with the cluster locks held.
func Apply(ctx context.Context, p *plan.Plan, sp *spec.Spec, pool *host.Pool, opts Options) (*Result, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ControlTimeout <= 0 {
		opts.ControlTimeout = DefaultControlTimeout
	}
	if opts.VerifyTimeout <= 0 {
		opts.VerifyTimeout = 60 * time.Second
	}
	if opts.Transport == nil {
		opts.Transport = func(ctx context.Context, n *spec.Node) (host.Transport, error) {
			return observe.Transport(ctx, pool, n)
		}
	}
	if opts.Connect == nil {
		opts.Connect = observe.ConnectTransport
	}
	if opts.Observe == nil {
		opts.Observe = func(ctx context.Context, c *spec.Cluster, n *spec.Node) (*state.Node, error) {
			return observe.Node(ctx, pool, c, n, observe.Options{})
		}
	}
	start := opts.Now()
	ex := &executor{
		sp: sp, pool: pool, opts: opts,
		out:   newPrinter(opts.Out, opts.Terminal, opts.Now),
		stamp: Stamp(start),
		nodes: map[nodeKey]*nodeState{},
		res:   &Result{},
		multi: len(sp.Clusters) > 1,
	}
	for i := range p.Changes {
		ch := &p.Changes[i]
		ex.res.Steps = append(ex.res.Steps, Step{Index: i + 1, Change: ch, Label: ex.label(ch), Status: StepNotDone})
	}
	if len(p.Changes) == 0 {
		return ex.res, nil
	}

	locks := opts.Locks
	if locks == nil {
		var names []string
		seen := map[string]bool{}
		for _, ch := range p.Changes {
			if !seen[ch.Cluster] {
				seen[ch.Cluster] = true
				names = append(names, ch.Cluster)
			}
		}
		var err error
		locks, err = LockClusters(ctx, sp, names, opts.Transport, LockOptions{Wait: opts.LockWait, Now: opts.Now})
		if err != nil {
			return ex.res, err
		}
		defer func() {
			if err := locks.Release(ctx); err != nil {
				ex.out.line("warning: %v", err)
			}
		}()
	}

	err := ex.run(ctx)
	ex.res.Duration = opts.Now().Sub(start)
	return ex.res, err
}

// run executes the steps in order.
func (ex *executor) run(ctx context.Context) error {
	verifyFailed := false
	for i := 0; i < len(ex.res.Steps); i++ {
		s := &ex.res.Steps[i]
		ch := s.Change
		// Edits recomputed after a basebackup that the plan did not
		// foresee are made before the standby starts.
		if ch.Action == plan.Start {
			var err error
			if i, err = ex.recomputedLeftovers(ctx, i); err != nil {
				return &Failure{Result: ex.res}
			}
			s = &ex.res.Steps[i]
		}
		err := ex.carryOut(s, func() (string, error) {
			note, err := ex.step(ctx, s)
			if err != nil && ctx.Err() != nil {
				err = fmt.Errorf("interrupted: %w", err)
			}
			return note, err
		})
		if err != nil {
			if ch.Action == plan.Verify && ctx.Err() == nil {
				verifyFailed = true
				continue
			}
			return &Failure{Result: ex.res}
		}
	}
	if verifyFailed {
		return &Failure{Result: ex.res}
	}
	return nil
}

// carryOut runs one step: it prints its start, records its duration, note
// and status, and prints its end.
func (ex *executor) carryOut(s *Step, do func() (string, error)) error {
	ex.out.start(s.Label)
	t0 := ex.opts.Now()
	note, err := do()
	s.Duration, s.Note = ex.opts.Now().Sub(t0), note
	if err != nil {
		s.Status, s.Err = StepFailed, err
		ex.out.failed(s.Label, s.Duration)
		return err
	}
	s.Status = StepDone
	ex.out.done(s.Label, s.Duration, note)
	return nil
}

// label names a step: "pg1: edit_file /srv/pg1/postgresql.conf".
func (ex *executor) label(ch *plan.Change) string {
	who := ch.Node
	if ex.multi {
		who = ch.Cluster + "/" + ch.Node
	}
	what := string(ch.Action)
	switch ch.Action {
	case plan.EditFile:
		what += " " + ch.Path
	case plan.CreateRole, plan.AlterRole:
		if ch.Role != nil {
			what += " " + ch.Role.Name
		}
	case plan.CreateSlot, plan.DropSlot:
		if ch.Slot != nil {
			what += " " + ch.Slot.Name
		}
	case plan.Basebackup:
		if ch.Basebackup != nil {
			what += " from " + ch.Basebackup.Source
		}
	}
	return who + ": " + what
}

// node resolves a change's node: its spec, a transport, a connect function.
func (ex *executor) node(ctx context.Context, cluster, name string) (*spec.Cluster, *Node, error) {
	c := ex.sp.Cluster(cluster)
	if c == nil {
		return nil, nil, fmt.Errorf("the spec has no cluster %s", cluster)
	}
	sn := c.Node(name)
	if sn == nil {
		return nil, nil, fmt.Errorf("cluster %s has no node %s", cluster, name)
	}
	tr, err := ex.opts.Transport(ctx, sn)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	n := &Node{Spec: sn, Transport: tr}
	n.Connect = func(ctx context.Context) (*pgx.Conn, error) { return ex.opts.Connect(ctx, tr, sn) }
	return c, n, nil
}

func (ex *executor) state(cluster, node string) *nodeState {
	k := nodeKey{cluster, node}
	ns := ex.nodes[k]
	if ns == nil {
		ns = &nodeState{settings: map[string]plan.SettingChange{}}
		ex.nodes[k] = ns
	}
	return ns
}

// step carries out one change and returns a note for its end line.
func (ex *executor) step(ctx context.Context, s *Step) (string, error) {
	ch := s.Change
	c, n, err := ex.node(ctx, ch.Cluster, ch.Node)
	if err != nil {
		return "", err
	}
	ns := ex.state(ch.Cluster, ch.Node)
	switch ch.Action {
	case plan.EditFile:
		return ex.editFile(ctx, c, n, ns, ch)
	case plan.CreateRole, plan.AlterRole:
		if ch.Role == nil {
			return "", fmt.Errorf("%s: %s without a role", n.Name(), ch.Action)
		}
		pw := ""
		if ch.Role.Password != "" {
			if pw = c.Replication.Password.Reveal(); pw == "" {
				return "", fmt.Errorf("%s: the replication password (%s) is empty", n.Name(), ch.Role.Password)
			}
		}
		attrs := ch.Role.Attributes
		if attrs == nil {
			attrs = []string{}
		}
		return "", withConn(ctx, n, func(conn *pgx.Conn) error {
			return SetRole(ctx, conn, n.Name(), ch.Role.Name, RoleOptions{Create: ch.Action == plan.CreateRole, Attributes: attrs, Password: pw})
		})
	case plan.CreateSlot:
		return "", withConn(ctx, n, func(conn *pgx.Conn) error { return CreateSlot(ctx, conn, n.Name(), ch.Slot.Name) })
	case plan.DropSlot:
		return "", withConn(ctx, n, func(conn *pgx.Conn) error { return DropSlot(ctx, conn, n.Name(), ch.Slot.Name, ch.Slot.Active) })
	case plan.Reload:
		want := wanted(ns.settings, false)
		err := withConn(ctx, n, func(conn *pgx.Conn) error { return Reload(ctx, conn, n.Name(), want, 10*time.Second) })
		if err != nil {
			return "", err
		}
		for name, sc := range ns.settings {
			if !sc.Restart {
				delete(ns.settings, name)
			}
		}
		return "", nil
	case plan.Restart:
		if err := RestartWithRollback(ctx, n, ns.backups, ex.stamp, ex.opts.ControlTimeout); err != nil {
			return "", err
		}
		ns.backups = nil
		want := wanted(ns.settings, true)
		ns.settings = map[string]plan.SettingChange{}
		return "", withConn(ctx, n, func(conn *pgx.Conn) error { return confirmSettings(ctx, conn, n.Name(), want) })
	case plan.Stop:
		return "", Control(ctx, n, OpStop, ex.opts.ControlTimeout)
	case plan.Start:
		if err := Control(ctx, n, OpStart, ex.opts.ControlTimeout); err != nil {
			return "", err
		}
		ns.backups = nil
		ns.settings = map[string]plan.SettingChange{}
		return "", nil
	case plan.Basebackup:
		return ex.basebackup(ctx, c, n, ns, s)
	case plan.Verify:
		return ex.verify(ctx, c, n, ch)
	}
	return "", fmt.Errorf("%s: unknown action %q", n.Name(), ch.Action)
}

// wanted are the edited values to confirm in pg_settings: all of them after
// a restart, those a reload applies otherwise. Redacted values cannot be
// compared and are left out.
func wanted(settings map[string]plan.SettingChange, restart bool) map[string]string {
	out := map[string]string{}
	for name, sc := range settings {
		if (restart || !sc.Restart) && sc.New != spec.Redacted && !strings.Contains(sc.New, spec.Redacted) {
			out[name] = sc.New
		}
	}
	return out
}

// editFile writes one file of the plan.
func (ex *executor) editFile(ctx context.Context, c *spec.Cluster, n *Node, ns *nodeState, ch *plan.Change) (string, error) {
	if ch.File == nil {
		return "", fmt.Errorf("%s: edit_file %s without its details", n.Name(), ch.Path)
	}
	if ch.File.Kind == plan.KindPassfile {
		return "", ex.passfile(ctx, c, n, ch)
	}
	if ch.File.AfterBasebackup {
		rc, ok := ns.recomputed[ch.Path]
		if !ok {
			if ns.recomputed == nil {
				return "", fmt.Errorf("%s: %s is an edit of the files a basebackup leaves, but no basebackup ran before it", n.Name(), ch.Path)
			}
			return "already as wanted after pg_basebackup", nil
		}
		delete(ns.recomputed, ch.Path)
		ch = rc
	}
	return ex.writeEdit(ctx, c, n, ns, ch)
}

// writeEdit writes ch's content to its file, if the file still has the
// sha256 the plan saw, keeps the backup for a restart's rollback, and
// checks a pg_hba.conf with the running server (putting the previous
// version back if it is refused).
func (ex *executor) writeEdit(ctx context.Context, c *spec.Cluster, n *Node, ns *nodeState, ch *plan.Change) (string, error) {
	content := ch.Content
	// A file that holds a password is edited again on its real bytes, and
	// its backup gets the password masked.
	var prev, masked []byte
	if ch.File.Redacted {
		before, after, passwords, err := redoEdit(ctx, n, ch)
		if err != nil {
			return "", err
		}
		content = after
		if c.Replication.Password.IsSet() {
			passwords = append(passwords, c.Replication.Password.Reveal())
		}
		if m, ok := redact.Bytes(before, redact.Forms(passwords)); ok {
			prev, masked = before, m
		}
	}
	if content == nil {
		return "", fmt.Errorf("%s: edit_file %s has no content: apply a plan made by plan.Make, not one read from a file", n.Name(), ch.Path)
	}
	mode, err := parseMode(ch.File.Mode)
	if err != nil {
		return "", fmt.Errorf("%s: edit_file %s: %w", n.Name(), ch.Path, err)
	}
	b, err := EditFile(ctx, n, ch.Path, ch.File.OldSHA256, content, mode, ex.stamp, prev, masked)
	if err != nil {
		return "", err
	}
	ns.backups = append(ns.backups, b)
	ex.res.Backups = append(ex.res.Backups, b)
	for _, sc := range ch.Settings {
		ns.settings[sc.Name] = sc
	}
	note := "new file"
	if b.Copy != "" {
		note = "previous version kept as " + b.Copy
	}
	if ch.File.Kind != plan.KindHBA {
		return note, nil
	}
	up, err := Running(ctx, n)
	if err != nil || !up {
		// A stopped server checks its pg_hba.conf when it starts.
		return note, err
	}
	err = withConn(ctx, n, func(conn *pgx.Conn) error { return CheckHBA(ctx, conn, n.Name(), ch.Path) })
	if err == nil {
		return note, nil
	}
	// Put it back even when the apply is being interrupted.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if rerr := b.Restore(rctx, n, ex.stamp); rerr != nil {
		return "", fmt.Errorf("%w\nputting the previous version back failed too: %v", err, rerr)
	}
	ns.backups = ns.backups[:len(ns.backups)-1]
	return "", fmt.Errorf("%w\nthe previous %s is back in place; nothing was reloaded", err, ch.Path)
}

// parseMode reads an octal mode ("0600"); "" is 0600.
func parseMode(s string) (fs.FileMode, error) {
	if s == "" {
		return 0o600, nil
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("mode %q is not an octal file mode", s)
	}
	return fs.FileMode(m), nil
}

// passfile writes a standby's password file from the spec's secret.
func (ex *executor) passfile(ctx context.Context, c *spec.Cluster, n *Node, ch *plan.Change) error {
	pe := ch.Passfile
	if pe == nil {
		return fmt.Errorf("%s: passfile %s without its entry", n.Name(), ch.Path)
	}
	pw := c.Replication.Password.Reveal()
	if pw == "" {
		return fmt.Errorf("%s: the replication password (%s) is empty", n.Name(), pe.Password)
	}
	return WritePassfile(ctx, n, ch.Path, PassfileEntry{
		Host: pe.Host, Port: strconv.Itoa(pe.Port), Database: pe.Database, User: pe.User, Password: pw,
	})
}

// basebackup rebuilds a standby, then computes its config edits again on
// the files pg_basebackup really left.
func (ex *executor) basebackup(ctx context.Context, c *spec.Cluster, n *Node, ns *nodeState, s *Step) (string, error) {
	bb := s.Change.Basebackup
	if bb == nil {
		return "", fmt.Errorf("%s: basebackup without its details", n.Name())
	}
	if path.Clean(bb.DataDir) != path.Clean(n.Spec.DataDir) {
		return "", fmt.Errorf("%s: the plan's basebackup writes %s, but the spec's data_dir is %s", n.Name(), bb.DataDir, n.Spec.DataDir)
	}
	_, pn, err := ex.node(ctx, c.Name, bb.Source)
	if err != nil {
		return "", err
	}
	var size int64
	if err := withConn(ctx, pn, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT sum(pg_database_size(oid))::int8 FROM pg_database").Scan(&size)
	}); err != nil {
		return "", fmt.Errorf("%s: size of %s's databases: %w", n.Name(), bb.Source, err)
	}
	opts := BasebackupOptions{
		PrimaryHost: bb.SourceHost, PrimaryPort: bb.SourcePort, User: bb.User,
		Passfile: bb.Passfile, Slot: bb.Slot, Checkpoint: bb.Checkpoint,
		NeedBytes: uint64(size) * 11 / 10, Stamp: ex.stamp, Command: bb.Command,
		Progress: func(pr Progress) { ex.out.progress(s.Label, pr) },
	}
	r, err := Basebackup(ctx, n, opts)
	ns.backups = nil
	if err != nil {
		return "", err
	}
	note := "no previous data directory"
	if r.MovedAside != "" {
		note = "previous data directory kept at " + r.MovedAside
	}
	if err := ex.recompute(ctx, c, n.Spec, ns); err != nil {
		return note, fmt.Errorf("%s: the data directory is copied, but its config edits cannot be computed: %w", n.Name(), err)
	}
	return note, nil
}

// recompute observes the primary and the rebuilt standby again and plans
// the standby alone: its config edits are what the files pg_basebackup
// really wrote need (the plan's were computed on a model of them).
func (ex *executor) recompute(ctx context.Context, c *spec.Cluster, sb *spec.Node, ns *nodeState) error {
	var pst, sst *state.Node
	var perr, serr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pst, perr = ex.opts.Observe(ctx, c, c.Primary) }()
	go func() { defer wg.Done(); sst, serr = ex.opts.Observe(ctx, c, sb) }()
	wg.Wait()
	if err := errors.Join(perr, serr); err != nil {
		return err
	}
	st := &state.State{FormatVersion: state.FormatVersion, Clusters: []*state.Cluster{{Name: c.Name, Nodes: []*state.Node{pst, sst}}}}
	np, err := plan.Make(ex.sp, st, plan.Options{Targets: []string{c.Name + "/" + sb.Name}})
	if err != nil {
		return err
	}
	ns.recomputed = map[string]*plan.Change{}
	ns.order = nil
	for i := range np.Changes {
		ch := &np.Changes[i]
		if ch.Cluster != c.Name || ch.Node != sb.Name || ch.Action != plan.EditFile || ch.File == nil || ch.File.Kind == plan.KindPassfile {
			continue
		}
		ns.recomputed[ch.Path] = ch
		ns.order = append(ns.order, ch.Path)
	}
	return nil
}

// recomputedLeftovers makes, before the start step at index i, the edits
// recomputed after a basebackup that no step of the plan made; each becomes
// an extra step. It returns the start step's new index.
func (ex *executor) recomputedLeftovers(ctx context.Context, i int) (int, error) {
	start := ex.res.Steps[i]
	ns := ex.nodes[nodeKey{start.Change.Cluster, start.Change.Node}]
	if ns == nil || len(ns.recomputed) == 0 {
		return i, nil
	}
	for _, p := range ns.order {
		rc, ok := ns.recomputed[p]
		if !ok {
			continue
		}
		extra := Step{Index: start.Index, Extra: true, Change: rc, Label: ex.label(rc) + " (recomputed after pg_basebackup)", Status: StepNotDone}
		ex.res.Steps = append(ex.res.Steps[:i], append([]Step{extra}, ex.res.Steps[i:]...)...)
		s := &ex.res.Steps[i]
		i++
		err := ex.carryOut(s, func() (string, error) {
			delete(ns.recomputed, p)
			c, n, err := ex.node(ctx, rc.Cluster, rc.Node)
			if err != nil {
				return "", err
			}
			return ex.writeEdit(ctx, c, n, ns, rc)
		})
		if err != nil {
			return i, err
		}
	}
	return i, nil
}

// verify checks one standby as the runbook does and prints each check.
func (ex *executor) verify(ctx context.Context, c *spec.Cluster, n *Node, ch *plan.Change) (string, error) {
	primary := c.Primary.Name
	if ch.Verify != nil && ch.Verify.Primary != "" {
		primary = ch.Verify.Primary
	}
	_, pn, err := ex.node(ctx, c.Name, primary)
	if err != nil {
		return "", err
	}
	name := n.Name()
	if ch.Verify != nil && ch.Verify.ApplicationName != "" {
		name = ch.Verify.ApplicationName
	}
	rep, err := verify.Run(ctx, verify.Target{
		Cluster:  c.Name,
		Primary:  verify.Node{Name: primary, Connect: pn.Connect},
		Standbys: []verify.Node{{Name: name, Connect: n.Connect}},
	}, verify.Options{Timeout: ex.opts.VerifyTimeout})
	if err != nil {
		return "", err
	}
	ex.res.Verify = append(ex.res.Verify, rep)
	for _, sb := range rep.Standbys {
		for _, chk := range sb.Checks {
			ex.out.line("    %s", verify.CheckLine(chk, false))
		}
	}
	if !rep.OK {
		var failed []string
		for _, sb := range rep.Standbys {
			for _, chk := range sb.Checks {
				if !chk.OK {
					failed = append(failed, chk.Name+" ("+chk.Detail+")")
				}
			}
		}
		return "", fmt.Errorf("%s: verify failed: %s", n.Name(), strings.Join(failed, "; "))
	}
	sb := rep.Standbys[0]
	return fmt.Sprintf("streaming (%s), %d bytes behind", sb.SyncState, sb.LagBytes), nil
}
