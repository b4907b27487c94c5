package cli

import (
	"context"

	"github.com/pgrepl/pgrepl/host"
	obs "github.com/pgrepl/pgrepl/observe"
	"github.com/pgrepl/pgrepl/spec"
	"github.com/pgrepl/pgrepl/state"
)

// observe reads the State of every node of sp, each node through its own
// transport (one SSH connection per host), all at once. On error the State
// holds what could be read, for display; nothing may be planned from it.
func observe(ctx context.Context, sp *spec.Spec) (*state.State, error) {
	pool := host.NewPool()
	defer pool.Close()
	return obs.Observe(ctx, sp, pool, obs.Options{})
}
