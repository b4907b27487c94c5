package apply

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgrepl/pgrepl/internal/pgtest"
)

func TestLockPath(t *testing.T) {
	for _, c := range []struct{ dataDir, cluster, want string }{
		{"/var/lib/postgresql/15/main", "demo", "/var/lib/postgresql/15/.pgrepl-demo.lock"},
		{"/srv/pg1/", "a b/c", "/srv/.pgrepl-a_b_c.lock"},
	} {
		if got := LockPath(c.dataDir, c.cluster); got != c.want {
			t.Errorf("LockPath(%q, %q) = %q, want %q", c.dataDir, c.cluster, got, c.want)
		}
	}
}

func TestLock(t *testing.T) {
	t.Parallel()
	n, dir := dirNode(t)
	ctx := testCtx(t)
	path := LockPath(filepath.Join(dir, "pg1"), "demo")

	h, err := Lock(ctx, n.Transport, n.Spec.OSUser, "demo", path, LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	content := readFile(t, path)
	for _, want := range []string{"who: " + whoAmI(), fmt.Sprintf("pid: %d", os.Getpid()), "since: ", "token: " + h.Info.Token} {
		if !strings.Contains(content, want) {
			t.Errorf("lock file lacks %q:\n%s", want, content)
		}
	}
	if fi, err := os.Stat(path); err != nil {
		t.Fatal(err)
	} else if owner := fileOwner(t, fi); owner != pgtest.OSUser() {
		t.Errorf("lock file belongs to %s, want %s", owner, pgtest.OSUser())
	}

	// A second apply is refused at once, with who, pid, since and the path.
	_, err = Lock(ctx, n.Transport, n.Spec.OSUser, "demo", path, LockOptions{})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock: %v, want a *LockedError", err)
	}
	re := regexp.MustCompile(`^cluster demo is locked by \S+@\S+ \(pid \d+\) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: another pgrepl apply is running; if it is not, remove ` + regexp.QuoteMeta(path) + ` on local$`)
	if !re.MatchString(err.Error()) {
		t.Errorf("message %q does not match %s", err, re)
	}
	if le.Holder.PID != os.Getpid() || le.Holder.Token != h.Info.Token {
		t.Errorf("holder %+v, want this process's lock", le.Holder)
	}

	// Waiting: the lock is released meanwhile and taken.
	waited := make(chan struct{})
	go func() {
		<-waited
		time.Sleep(300 * time.Millisecond)
		if err := h.Release(ctx); err != nil {
			t.Error(err)
		}
	}()
	told := false
	h2, err := Lock(ctx, n.Transport, n.Spec.OSUser, "demo", path, LockOptions{
		Wait: 20 * time.Second, Poll: 100 * time.Millisecond,
		Waiting: func(*LockedError) { told = true; close(waited) },
	})
	if err != nil {
		t.Fatalf("Lock with wait: %v", err)
	}
	if !told {
		t.Error("Waiting was not called")
	}
	// A wait that runs out is refused.
	start := time.Now()
	if _, err := Lock(ctx, n.Transport, n.Spec.OSUser, "demo", path, LockOptions{Wait: 300 * time.Millisecond, Poll: 50 * time.Millisecond}); !errors.As(err, &le) {
		t.Fatalf("Lock after a wait: %v, want a *LockedError", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("refused after %s, before the wait of 300ms", d)
	}
	if err := h2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock file still there after Release: %v", err)
	}
	// Releasing a lock that someone else took meanwhile leaves theirs.
	h3, err := Lock(ctx, n.Transport, n.Spec.OSUser, "demo", path, LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pgtest.WriteFile(t, path, LockInfo{Who: "ops@elsewhere", PID: 1, Since: time.Now(), Token: "other"}.encode(), 0o600)
	if err := h3.Release(ctx); err == nil || !strings.Contains(err.Error(), "ops@elsewhere") {
		t.Fatalf("Release of a lock taken over: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the other holder's lock was removed: %v", err)
	}
	// A holder on this machine whose process is gone is named as such.
	pgtest.WriteFile(t, path, LockInfo{Who: whoAmI(), PID: deadPID(t), Since: time.Now(), Token: "x"}.encode(), 0o600)
	_, err = Lock(ctx, n.Transport, n.Spec.OSUser, "demo", path, LockOptions{})
	if err == nil || !strings.Contains(err.Error(), "is not running on this machine") {
		t.Fatalf("Lock held by a dead process: %v", err)
	}
	// No stray temporary files.
	names, _ := os.ReadDir(dir)
	for _, e := range names {
		if strings.HasPrefix(e.Name(), ".pgrepl-lock.") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// deadPID is the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}
