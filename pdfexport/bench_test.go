package pdfexport

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/finkit/finkit/internal/testutil"
)

// benchPages is how many times each benchmark iteration converts the page.
const benchPages = 50

func benchPage(b *testing.B) string {
	b.Helper()
	var sb strings.Builder
	sb.WriteString(`<!doctype html><title>Holdings</title><h1>Holdings report</h1><table>`)
	for i := range 40 {
		fmt.Fprintf(&sb, "<tr><td>Position %d</td><td>%d.%02d EUR</td></tr>", i, 1000+i*37, i)
	}
	sb.WriteString(`</table>`)
	page := sb.String()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	b.Cleanup(ts.Close)
	return ts.URL + "/"
}

// rssSampler samples the summed resident memory of every process whose
// profile is under dir, and keeps the peak.
type rssSampler struct {
	peak atomic.Int64
	stop chan struct{}
	done sync.WaitGroup
}

func sampleRSS(dir string) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	s.done.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			var sum int64
			for _, pid := range processesUsing(dir) {
				sum += vmRSS(pid)
			}
			if sum > s.peak.Load() {
				s.peak.Store(sum)
			}
			select {
			case <-t.C:
			case <-s.stop:
				return
			}
		}
	})
	return s
}

// finish stops sampling and returns the peak in MiB.
func (s *rssSampler) finish() float64 {
	close(s.stop)
	s.done.Wait()
	return float64(s.peak.Load()) / (1 << 20)
}

// vmRSS returns the resident set of pid in bytes, or 0.
func vmRSS(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkConvert converts the same simple page benchPages times per
// iteration (a) through the warm pool with 1, 2 and 4 tabs and (b) the
// naive way, starting a new Chromium for every page as a one-off script
// does. It reports pages/s and the peak resident memory of all Chromium
// processes (summed, so shared pages count more than once).
func BenchmarkConvert(b *testing.B) {
	testutil.RequireChrome(b)
	url := benchPage(b)
	for _, pool := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("warm-pool-%d", pool), func(b *testing.B) {
			ctx := context.Background()
			c, err := New(ctx, Options{PoolSize: pool, RestartAfter: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			// One conversion to warm up before timing.
			if _, err := c.Convert(ctx, url, PageOptions{}); err != nil {
				b.Fatal(err)
			}
			rss := sampleRSS(c.baseDir)
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				var failed atomic.Int32
				for range benchPages {
					wg.Go(func() {
						if _, err := c.Convert(ctx, url, PageOptions{}); err != nil {
							failed.Add(1)
							b.Error(err)
						}
					})
				}
				wg.Wait()
				if failed.Load() > 0 {
					b.Fatalf("%d conversions failed", failed.Load())
				}
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(benchPages*b.N)/elapsed.Seconds(), "pages/s")
			b.ReportMetric(rss.finish(), "peak-RSS-MiB")
		})
	}
	b.Run("naive-new-chromium-per-page", func(b *testing.B) {
		execPath, err := FindBrowser("")
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		rss := sampleRSS(dir)
		b.ResetTimer()
		start := time.Now()
		n := 0
		for b.Loop() {
			for range benchPages {
				n++
				pdf, err := naiveConvert(execPath, filepath.Join(dir, fmt.Sprint("p", n)), url)
				if err != nil {
					b.Fatal(err)
				}
				if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
					b.Fatal("not a PDF")
				}
			}
		}
		elapsed := time.Since(start)
		b.ReportMetric(float64(benchPages*b.N)/elapsed.Seconds(), "pages/s")
		b.ReportMetric(rss.finish(), "peak-RSS-MiB")
	})
}

// naiveConvert is what a one-off script does: start Chromium (same flags as
// the converter), load the page, print it, quit.
func naiveConvert(execPath, profile, url string) ([]byte, error) {
	if err := os.MkdirAll(profile, 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browserOptions(execPath, profile)...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	tctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		return nil, err
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		return nil, err
	}
	return chromedp.Run(tctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4)))
}
