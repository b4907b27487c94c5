// Package applytest holds what tests of apply need besides servers: ways to
// make a real pg_basebackup fail half way, and to look at processes.
package applytest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FindProcesses returns the PIDs of the processes whose argv[0] ends in prog
// and whose arguments include arg.
func FindProcesses(prog, arg string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if !strings.HasSuffix(argv[0], prog) {
			continue
		}
		for _, a := range argv[1:] {
			if a == arg {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// KillBasebackupHalfway waits for the pg_basebackup that writes into
// dataDir, lets it run in slices of 20ms (frozen with SIGSTOP in between)
// until it has copied part of the data directory, and kills it (and its
// WAL streaming child) with SIGKILL. So it dies half way, however fast the
// machine copies.
func KillBasebackupHalfway(dataDir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	signal := func(sig syscall.Signal) int {
		n := 0
		for _, pid := range FindProcesses("pg_basebackup", dataDir) {
			if syscall.Kill(pid, sig) == nil {
				n++
			}
		}
		return n
	}
	for signal(syscall.SIGSTOP) == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("no pg_basebackup into %s appeared", dataDir)
		}
		time.Sleep(2 * time.Millisecond)
	}
	// runuser (like su) stops itself when its child stops: resume the
	// parents once the children are dead.
	kill := func() {
		pids := FindProcesses("pg_basebackup", dataDir)
		signal(syscall.SIGKILL)
		for _, pid := range pids {
			if pp := parentPID(pid); pp > 1 {
				_ = syscall.Kill(pp, syscall.SIGCONT)
			}
		}
	}
	for {
		if _, err := os.Stat(filepath.Join(dataDir, "base")); err == nil {
			kill()
			return nil
		}
		if time.Now().After(deadline) {
			kill()
			return fmt.Errorf("pg_basebackup into %s copied nothing in %s", dataDir, timeout)
		}
		if signal(syscall.SIGCONT) == 0 {
			return fmt.Errorf("pg_basebackup into %s ended before it was killed", dataDir)
		}
		time.Sleep(20 * time.Millisecond)
		signal(syscall.SIGSTOP)
	}
}

// parentPID is the parent of pid, from /proc, or 0.
func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// "pid (comm) state ppid …"; comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}
