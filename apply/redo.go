package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgrepl/pgrepl/confparse"
	"github.com/pgrepl/pgrepl/internal/redact"
	"github.com/pgrepl/pgrepl/plan"
	"github.com/pgrepl/pgrepl/spec"
)

// redoEdit computes a config file edit again on n's real files. The plan's
// content came from an observation in which a password was masked (the
// observer keeps secrets out of a State), so it is not the file to write:
// the edit's settings are set again, with the same minimal edit
// (confparse's SetWinning, as the planner does), on the files as they are.
// It returns the file's real bytes before and after the edit, and the
// passwords of the primary_conninfo lines the configuration holds.
func redoEdit(ctx context.Context, n *Node, ch *plan.Change) (before, after []byte, passwords []string, err error) {
	if ch.File.Kind == plan.KindHBA || len(ch.Settings) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: %s holds a password, which the plan could not see, and only setting edits can be made again on the real file; edit it by hand as the plan's diff shows", n.Name(), ch.Path)
	}
	configFile, err := configFileOf(ctx, n)
	if err != nil {
		return nil, nil, nil, err
	}
	conf, err := confparse.Load(transportReader{ctx: ctx, n: n}, configFile, n.Spec.DataDir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: read the configuration again: %w", n.Name(), err)
	}
	f := conf.File(ch.Path)
	if f == nil {
		return nil, nil, nil, fmt.Errorf("%s: PostgreSQL does not read %s", n.Name(), ch.Path)
	}
	before = f.Bytes()
	passwords = redact.ConfPasswords(conf)
	for _, s := range ch.Settings {
		if strings.Contains(s.New, spec.Redacted) {
			return nil, nil, nil, fmt.Errorf("%s: the new value of %s in %s is a secret the plan does not hold", n.Name(), s.Name, ch.Path)
		}
		p, _, err := conf.SetWinning(s.Name, confparse.QuoteValue(s.New))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: set %s again in %s: %w", n.Name(), s.Name, ch.Path, err)
		}
		if p != ch.Path {
			return nil, nil, nil, fmt.Errorf("%s: on the real files, %s would be set in %s, not in %s as planned; plan again", n.Name(), s.Name, p, ch.Path)
		}
	}
	return before, conf.File(ch.Path).Bytes(), passwords, nil
}

// configFileOf is the postgresql.conf n's server reads: config_file when it
// runs, else the one in its config_dir.
func configFileOf(ctx context.Context, n *Node) (string, error) {
	if up, err := Running(ctx, n); err == nil && up && n.Connect != nil {
		var cf string
		err := withConn(ctx, n, func(c *pgx.Conn) error { return c.QueryRow(ctx, "SHOW config_file").Scan(&cf) })
		if err == nil {
			return cf, nil
		}
	}
	return path.Join(n.Spec.ConfigDir, "postgresql.conf"), nil
}

// transportReader reads config files through a node's transport, for
// confparse.
type transportReader struct {
	ctx context.Context
	n   *Node
}

func (r transportReader) ReadFile(p string) ([]byte, error) {
	return r.n.Transport.ReadFile(r.ctx, p)
}

// ReadDir lists the entries of p that are not directories (include_dir
// skips subdirectories). Only the names include_dir takes (*.conf, not
// hidden) cost a stat, a round trip to the host; the others are passed on
// for confparse to ignore.
func (r transportReader) ReadDir(p string) ([]string, error) {
	names, err := r.n.Transport.ReadDir(r.ctx, p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		if !confparse.IncludeDirTakes(name) {
			out = append(out, name)
			continue
		}
		fi, err := r.n.Transport.Stat(r.ctx, path.Join(p, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, name)
		}
	}
	return out, nil
}
