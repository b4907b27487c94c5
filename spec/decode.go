package spec

import (
	"fmt"
	"maps"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/pgrepl/pgrepl/catalog"
	"github.com/pgrepl/pgrepl/internal/libpq"
)

// Defaults that the spec fills in (Debian's layout where it has one).
const (
	DefaultPort       = 5432
	DefaultOSUser     = "postgres"
	DefaultControl    = "pg_ctl"
	DefaultSocketDir  = "/var/run/postgresql"
	DefaultReplUser   = "replicator"
	DefaultAuthMethod = "scram-sha-256"
	DefaultCheckpoint = "fast"
	// DefaultRef is the Ref of an admin_dsn that pgrepl derived.
	DefaultRef = "(default)"
)

// DefaultBinDir is where Debian's packages put a major version's programs.
func DefaultBinDir(version int) string { return fmt.Sprintf("/usr/lib/postgresql/%d/bin", version) }

var (
	nodeAttrs    = []string{"admin_dsn", "bin_dir", "config_dir", "control", "data_dir", "hba", "host", "os_user", "port", "service", "settings"}
	standbyAttrs = []string{"admin_dsn", "bin_dir", "config_dir", "control", "data_dir", "hba", "host", "os_user", "port", "service", "passfile", "settings", "slot", "source_address"}
	replAttrs    = []string{"auth_method", "checkpoint", "password", "slots", "synchronous", "user"}
	sshAttrs     = []string{"become", "identity_file", "known_hosts_file", "port", "user"}
	controls     = []string{"pg_ctl", "pg_ctlcluster", "systemd"}
	authMethods  = []string{"md5", "scram-sha-256", "trust"}
	checkpoints  = []string{"fast", "spread"}
	becomes      = []string{"none", "sudo"}
)

// elsewhere explains, for a name valid in some block, where it belongs.
func elsewhere(except ...string) map[string]string {
	m := map[string]string{}
	for _, a := range replAttrs {
		m[a] = fmt.Sprintf("%q belongs in the cluster's replication block.", a)
	}
	for _, a := range nodeAttrs {
		m[a] = fmt.Sprintf("%q belongs in a primary, standby or defaults block.", a)
	}
	m["ssh"] = "ssh blocks belong in a primary, standby or defaults block."
	m["slot"] = `"slot" is only valid in a standby block: the name of its replication slot on the primary.`
	m["passfile"] = `"passfile" is only valid in a standby block: the libpq password file its replication connection reads.`
	m["source_address"] = `"source_address" is only valid in a standby block: the address the primary sees it connect from.`
	m["postgres_version"] = `"postgres_version" belongs in the cluster block.`
	for _, b := range []string{"replication", "defaults", "primary", "standby"} {
		m[b] = fmt.Sprintf("%s blocks belong inside a cluster \"NAME\" { … } block.", b)
	}
	m["cluster"] = "cluster blocks belong at the top level of a spec file."
	for _, e := range except {
		delete(m, e)
	}
	return m
}

var (
	fileSchema    = schema{block: "", blocks: []string{"cluster"}, elsewhere: elsewhere("cluster")}
	clusterSchema = schema{block: "cluster", attrs: []string{"postgres_version"}, blocks: []string{"defaults", "primary", "replication", "standby"},
		elsewhere: elsewhere("postgres_version", "defaults", "primary", "replication", "standby")}
	replSchema     = schema{block: "replication", attrs: replAttrs, elsewhere: elsewhere(replAttrs...)}
	primarySchema  = schema{block: "primary", attrs: nodeAttrs, blocks: []string{"ssh"}, elsewhere: elsewhere(append(nodeAttrs, "ssh")...)}
	defaultsSchema = schema{block: "defaults", attrs: nodeAttrs, blocks: []string{"ssh"}, elsewhere: elsewhere(append(nodeAttrs, "ssh")...)}
	standbySchema  = schema{block: "standby", attrs: standbyAttrs, blocks: []string{"ssh"}, elsewhere: elsewhere(append(standbyAttrs, "ssh")...)}
	sshSchema      = schema{block: "ssh", attrs: sshAttrs, elsewhere: map[string]string{}}
)

// nameRE is what cluster and node names may be: node names become
// application_name and appear in synchronous_standby_names.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// clusterDecl is a decoded cluster with what later checks need to point at.
type clusterDecl struct {
	c          *Cluster
	hdr        hcl.Range
	version    field[int]
	synchrony  []string
	syncRanges []hcl.Range
	nodes      []*nodeDecl // effective (defaults merged), primary first
}

// nodeDecl is one node block, or the defaults, as written; after merge, a
// node's effective attributes, each with the range where it was written.
type nodeDecl struct {
	name string
	role Role
	hdr  hcl.Range // the block's type and label
	body hcl.Range // the whole block

	host, dataDir, configDir, binDir, osUser, control, service, slot, sourceAddress, passfile field[string]
	port                                                                                      field[int]
	adminDSN                                                                                  field[Secret]
	hba                                                                                       field[[]HBARule]
	settings                                                                                  []settingDecl
	ssh                                                                                       *sshDecl

	node *Node
}

type sshDecl struct {
	user, identityFile, knownHostsFile, become field[string]
	port                                       field[int]
	rng                                        hcl.Range
	file                                       string
}

// settingDecl is one settings entry. null removes an inherited setting.
type settingDecl struct {
	name           string
	value          string
	null           bool
	list           bool
	keyRng, valRng hcl.Range
}

func (l *loader) decodeFiles(files []*hcl.File) []*clusterDecl {
	var out []*clusterDecl
	for _, f := range files {
		body, ok := f.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		_, blocks := l.content(body, fileSchema)
		for _, b := range blocks {
			if !l.labels(b, 1) {
				continue
			}
			out = append(out, l.decodeCluster(b))
		}
	}
	return out
}

func (l *loader) decodeCluster(b *hclsyntax.Block) *clusterDecl {
	ctx := l.evalCtx(b.TypeRange.Filename)
	cd := &clusterDecl{hdr: header(b)}
	c := &Cluster{Name: b.Labels[0], Pos: pos(b.TypeRange)}
	cd.c = c
	if !nameRE.MatchString(c.Name) || len(c.Name) > 63 {
		l.errorf(b.LabelRanges[0], "Invalid cluster name", "%q is not a valid cluster name: use letters, digits, _, - and . (at most 63, not starting with - or .).", c.Name)
	}
	attrs, blocks := l.content(b.Body, clusterSchema)

	cd.version = l.integer(ctx, attrs["postgres_version"], 0, 1000)
	switch {
	case cd.version.bad:
	case !cd.version.set:
		l.errorf(cd.hdr, "Missing required argument", "The argument \"postgres_version\" is required in a cluster block: the PostgreSQL major version of every node, %d to %d.", catalog.Oldest, catalog.Newest)
	case !catalog.Supported(cd.version.v):
		l.errorf(cd.version.rng, "Unsupported PostgreSQL version", "pgrepl supports PostgreSQL %d to %d; postgres_version is %d.", catalog.Oldest, catalog.Newest, cd.version.v)
		cd.version.bad = true
	default:
		c.PostgresVersion = cd.version.v
	}
	version := cd.version.or(0)

	var repl, defaults *hclsyntax.Block
	var primaries, standbys []*hclsyntax.Block
	for _, blk := range blocks {
		switch blk.Type {
		case "replication", "defaults":
			if !l.labels(blk, 0) {
				continue
			}
			prev := &repl
			if blk.Type == "defaults" {
				prev = &defaults
			}
			if *prev != nil {
				l.errorf(blk.TypeRange, "Duplicate "+blk.Type+" block", "A cluster has one %s block; the first is at %s.", blk.Type, pos(header(*prev)).short())
				continue
			}
			*prev = blk
		case "primary", "standby":
			if !l.labels(blk, 1) {
				continue
			}
			if blk.Type == "primary" {
				primaries = append(primaries, blk)
			} else {
				standbys = append(standbys, blk)
			}
		}
	}

	if repl == nil {
		l.errorf(cd.hdr, "Missing replication block",
			"Cluster %q needs a replication block naming the role standbys connect as and its password, such as replication { user = \"replicator\"  password = env(\"PGREPL_REPLICATION_PASSWORD\") }.", c.Name)
	} else {
		l.decodeReplication(ctx, repl, cd)
	}

	def := &nodeDecl{}
	if defaults != nil {
		def = l.decodeNode(ctx, defaults, defaultsSchema, "", version)
	}
	switch {
	case len(primaries) == 0:
		l.errorf(cd.hdr, "Missing primary", "Cluster %q has no primary block; a cluster has exactly one: primary \"NAME\" { host = … }.", c.Name)
	case len(primaries) > 1:
		for _, p := range primaries[1:] {
			l.errorf(header(p), "More than one primary", "Cluster %q already has primary %q at %s; a cluster has exactly one primary.",
				c.Name, primaries[0].Labels[0], pos(header(primaries[0])).short())
		}
	}
	if len(primaries) > 0 {
		nd := l.decodeNode(ctx, primaries[0], primarySchema, Primary, version)
		cd.nodes = append(cd.nodes, merge(def, nd))
	}
	for _, s := range standbys {
		nd := l.decodeNode(ctx, s, standbySchema, Standby, version)
		cd.nodes = append(cd.nodes, merge(def, nd))
	}
	for _, nd := range cd.nodes {
		n := l.buildNode(cd, nd)
		if n.Role == Primary {
			c.Primary = n
		} else {
			c.Standbys = append(c.Standbys, n)
		}
	}
	l.checkCluster(cd)
	return cd
}

func (l *loader) decodeReplication(ctx *hcl.EvalContext, b *hclsyntax.Block, cd *clusterDecl) {
	attrs, _ := l.content(b.Body, replSchema)
	r := &cd.c.Replication
	r.Pos = pos(b.TypeRange)

	user := l.str(ctx, attrs["user"])
	r.User = user.or(DefaultReplUser)
	if user.set && (r.User == "" || len(r.User) > 63) {
		l.errorf(user.rng, "Invalid replication user", "The replication user must be a role name of 1 to 63 bytes.")
	}

	method := l.str(ctx, attrs["auth_method"])
	r.AuthMethod = method.or(DefaultAuthMethod)
	if method.set {
		switch r.AuthMethod {
		case "scram-sha-256":
		case "md5":
			l.warnf(method.rng, "md5 authentication", "md5 sends a password hash that can be replayed, and PostgreSQL deprecates it; every version pgrepl supports (12 to 17) has scram-sha-256. Use auth_method = \"scram-sha-256\".")
		case "trust":
			l.warnf(method.rng, "Trust authentication for replication", "auth_method = \"trust\" lets anyone who can reach the primary from a standby's address stream the whole database without a password.")
		default:
			l.errorf(method.rng, "Unsupported auth_method", "auth_method must be one of %s; it is %q.", quoteList(authMethods), r.AuthMethod)
			r.AuthMethod = DefaultAuthMethod
		}
	}

	pw := l.secret(ctx, attrs["password"])
	if pw.set {
		r.Password = pw.v
		plain := pw.v.Reveal()
		switch {
		case plain == "":
			l.errorf(pw.rng, "Empty replication password", "The replication password is empty. %s", refHint(pw.v))
		case strings.ContainsAny(plain, "\n\r\x00"):
			l.errorf(pw.rng, "Invalid replication password", "The replication password holds a line break or NUL byte, which a password file cannot hold. A file read with file() usually ends with a line break: write trimspace(file(\"…\")).")
		}
		if pw.v.IsLiteral() {
			l.warnf(pw.rng, "Password written in the spec",
				"Anyone who can read this file or its history can read the replication password, and pgrepl cannot keep it out of saved plans. Use env(\"PGREPL_REPLICATION_PASSWORD\") or file(\"…\") instead.")
		}
	} else if !pw.bad && r.AuthMethod != "trust" {
		l.errorf(header(b), "Missing replication password",
			"auth_method %q needs a password: add password = env(\"PGREPL_REPLICATION_PASSWORD\") (or file(\"…\")) to the replication block.", r.AuthMethod)
	}

	slots := l.boolean(ctx, attrs["slots"])
	r.Slots = slots.or(true)

	sync, rngs, _ := l.strings(ctx, attrs["synchronous"])
	r.Synchronous, cd.synchrony, cd.syncRanges = sync, sync, rngs

	cp := l.str(ctx, attrs["checkpoint"])
	r.Checkpoint = cp.or(DefaultCheckpoint)
	if cp.set && !slices.Contains(checkpoints, r.Checkpoint) {
		l.errorf(cp.rng, "Unsupported checkpoint", "checkpoint must be %s (pg_basebackup --checkpoint); it is %q.", quoteList(checkpoints), r.Checkpoint)
		r.Checkpoint = DefaultCheckpoint
	}
}

func refHint(s Secret) string {
	if s.IsLiteral() {
		return ""
	}
	return "It is read by " + s.Ref() + "."
}

// decodeNode decodes a primary, standby or defaults block as written.
func (l *loader) decodeNode(ctx *hcl.EvalContext, b *hclsyntax.Block, s schema, role Role, version int) *nodeDecl {
	attrs, blocks := l.content(b.Body, s)
	nd := &nodeDecl{role: role, hdr: header(b), body: b.Range()}
	if role != "" {
		nd.name = b.Labels[0]
		if !nameRE.MatchString(nd.name) || len(nd.name) > 63 {
			l.errorf(b.LabelRanges[0], "Invalid node name",
				"%q is not a valid node name: use letters, digits, _, - and . (at most 63, not starting with - or .); it becomes the standby's application_name.", nd.name)
		}
	}
	nd.host = l.str(ctx, attrs["host"])
	nd.port = l.integer(ctx, attrs["port"], 1, 65535)
	nd.dataDir = l.str(ctx, attrs["data_dir"])
	nd.configDir = l.str(ctx, attrs["config_dir"])
	nd.binDir = l.str(ctx, attrs["bin_dir"])
	nd.osUser = l.str(ctx, attrs["os_user"])
	nd.control = l.str(ctx, attrs["control"])
	nd.service = l.str(ctx, attrs["service"])
	nd.slot = l.str(ctx, attrs["slot"])
	nd.sourceAddress = l.str(ctx, attrs["source_address"])
	nd.passfile = l.str(ctx, attrs["passfile"])
	nd.adminDSN = l.secret(ctx, attrs["admin_dsn"])
	if nd.adminDSN.set && nd.adminDSN.v.IsLiteral() && libpq.HasPassword(nd.adminDSN.v.Reveal()) {
		l.warnf(nd.adminDSN.rng, "Password written in the spec",
			"This admin_dsn holds a password, so anyone who can read this file or its history can read it. Read the DSN with env(\"…\") or file(\"…\"), or use a password file (~/.pgpass) or peer authentication.")
	}
	nd.hba = l.decodeHBA(ctx, attrs["hba"])
	nd.settings = l.decodeSettings(ctx, attrs["settings"], version)

	for _, blk := range blocks {
		if !l.labels(blk, 0) {
			continue
		}
		if nd.ssh != nil {
			l.errorf(blk.TypeRange, "Duplicate ssh block", "A node has one ssh block; the first is at %s.", pos(nd.ssh.rng).short())
			continue
		}
		nd.ssh = l.decodeSSH(ctx, blk)
	}
	return nd
}

// decodeSSH decodes an ssh block in the context of its node's file.
func (l *loader) decodeSSH(ctx *hcl.EvalContext, b *hclsyntax.Block) *sshDecl {
	attrs, _ := l.content(b.Body, sshSchema)
	return &sshDecl{
		rng:            b.TypeRange,
		file:           b.TypeRange.Filename,
		user:           l.str(ctx, attrs["user"]),
		port:           l.integer(ctx, attrs["port"], 1, 65535),
		identityFile:   l.str(ctx, attrs["identity_file"]),
		knownHostsFile: l.str(ctx, attrs["known_hosts_file"]),
		become:         l.str(ctx, attrs["become"]),
	}
}

// merge applies the defaults def to node nd: node values win, settings merge
// key by key (null removes), ssh blocks merge attribute by attribute.
func merge(def, nd *nodeDecl) *nodeDecl {
	m := *nd
	m.host = override(def.host, nd.host)
	m.port = override(def.port, nd.port)
	m.dataDir = override(def.dataDir, nd.dataDir)
	m.configDir = override(def.configDir, nd.configDir)
	m.binDir = override(def.binDir, nd.binDir)
	m.osUser = override(def.osUser, nd.osUser)
	m.control = override(def.control, nd.control)
	m.service = override(def.service, nd.service)
	m.adminDSN = override(def.adminDSN, nd.adminDSN)
	m.hba = override(def.hba, nd.hba)

	byName := map[string]settingDecl{}
	for _, s := range def.settings {
		byName[s.name] = s
	}
	for _, s := range nd.settings {
		byName[s.name] = s
	}
	m.settings = nil
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		if s := byName[name]; !s.null {
			m.settings = append(m.settings, s)
		}
	}

	switch {
	case def.ssh == nil:
	case nd.ssh == nil:
		m.ssh = def.ssh
	default:
		s := *nd.ssh
		s.user = override(def.ssh.user, nd.ssh.user)
		s.port = override(def.ssh.port, nd.ssh.port)
		s.identityFile = override(def.ssh.identityFile, nd.ssh.identityFile)
		s.knownHostsFile = override(def.ssh.knownHostsFile, nd.ssh.knownHostsFile)
		s.become = override(def.ssh.become, nd.ssh.become)
		m.ssh = &s
	}
	return &m
}

// buildNode fills in the defaults of a merged node and checks each of its
// attributes on its own.
func (l *loader) buildNode(cd *clusterDecl, nd *nodeDecl) *Node {
	version := cd.c.PostgresVersion
	n := &Node{Name: nd.name, Role: nd.role, Pos: pos(nd.hdr)}
	nd.node = n

	n.Host = nd.host.or("")
	switch {
	case nd.host.bad:
	case !nd.host.set:
		l.errorf(nd.hdr, "Missing required argument", "The argument \"host\" is required in a %s block (or the cluster's defaults): where standbys and SSH reach the node.", nd.role)
	case !validHost(n.Host):
		l.errorf(nd.host.rng, "Invalid host", "host must be an IP address or a host name; %q is neither.", n.Host)
	}
	n.Port = nd.port.or(DefaultPort)

	n.DataDir = nd.dataDir.or("")
	switch {
	case nd.dataDir.bad:
	case !nd.dataDir.set:
		l.errorf(nd.hdr, "Missing required argument", "The argument \"data_dir\" is required in a %s block (or the cluster's defaults): the node's data directory, such as /var/lib/postgresql/%d/main.", nd.role, max(version, catalog.Oldest))
	default:
		n.DataDir = l.absPath(nd.dataDir, "data_dir", version)
	}
	n.ConfigDir = n.DataDir
	if nd.configDir.set {
		n.ConfigDir = l.absPath(nd.configDir, "config_dir", version)
	}
	n.BinDir = DefaultBinDir(version)
	if nd.binDir.set {
		n.BinDir = l.absPath(nd.binDir, "bin_dir", version)
	}
	n.OSUser = nd.osUser.or(DefaultOSUser)
	if nd.osUser.set && (n.OSUser == "" || strings.ContainsAny(n.OSUser, " \t/:")) {
		l.errorf(nd.osUser.rng, "Invalid os_user", "os_user must be the name of the OS user that owns the data directory; %q is not a user name.", n.OSUser)
	}

	n.Control = nd.control.or(DefaultControl)
	if nd.control.set && !slices.Contains(controls, n.Control) {
		l.errorf(nd.control.rng, "Unsupported control", "control must be one of %s; it is %q.", quoteList(controls), n.Control)
		n.Control = DefaultControl
	}
	n.Service = l.service(nd, n, version)

	n.Settings = make([]Setting, 0, len(nd.settings))
	for _, s := range nd.settings {
		n.Settings = append(n.Settings, Setting{Name: s.name, Value: s.value, Pos: pos(s.keyRng)})
	}
	n.HBA = nd.hba.or(nil)

	if nd.adminDSN.set {
		n.AdminDSN = nd.adminDSN.v
	} else {
		n.AdminDSN = NewSecret(fmt.Sprintf("host=%s port=%d user=%s dbname=postgres", socketDir(n), n.Port, n.OSUser), DefaultRef)
	}

	if nd.ssh != nil {
		n.SSH = l.buildSSH(nd.ssh, n)
	}

	if nd.role == Standby {
		n.SourceAddress = nd.sourceAddress.or(n.Host)
		if nd.sourceAddress.set && !validAddress(n.SourceAddress) {
			l.errorf(nd.sourceAddress.rng, "Invalid source_address", "source_address must be an IP address, a CIDR range or a host name; %q is none.", n.SourceAddress)
		}
		n.Passfile = nd.passfile.or(DefaultPassfile(n.DataDir))
		if nd.passfile.set && !path.IsAbs(n.Passfile) {
			l.errorf(nd.passfile.rng, "Relative passfile", "passfile must be an absolute path on the standby's host; %q is relative.", n.Passfile)
		}
		switch {
		case nd.slot.set && !cd.c.Replication.Slots:
			l.errorf(nd.slot.rng, "Slot without slots", "slot names a replication slot, but the cluster's replication.slots is false; remove one of them.")
		case nd.slot.set:
			n.Slot = nd.slot.v
			if !slotRE.MatchString(n.Slot) {
				l.errorf(nd.slot.rng, "Invalid slot name", "Replication slot names may contain only lower case letters, numbers and the underscore, at most 63; %q is not one.", n.Slot)
			}
		case cd.c.Replication.Slots:
			n.Slot = SlotName(n.Name)
		}
	}
	l.checkSettings(cd, nd)
	return n
}

var slotRE = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// DefaultPassfile is where a standby's password file goes unless the spec
// says otherwise: beside its data directory, so that a rebuild, which moves
// the data directory aside, leaves it in place ("/var/lib/postgresql/15/main"
// → "/var/lib/postgresql/15/main.pgpass").
func DefaultPassfile(dataDir string) string {
	if dataDir == "" || dataDir == "/" {
		return ""
	}
	return path.Clean(dataDir) + ".pgpass"
}

// SlotName is the replication slot a standby gets by default: its name in
// lower case, with every character a slot name cannot hold replaced by _.
func SlotName(node string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(node) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// absPath checks that a remote path is absolute and returns it cleaned.
func (l *loader) absPath(f field[string], attr string, version int) string {
	if !path.IsAbs(f.v) {
		l.errorf(f.rng, "Relative path", "%s must be an absolute path on the node, such as %s; %q is relative.", attr, examplePath(attr, version), f.v)
		return f.v
	}
	return path.Clean(f.v)
}

func examplePath(attr string, version int) string {
	v := max(version, catalog.Oldest)
	switch attr {
	case "config_dir":
		return fmt.Sprintf("/etc/postgresql/%d/main", v)
	case "bin_dir":
		return DefaultBinDir(v)
	}
	return fmt.Sprintf("/var/lib/postgresql/%d/main", v)
}

var (
	debianConfigDir = regexp.MustCompile(`^/etc/postgresql/(\d+)/([^/]+)$`)
	// debianCluster is pg_ctlcluster's VERSION/NAME.
	debianCluster = regexp.MustCompile(`^(\d+)/([^/\s]+)$`)
)

func (l *loader) service(nd *nodeDecl, n *Node, version int) string {
	svc := nd.service.or("")
	switch n.Control {
	case "systemd":
		if !nd.service.present() {
			l.errorf(orRange(nd.control, nd.hdr), "Missing service", "control = \"systemd\" needs the unit that runs the server: add service = \"postgresql@%d-main\" (Debian) or the unit's name.", max(version, catalog.Oldest))
		}
	case "pg_ctlcluster":
		if !nd.service.present() {
			if m := debianConfigDir.FindStringSubmatch(n.ConfigDir); m != nil {
				return m[1] + "/" + m[2]
			}
			l.errorf(orRange(nd.control, nd.hdr), "Missing service", "control = \"pg_ctlcluster\" needs the Debian cluster: add service = \"%d/main\", or a config_dir such as /etc/postgresql/%d/main.", max(version, catalog.Oldest), max(version, catalog.Oldest))
			return ""
		}
		m := debianCluster.FindStringSubmatch(svc)
		switch {
		case nd.service.bad:
		case m == nil:
			l.errorf(nd.service.rng, "Invalid service", "With control = \"pg_ctlcluster\", service is the Debian cluster as VERSION/NAME, such as \"%d/main\"; %q is not.", max(version, catalog.Oldest), svc)
		case version != 0 && m[1] != fmt.Sprint(version):
			l.errorf(nd.service.rng, "Invalid service", "service %q is a PostgreSQL %s cluster, but postgres_version is %d.", svc, m[1], version)
		}
	default:
		if nd.service.set && svc != "" {
			l.warnf(nd.service.rng, "Unused service", "service is used only with control = \"systemd\" or \"pg_ctlcluster\"; with %q it is ignored.", n.Control)
		}
	}
	return svc
}

func orRange[T any](f field[T], def hcl.Range) hcl.Range {
	if f.present() {
		return f.rng
	}
	return def
}

func (l *loader) buildSSH(sd *sshDecl, n *Node) *SSH {
	s := &SSH{
		User:           sd.user.or(""),
		Port:           sd.port.or(0),
		IdentityFile:   sd.identityFile.or(""),
		KnownHostsFile: sd.knownHostsFile.or(""),
	}
	resolve := func(p string, f field[string]) string {
		if p == "" || p == "~" || strings.HasPrefix(p, "~/") || path.IsAbs(p) || !f.set {
			return p
		}
		return path.Join(l.fileDir(f.rng.Filename), p)
	}
	s.IdentityFile = resolve(s.IdentityFile, sd.identityFile)
	if sd.knownHostsFile.set {
		s.KnownHostsFile = resolve(s.KnownHostsFile, sd.knownHostsFile)
	}
	s.Become = sd.become.or("")
	switch {
	case sd.become.set && !slices.Contains(becomes, s.Become):
		l.errorf(sd.become.rng, "Unsupported become", "become must be %s; it is %q.", quoteList(becomes), s.Become)
	case s.Become != "":
	case s.User == n.OSUser:
		s.Become = "none"
	default:
		s.Become = "sudo"
	}
	return s
}

// socketDir is the first of a node's unix_socket_directories, else Debian's.
func socketDir(n *Node) string {
	if s, ok := n.Setting("unix_socket_directories"); ok {
		for _, d := range strings.Split(s.Value, ",") {
			d = strings.Trim(strings.TrimSpace(d), `"`)
			if d != "" && !strings.HasPrefix(d, "@") {
				return d
			}
		}
	}
	return DefaultSocketDir
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$`)

func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return len(h) <= 253 && hostnameRE.MatchString(h)
}

func validAddress(a string) bool {
	if _, err := netip.ParsePrefix(a); err == nil {
		return true
	}
	return validHost(a)
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	if len(q) <= 2 {
		return strings.Join(q, " or ")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func pos(r hcl.Range) Pos { return Pos{File: r.Filename, Line: r.Start.Line, Column: r.Start.Column} }

// short is file:line, for "defined at" details.
func (p Pos) short() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }
