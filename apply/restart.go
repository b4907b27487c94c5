package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RestartError is a restart that failed to bring the server up, and what
// the rollback did about it.
type RestartError struct {
	Node string
	// Err is the failure of the start, with the server's log.
	Err error
	// Restored are the files put back to their previous versions.
	Restored []Backup
	// RollbackErr is why the rollback failed (a file could not be put
	// back, or the server did not start with the previous files); nil when
	// the server runs again with its previous config.
	RollbackErr error
}

func (e *RestartError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v", e.Err)
	if len(e.Restored) > 0 {
		var files []string
		for _, r := range e.Restored {
			if r.Copy != "" {
				files = append(files, r.Path+" (from "+r.Copy+")")
			} else {
				files = append(files, r.Path+" (new; moved aside)")
			}
		}
		fmt.Fprintf(&b, "\nrollback: put back %s", strings.Join(files, ", "))
	}
	if e.RollbackErr != nil {
		fmt.Fprintf(&b, "\nrollback failed: %v", e.RollbackErr)
	} else {
		fmt.Fprintf(&b, "\nrollback: %s runs again with its previous config", e.Node)
	}
	return b.String()
}

func (e *RestartError) Unwrap() error { return e.Err }

// RestartWithRollback stops and starts n's server. When the start fails,
// the files of backups (those this apply changed on n) are put back, newest
// first, and the server is started again; the *RestartError reports both
// the failure and the rollback. A stop that fails is returned as it is: the
// server still runs on its old config, nothing to roll back.
func RestartWithRollback(ctx context.Context, n *Node, backups []Backup, stamp string, timeout time.Duration) error {
	if err := Control(ctx, n, OpStop, timeout); err != nil {
		return err
	}
	startErr := Control(ctx, n, OpStart, timeout)
	if startErr == nil {
		return nil
	}
	re := &RestartError{Node: n.Name(), Err: startErr}
	// The rollback runs even when ctx ended: a server left down on a
	// config it rejects is worse than a late return.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout+time.Minute)
	defer cancel()
	if up, err := Running(rctx, n); err != nil {
		re.RollbackErr = err
		return re
	} else if up {
		// Started but never answered: stop it before changing its files.
		if err := Control(rctx, n, OpStop, timeout); err != nil {
			re.RollbackErr = fmt.Errorf("stop the server that did not answer: %w", err)
			return re
		}
	}
	for i := len(backups) - 1; i >= 0; i-- {
		if err := backups[i].Restore(rctx, n, stamp); err != nil {
			re.RollbackErr = errors.Join(re.RollbackErr, err)
			continue
		}
		re.Restored = append(re.Restored, backups[i])
	}
	if re.RollbackErr != nil {
		return re
	}
	if err := Control(rctx, n, OpStart, timeout); err != nil {
		re.RollbackErr = fmt.Errorf("start with the previous config: %w", err)
	}
	return re
}
