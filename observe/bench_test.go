package observe

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pgrepl/pgrepl/host"
	"github.com/pgrepl/pgrepl/internal/pgtest"
	"github.com/pgrepl/pgrepl/internal/sshtest"
	"github.com/pgrepl/pgrepl/spec"
)

// BenchmarkObserve measures a whole observation (a new pool each time, as
// "pgrepl state" makes one) of a primary and one standby against a primary
// and eight: nodes are observed in parallel, so the second should cost far
// less than the 4.5 times as many nodes. The standbys are stand-alone
// servers on 127.0.0.3 to 127.0.0.10 (what is observed is the same as for a
// replica, and they start faster). Over SSH each node is its own host, with
// an sshd of its own.
//
// On a small machine the nodes' servers and the observation share the same
// few cores, so the eight standbys cost more than on a real network, where
// a node's time is mostly round trips: local/probe and local/server show
// the two parts of one node's cost.
func BenchmarkObserve(b *testing.B) {
	servers := []*pgtest.Server{pgtest.Start(b, pgtest.Options{Host: "127.0.0.2"})}
	for i := 3; i <= 10; i++ {
		servers = append(servers, pgtest.Start(b, pgtest.Options{Host: fmt.Sprintf("127.0.0.%d", i)}))
	}
	nodes := make([]node, len(servers))
	for i, s := range servers {
		kind := "standby"
		if i == 0 {
			kind = "primary"
		}
		nodes[i] = serverNode(kind, fmt.Sprintf("pg%d", i+1), s)
	}
	specs := func(nodes []node) map[int]*spec.Spec {
		one, _ := writeSpec(b, specText(nodes[:2]...))
		eight, _ := writeSpec(b, specText(nodes...))
		return map[int]*spec.Spec{1: one, 8: eight}
	}
	local := specs(nodes)
	sshNodes := make([]node, len(nodes))
	for i, n := range nodes {
		srv := sshtest.Start(b, sshtest.Options{Host: n.host})
		sshNodes[i] = n.viaSSH(srv, "root", "sudo")
	}
	remote := specs(sshNodes)

	// The parts of one node's observation, for the figures above: the
	// host's probe, and the server's (a fresh backend and its queries).
	pg1 := local[1].Clusters[0].Primary
	partsPool := host.NewPool()
	b.Cleanup(func() { partsPool.Close() })
	tr, err := Transport(context.Background(), partsPool, pg1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("local/probe", func(b *testing.B) {
		o := &nodeObserver{n: pg1}
		for b.Loop() {
			if _, err := runProbe(testCtx(b), tr, pg1.OSUser, []probeTarget{o.target()}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("local/server", func(b *testing.B) {
		for b.Loop() {
			if _, err := observeServer(testCtx(b), tr, local[1].Clusters[0], pg1); err != nil {
				b.Fatal(err)
			}
		}
	})

	for _, tc := range []struct {
		name  string
		specs map[int]*spec.Spec
	}{{"local", local}, {"ssh", remote}} {
		for _, standbys := range []int{1, 8} {
			sp := tc.specs[standbys]
			b.Run(fmt.Sprintf("%s/1+%d", tc.name, standbys), func(b *testing.B) {
				ctx := testCtx(b)
				before := machineCPU(b)
				for b.Loop() {
					pool := host.NewPool()
					st, err := Observe(ctx, sp, pool, Options{})
					pool.Close()
					if err != nil {
						b.Fatal(err)
					}
					if n := len(st.Clusters[0].Nodes); n != 1+standbys || !st.Clusters[0].Nodes[n-1].Server.Up {
						b.Fatalf("observed %d nodes, last up: %v", n, st.Clusters[0].Nodes[n-1].Server.Up)
					}
				}
				// The whole machine's CPU time (servers, sshd, probes, and
				// this process): on two cores it bounds the wall time.
				b.ReportMetric(float64(machineCPU(b)-before)/float64(b.N), "machine-cpu-ns/op")
			})
		}
	}
}

// machineCPU is the CPU time every process of the machine has spent, in
// nanoseconds (user, nice and system time of /proc/stat).
func machineCPU(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Skipf("no machine CPU time: %v", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "cpu" {
		b.Fatalf("unexpected /proc/stat: %q", line)
	}
	var ticks int64
	for _, v := range f[1:4] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("unexpected /proc/stat: %q", line)
		}
		ticks += n
	}
	// USER_HZ is 100 on Linux.
	return ticks * 10_000_000
}
