// Package suggest finds the "did you mean …" for a misspelt name.
package suggest

import (
	"strings"

	"github.com/agext/levenshtein"
)

// Closest returns the candidate nearest to given (case-insensitively), or ""
// when none is close enough to be a plausible typo: about one edit in three
// characters, as hcl's own suggestions allow.
func Closest(given string, candidates []string) string {
	given = strings.ToLower(given)
	best, bestDist := "", 0
	for _, c := range candidates {
		d := levenshtein.Distance(given, strings.ToLower(c), nil)
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > 1+len(given)/3 {
		return ""
	}
	return best
}
