package host

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// RoutePG makes the connections of cfg (and its fallbacks) go through tr, so
// that PostgreSQL is reached as the host sees it: DialFunc dials from the
// host, and LookupFunc passes host names on unresolved, for the host's own
// resolver (a name in /etc/hosts there may mean nothing here).
func RoutePG(cfg *pgconn.Config, tr Transport) {
	cfg.DialFunc = tr.DialContext
	cfg.LookupFunc = func(_ context.Context, host string) ([]string, error) {
		return []string{host}, nil
	}
}
