package apply

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/spec"
)

// Node is one spec node as apply reaches it: the host through Transport
// (whose file operations act as the node's OS user) and the server through
// Connect.
type Node struct {
	Spec      *spec.Node
	Transport host.Transport
	// Connect opens an administrative (superuser) connection to the node's
	// server. Steps open a connection of their own and close it, since a
	// restart ends every connection.
	Connect func(ctx context.Context) (*pgx.Conn, error)
}

// Name is the spec node's name.
func (n *Node) Name() string { return n.Spec.Name }

// StampLayout formats the UTC timestamps that name backups and moved-aside
// data directories: "20261125T224837Z".
const StampLayout = "20060102T150405Z"

// Stamp formats t for names of backups and moved-aside directories.
func Stamp(t time.Time) string { return t.UTC().Format(StampLayout) }
