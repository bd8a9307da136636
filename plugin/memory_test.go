package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/fakees"
	"github.com/nri-audit/nri-audit/internal/flbhost"
)

// chunkLimit is FLB_INPUT_CHUNK_FS_MAX_SIZE, Fluent Bit's chunk size.
const chunkLimit = 2048000

const loadFlushes = 300

// rssProfile is what one load run reports, in KiB: RSS after Init, the
// mean of the samples over flushes 101-200 and over 201-300 (the first 100
// let the Go heap settle at its GC goal), the peak overall. Means, not
// peaks, tell growth: with two workers a window's peak depends on whether
// two flushes' garbage meets one GC cycle, and moves by ±8 MiB run to run
// in both directions, while a leak moves every sample.
type rssProfile struct{ init, middle, last, peak int }

func (p rssProfile) added() int { return p.peak - p.init }

func profile(res *flbhost.Result) rssProfile {
	var p rssProfile
	var sum, n [2]int
	for _, l := range res.Of("rss") {
		kb := l.Int("rss_kb")
		ph := l.Get("phase")
		if ph == "init" {
			p.init = kb
		}
		if f, ok := strings.CutPrefix(ph, "flush"); ok && f != "ed" {
			switch i, _ := strconv.Atoi(f); {
			case i > 100 && i <= 200:
				sum[0], n[0] = sum[0]+kb, n[0]+1
			case i > 200:
				sum[1], n[1] = sum[1]+kb, n[1]+1
			}
		}
		if ph != "loaded" {
			p.peak = max(p.peak, kb)
		}
	}
	if n[0] > 0 && n[1] > 0 {
		p.middle, p.last = sum[0]/n[0], sum[1]/n[1]
	}
	return p
}

// Sustained load through the C host: 300 flushes of ~2 MB in_systemd
// chunks. The RSS the plugin adds — growth over the process's RSS after
// Init, minus what the host itself adds under the same load (its malloc'd
// chunk copies, measured with flushes the plugin rejects at once) — must
// stay within 50 MiB with workers 1 (the shipped configuration; a generous
// 80 MiB with workers 2, which keeps two chunks and two bulk bodies in
// flight) and must not keep growing once the Go heap has settled.
func TestSustainedLoadRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	es := fakees.Start(t)
	es.SetDiscard(true)
	var entries []*audit.Entry
	size := 0
	for seed := uint64(1); size < chunkLimit-8<<10; seed++ {
		for _, e := range genEntries(500, 1000+seed) {
			n := len(chunkOf([]*audit.Entry{e}))
			if size+n > chunkLimit {
				break
			}
			entries = append(entries, e)
			size += n
		}
	}
	chunk := writeChunk(t, chunkOf(entries))
	for _, tc := range []struct{ workers, budgetMiB int }{{1, 50}, {2, 80}} {
		t.Run("workers"+strconv.Itoa(tc.workers), func(t *testing.T) {
			load := func(nullCtx bool) (*flbhost.Result, rssProfile) {
				o := flbhost.Output{NullCtx: nullCtx, Chunks: []flbhost.Chunk{{Path: chunk, Repeat: loadFlushes}}}
				o.Set("url", es.URL).Set("workers", strconv.Itoa(tc.workers))
				res := run(t, &flbhost.Scenario{RSSEvery: 20, Outputs: []flbhost.Output{o}}, 0, nil)
				return res, profile(res)
			}
			created := es.Stats().Created
			_, host := load(true)
			res, p := load(false)
			if r := results(res); r["OK"] != loadFlushes {
				t.Fatalf("results %v\n%s", r, res)
			}
			if got := es.Stats().Created - created; got != loadFlushes*len(entries) {
				t.Fatalf("created %d, want %d", got, loadFlushes*len(entries))
			}
			added := (p.peak - p.init) - (host.peak - host.init)
			t.Logf("%d flushes of %d bytes (%d records), workers %d: process RSS %d KiB after Init, mean %d KiB over flushes 101-200, %d KiB over 201-300; host alone +%d KiB; plugin adds %d KiB (%.1f MiB)",
				loadFlushes, size, len(entries), tc.workers, p.init, p.middle, p.last, host.peak-host.init, added, float64(added)/1024)
			if added > tc.budgetMiB<<10 {
				t.Fatalf("sustained load: the plugin added %d KiB RSS, budget %d MiB", added, tc.budgetMiB)
			}
			if p.middle == 0 || p.last == 0 {
				t.Fatalf("no RSS samples over flushes 101-300\n%s", res)
			}
			// 8 MiB, or a quarter of what the plugin adds (~11 MiB with two
			// workers): a leak of 128 KiB per flush, a sixteenth of a
			// chunk, still shows over 100 flushes.
			if p.last-p.middle > max(8<<10, added/4) {
				t.Fatalf("RSS keeps growing: mean %d KiB over flushes 101-200, %d KiB over 201-300", p.middle, p.last)
			}
		})
	}
}
