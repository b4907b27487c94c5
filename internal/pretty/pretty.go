// Package pretty formats quantities for people, the way PostgreSQL's own
// functions do, so that what pgrepl prints reads like what a DBA sees in psql.
package pretty

import "fmt"

// Bytes formats a byte count as pg_size_pretty does: whole numbers, "bytes"
// below 10 kB, then kB, MB, GB, TB (powers of 1024), each unit until the value
// reaches 10240 of it, rounded half up.
func Bytes(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	const limit = 10 * 1024
	s := fmt.Sprintf("%d bytes", n)
	if n >= limit {
		v := n
		for _, unit := range []string{"kB", "MB", "GB", "TB", "PB"} {
			// Halve-round at each step, as pg_size_pretty's half_rounded.
			v = (v + 512) / 1024
			if v < limit || unit == "PB" {
				s = fmt.Sprintf("%d %s", v, unit)
				break
			}
		}
	}
	if neg {
		return "-" + s
	}
	return s
}

// Count formats n with the noun that fits it: "1 standby", "3 standbys".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
