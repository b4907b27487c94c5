package apply

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// printer writes apply's progress to its output (stdout): one line when a
// step starts ("pg1: restart ..."), one when it ends with its duration
// ("pg1: restart: done (3.2s)"), and, while pg_basebackup runs, its
// progress: a bar redrawn in place on a terminal, else a plain line at most
// every progressEvery.
type printer struct {
	w        io.Writer
	terminal bool
	now      func() time.Time

	mu       sync.Mutex
	bar      bool      // a progress bar is on the current line
	lastLine time.Time // when the last plain progress line was printed
	lastPct  int
}

// progressEvery is the interval of plain progress lines.
const progressEvery = 5 * time.Second

func newPrinter(w io.Writer, terminal bool, now func() time.Time) *printer {
	if w == nil {
		w = io.Discard
	}
	if now == nil {
		now = time.Now
	}
	return &printer{w: w, terminal: terminal, now: now, lastPct: -1}
}

// line prints one line, clearing a progress bar first.
func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearBar()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *printer) clearBar() {
	if p.bar {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.bar = false
	}
}

func (p *printer) start(label string) {
	p.mu.Lock()
	p.lastLine, p.lastPct = time.Time{}, -1
	p.mu.Unlock()
	p.line("%s ...", label)
}

func (p *printer) done(label string, d time.Duration, note string) {
	if note != "" {
		note = "; " + note
	}
	p.line("%s: done (%s)%s", label, FormatDuration(d), note)
}

func (p *printer) failed(label string, d time.Duration) {
	p.line("%s: FAILED (%s)", label, FormatDuration(d))
}

// progress shows a progress report of step label.
func (p *printer) progress(label string, pr Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	amount := fmt.Sprintf("%s of %s", kB(pr.DoneKB), kB(pr.TotalKB))
	if p.terminal {
		const width = 30
		fill := min(width, pr.Percent*width/100)
		bar := strings.Repeat("=", fill)
		if fill < width {
			bar += ">" + strings.Repeat(" ", width-fill-1)
		}
		fmt.Fprintf(p.w, "\r\x1b[K%s [%s] %3d%% %s", label, bar, pr.Percent, amount)
		p.bar = true
		return
	}
	now := p.now()
	if pr.Percent == p.lastPct || (!p.lastLine.IsZero() && now.Sub(p.lastLine) < progressEvery && pr.Percent < 100) {
		return
	}
	p.lastLine, p.lastPct = now, pr.Percent
	fmt.Fprintf(p.w, "%s: %d%% (%s)\n", label, pr.Percent, amount)
}

// kB formats a size given in kB: "512 kB", "12.3 MB", "1.2 GB".
func kB(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d kB", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f MB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1024*1024))
}

// FormatDuration formats a step's duration: "0.4s", "12.3s", "1m05s".
func FormatDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}
