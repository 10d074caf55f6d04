package upload

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// csvSource yields n bytes of CSV text without holding them in memory:
// a 1 MiB block of whole lines, repeated.
type csvSource struct {
	n     int64
	block []byte
	pos   int
}

var csvBlock = func() []byte {
	line := []byte("2024-01-02,ACME,buy,12.5,100.25,0.99\n")
	return bytes.Repeat(line, (1<<20)/len(line))
}()

func newCSVSource(n int64) *csvSource { return &csvSource{n: n, block: csvBlock} }

func (s *csvSource) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), s.n)]
	k := copy(p, s.block[s.pos:])
	s.pos = (s.pos + k) % len(s.block)
	s.n -= int64(k)
	return k, nil
}

// streamUpload posts n bytes as one streamed multipart file and returns
// the upload id.
func streamUpload(tb testing.TB, client *http.Client, url string, n int64) string {
	tb.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, err := mw.CreateFormFile("file", "big.csv")
		if err == nil {
			_, err = io.CopyBuffer(w, newCSVSource(n), make([]byte, 256<<10))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, url+"/uploads", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer admin")
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		tb.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	s := string(body)
	i := strings.Index(s, `"id":"`)
	return s[i+6 : i+6+26]
}

// bigWrites is a client that writes request bodies to the socket in 1 MiB
// steps (the default transport's 4 KiB buffer makes 32 KiB writes).
var bigWrites = &http.Client{Transport: &http.Transport{WriteBufferSize: 1 << 20, MaxIdleConnsPerHost: 32}}

func benchManager(b *testing.B, maxFile int64) (*Manager, *httptest.Server) {
	b.Helper()
	fsys, err := OpenFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(context.Background(), Options{Dir: fsys, Authorize: testAuth, MaxFileSize: maxFile, MaxRequestSize: maxFile + 1<<20, QueueSize: 1000, Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	b.Cleanup(func() { srv.Close(); _ = m.Shutdown(context.Background()); _ = fsys.Close() })
	return m, srv
}

// waitStored waits for the job to store the file, then deletes it so the
// next iteration starts from an empty disk.
func waitStored(tb testing.TB, m *Manager, id string) {
	tb.Helper()
	for {
		u, err := m.Get(context.Background(), id)
		if err != nil {
			tb.Fatal(err)
		}
		if u.State.Terminal() {
			if err := m.Delete(context.Background(), Principal{}, id); err != nil {
				tb.Fatal(err)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkUpload1GiB compares a 1 GiB upload over loopback HTTP (streamed
// multipart, SHA-256 and type checks in the same pass, fsync, until the
// 202) with a plain io.Copy of the same bytes into a file.
func BenchmarkUpload1GiB(b *testing.B) {
	const size = 1 << 30
	b.Run("intake", func(b *testing.B) {
		m, srv := benchManager(b, size)
		b.SetBytes(size)
		defer reportCPU(b)()
		for b.Loop() {
			id := streamUpload(b, bigWrites, srv.URL, size)
			b.StopTimer()
			waitStored(b, m, id)
			b.StartTimer()
		}
	})
	b.Run("io.Copy", func(b *testing.B) {
		dir := b.TempDir()
		b.SetBytes(size)
		defer reportCPU(b)()
		for b.Loop() {
			f, err := os.Create(filepath.Join(dir, "copy"))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(f, newCSVSource(size)); err != nil {
				b.Fatal(err)
			}
			f.Close()
			b.StopTimer()
			os.Remove(f.Name())
			b.StartTimer()
		}
	})
	// The honest ceiling over loopback HTTP: a plain net/http handler that
	// copies the request body (the same multipart stream) into a file.
	b.Run("http+io.Copy", func(b *testing.B) {
		dir := b.TempDir()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f, err := os.Create(filepath.Join(dir, "copy"))
			if err == nil {
				_, err = io.Copy(f, r.Body)
				f.Close()
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"uploads":[{"id":"00000000000000000000000000"}]}`)
		}))
		defer srv.Close()
		b.SetBytes(size)
		defer reportCPU(b)()
		for b.Loop() {
			streamUpload(b, bigWrites, srv.URL, size)
			b.StopTimer()
			os.Remove(filepath.Join(dir, "copy"))
			b.StartTimer()
		}
	})
	// The same with what the intake adds for durability: fsync.
	b.Run("io.Copy+fsync", func(b *testing.B) {
		dir := b.TempDir()
		b.SetBytes(size)
		defer reportCPU(b)()
		for b.Loop() {
			f, err := os.Create(filepath.Join(dir, "copy"))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(f, newCSVSource(size)); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
			b.StopTimer()
			os.Remove(f.Name())
			b.StartTimer()
		}
	})
}

// reportCPU reports the process's CPU time (user and system, all threads)
// per iteration: on a machine shared with other work, wall-clock
// throughput says more about the neighbours than about the code.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConcurrentUploads: total throughput of 1, 4 and 16 clients
// each uploading 32 MiB at once.
func BenchmarkConcurrentUploads(b *testing.B) {
	const size = 32 << 20
	for _, n := range []int{1, 4, 16} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			m, srv := benchManager(b, size)
			b.SetBytes(int64(n) * size)
			defer reportCPU(b)()
			for b.Loop() {
				var wg sync.WaitGroup
				ids := make([]string, n)
				for i := range n {
					wg.Go(func() { ids[i] = streamUpload(b, bigWrites, srv.URL, size) })
				}
				wg.Wait()
				b.StopTimer()
				for _, id := range ids {
					waitStored(b, m, id)
				}
				b.StartTimer()
			}
		})
	}
}

const rssChildEnv = "FINKIT_UPLOAD_RSS_CHILD"

// TestRSSChild is the server of BenchmarkPeakRSS; it does nothing in a
// normal run.
func TestRSSChild(t *testing.T) {
	dir := os.Getenv(rssChildEnv)
	if dir == "" {
		t.Skip("run by BenchmarkPeakRSS")
	}
	fsys, err := OpenFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(context.Background(), Options{Dir: fsys, Authorize: testAuth, MaxFileSize: 2 << 30, MaxRequestSize: 2 << 30})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	fmt.Printf("ADDR %s\n", srv.URL)
	select {}
}

// peakRSS uploads n bytes to a fresh server process and returns the
// process's peak resident set (VmHWM) in MiB.
func peakRSS(b *testing.B, n int64) float64 {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRSSChild$", "-test.v")
	cmd.Env = append(os.Environ(), rssChildEnv+"="+b.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	url := ""
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			url = u
			break
		}
	}
	if url == "" {
		b.Fatal("the child printed no address")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	streamUpload(b, http.DefaultClient, url, n)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Skip("no /proc: ", err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// BenchmarkPeakRSS: the server's peak memory for a 100 MiB and a 1 GiB
// upload must be about the same (streaming: memory does not grow with the
// file).
func BenchmarkPeakRSS(b *testing.B) {
	var small, big float64
	for b.Loop() {
		small = peakRSS(b, 100<<20)
		big = peakRSS(b, 1<<30)
	}
	b.ReportMetric(small, "MiB-peak-100MiB")
	b.ReportMetric(big, "MiB-peak-1GiB")
	if d := big - small; d > 32 || d < -32 {
		b.Fatalf("peak RSS differs by %.1f MiB (100 MiB upload: %.1f MiB, 1 GiB upload: %.1f MiB)", d, small, big)
	}
}
