package upload

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Client uploads files to a server running Handler: small files in one
// streamed multipart request, large ones through tus in chunks, resuming
// after a dropped connection. The zero value is not usable: set BaseURL.
type Client struct {
	// BaseURL is where the server mounts Handler, such as
	// "http://localhost:8080/uploads".
	BaseURL string
	// Token, when set, is sent as "Authorization: Bearer TOKEN".
	Token string
	// HTTP is the HTTP client; nil means http.DefaultClient.
	HTTP *http.Client
	// ResumableOver: files larger than this go through tus; 0 means 8 MiB,
	// a negative value never.
	ResumableOver int64
	// ChunkSize is the size of a tus PATCH; 0 means 4 MiB.
	ChunkSize int64
	// Retries is how often a failed tus chunk is retried (after asking
	// the server for its offset), and how often a request answered 503
	// (queue full, storage unavailable: nothing was stored) is sent again;
	// 0 means 3, a negative value never.
	Retries int
	// MaxRetryWait caps the wait before a retry, which is otherwise the
	// server's Retry-After; 0 means 30 s.
	MaxRetryWait time.Duration
	// Fields are sent with each file: form fields, or tus metadata.
	Fields map[string]string
	// Resume, when set, remembers unfinished tus uploads by the key given
	// to SendResumable, so that an upload cut off in one run (the process
	// killed) is continued in the next instead of started again.
	Resume ResumeStore
}

// ResumeStore keeps the locations of unfinished tus uploads across runs.
// Keys are chosen by the caller to name a file's content (FileResumeKey).
type ResumeStore interface {
	Load(key string) (location string, ok bool)
	Save(key, location string) error
	Forget(key string) error
}

// ResponseError is a server's error answer.
type ResponseError struct {
	Status  int
	Message string
	// RetryAfter is the server's Retry-After of a 503, or 0.
	RetryAfter time.Duration
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("upload: server answered %d: %s", e.Status, e.Message)
}

// Retryable reports whether the request may simply be sent again later:
// a 503 (the server's queue is full, or its storage is unavailable), for
// which the server stored nothing.
func (e *ResponseError) Retryable() bool { return e.Status == http.StatusServiceUnavailable }

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) url(path string) string { return strings.TrimSuffix(c.BaseURL, "/") + path }

func (c *Client) do(req *http.Request) (*http.Response, error) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return c.http().Do(req)
}

func responseError(resp *http.Response) error {
	var body struct{ Error string }
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body)
	if body.Error == "" {
		body.Error = http.StatusText(resp.StatusCode)
	}
	re := &ResponseError{Status: resp.StatusCode, Message: body.Error}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 && re.Retryable() {
		re.RetryAfter = time.Duration(min(secs, 3600)) * time.Second
	}
	return re
}

func (c *Client) retries() int {
	switch {
	case c.Retries == 0:
		return 3
	case c.Retries < 0:
		return 0
	}
	return c.Retries
}

// pause waits before retry number n (from 1) after err: the server's
// Retry-After when it sent one, else 200 ms × n, at most MaxRetryWait.
func (c *Client) pause(ctx context.Context, err error, n int) error {
	wait := time.Duration(n) * 200 * time.Millisecond
	if re, ok := errors.AsType[*ResponseError](err); ok && re.RetryAfter > 0 {
		wait = re.RetryAfter
	}
	limit := c.MaxRetryWait
	if limit <= 0 {
		limit = 30 * time.Second
	}
	t := time.NewTimer(min(wait, limit))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withRetry runs send again, after a pause, while it fails with a
// retryable answer (a 503: nothing was stored), up to c.retries() times.
func withRetry[T any](ctx context.Context, c *Client, send func() (T, error)) (T, error) {
	for n := 1; ; n++ {
		v, err := send()
		re, ok := errors.AsType[*ResponseError](err)
		if err == nil || !ok || !re.Retryable() || n > c.retries() {
			return v, err
		}
		if perr := c.pause(ctx, err, n); perr != nil {
			return v, err
		}
	}
}

// Send uploads size bytes of r under name and returns the queued upload.
// progress, when set, is called with the bytes sent so far.
func (c *Client) Send(ctx context.Context, name string, r io.ReaderAt, size int64, progress func(sent int64)) (Upload, error) {
	return c.SendResumable(ctx, "", name, r, size, progress)
}

// SendResumable is Send for content named by key (empty: none): with
// c.Resume set, a tus upload of the same key left unfinished, by this or
// an earlier process, is continued from the server's offset.
func (c *Client) SendResumable(ctx context.Context, key, name string, r io.ReaderAt, size int64, progress func(sent int64)) (Upload, error) {
	if progress == nil {
		progress = func(int64) {}
	}
	limit := c.ResumableOver
	if limit == 0 {
		limit = 8 << 20
	}
	if limit > 0 && size > limit {
		id, err := c.sendTus(ctx, key, name, r, size, progress)
		if err != nil {
			return Upload{}, err
		}
		return c.Status(ctx, id)
	}
	return withRetry(ctx, c, func() (Upload, error) {
		return c.sendMultipart(ctx, name, io.NewSectionReader(r, 0, size), progress)
	})
}

// countingReader reports progress as it is read.
type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.progress(c.n)
	return n, err
}

func (c *Client) sendMultipart(ctx context.Context, name string, r io.Reader, progress func(int64)) (Upload, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := writeForm(mw, c.Fields, name, &countingReader{r: r, progress: progress})
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(""), pr)
	if err != nil {
		pr.CloseWithError(err)
		return Upload{}, fmt.Errorf("upload: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.do(req)
	pr.CloseWithError(errors.New("request ended")) // stops the writer if the server answered early
	if err != nil {
		return Upload{}, fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return Upload{}, responseError(resp)
	}
	var out struct{ Uploads []Upload }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Uploads) != 1 {
		return Upload{}, fmt.Errorf("upload: unexpected answer (%v)", err)
	}
	return out.Uploads[0], nil
}

func writeForm(mw *multipart.Writer, fields map[string]string, name string, r io.Reader) error {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := mw.WriteField(k, fields[k]); err != nil {
			return err
		}
	}
	w, err := mw.CreateFormFile("file", name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	return mw.Close()
}

func (c *Client) tusRequest(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	req.Header.Set("Tus-Resumable", tusVersion)
	return req, nil
}

// sendTus creates a tus upload and sends it chunk by chunk; a failed chunk
// is retried from the offset the server reports.
func (c *Client) sendTus(ctx context.Context, key, name string, r io.ReaderAt, size int64, progress func(int64)) (string, error) {
	if c.Resume == nil {
		key = ""
	}
	if key != "" {
		key = c.BaseURL + " " + key // a location belongs to one server
	}
	var loc string
	var offset int64
	if key != "" {
		if l, ok := c.Resume.Load(key); ok {
			if off, n, err := c.tusHead(ctx, l); err == nil && n == size && off >= 0 && off <= size {
				loc, offset = l, off // expired or foreign uploads start afresh
				progress(offset)
			}
		}
	}
	if loc == "" {
		var err error
		if loc, err = withRetry(ctx, c, func() (string, error) { return c.tusCreate(ctx, name, size) }); err != nil {
			return "", err
		}
		if key != "" {
			_ = c.Resume.Save(key, loc) // without it, only this run can resume
		}
	}
	chunk := c.ChunkSize
	if chunk <= 0 {
		chunk = 4 << 20
	}
	// The upload is done when a PATCH is answered with the full offset:
	// the answer to the last one says the server recorded the upload. When
	// that answer fails (a 503: the storage was unavailable), the server
	// still has all the bytes, and an empty PATCH at the end completes it.
	failures := 0
	for done := false; !done; {
		next, err := c.tusPatch(ctx, loc, r, offset, min(chunk, size-offset))
		if err == nil {
			offset, failures = next, 0
			progress(offset)
			done = offset >= size
			continue
		}
		var re *ResponseError
		if ctx.Err() != nil || errors.As(err, &re) && re.Status != http.StatusConflict && re.Status < 500 || failures >= c.retries() {
			return "", err
		}
		failures++
		if perr := c.pause(ctx, err, failures); perr != nil {
			return "", err
		}
		// The HEAD completes an upload that has all its bytes; it fails
		// with a 503 while the storage is still down.
		if offset, err = withRetry(ctx, c, func() (int64, error) { return c.tusOffset(ctx, loc) }); err != nil {
			return "", err
		}
	}
	if key != "" {
		_ = c.Resume.Forget(key)
	}
	return loc[strings.LastIndex(loc, "/")+1:], nil
}

func (c *Client) tusCreate(ctx context.Context, name string, size int64) (string, error) {
	req, err := c.tusRequest(ctx, http.MethodPost, c.url("/tus/"), nil)
	if err != nil {
		return "", err
	}
	meta := []string{"filename " + base64.StdEncoding.EncodeToString([]byte(name))}
	for k, v := range c.Fields {
		meta = append(meta, k+" "+base64.StdEncoding.EncodeToString([]byte(v)))
	}
	sort.Strings(meta[1:])
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	req.Header.Set("Upload-Metadata", strings.Join(meta, ","))
	resp, err := c.do(req)
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", responseError(resp)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return "", errors.New("upload: the server sent no upload location")
	}
	base, _ := url.Parse(c.BaseURL)
	return base.ResolveReference(loc).String(), nil
}

func (c *Client) tusPatch(ctx context.Context, loc string, r io.ReaderAt, offset, n int64) (int64, error) {
	sum := sha256.New()
	if _, err := io.Copy(sum, io.NewSectionReader(r, offset, n)); err != nil {
		return 0, fmt.Errorf("upload: read: %w", err)
	}
	req, err := c.tusRequest(ctx, http.MethodPatch, loc, io.NewSectionReader(r, offset, n))
	if err != nil {
		return 0, err
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", tusContentType)
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	req.Header.Set("Upload-Checksum", "sha256 "+base64.StdEncoding.EncodeToString(sum.Sum(nil)))
	resp, err := c.do(req)
	if err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return 0, responseError(resp)
	}
	return parseTusSize(resp.Header.Get("Upload-Offset"))
}

func (c *Client) tusOffset(ctx context.Context, loc string) (int64, error) {
	off, _, err := c.tusHead(ctx, loc)
	return off, err
}

// tusHead asks the server for an upload's offset and length.
func (c *Client) tusHead(ctx context.Context, loc string) (offset, length int64, err error) {
	req, err := c.tusRequest(ctx, http.MethodHead, loc, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("upload: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, &ResponseError{Status: resp.StatusCode, Message: "cannot resume the upload"}
	}
	if offset, err = parseTusSize(resp.Header.Get("Upload-Offset")); err != nil {
		return 0, 0, err
	}
	length, err = parseTusSize(resp.Header.Get("Upload-Length"))
	return offset, length, err
}

// Status returns an upload's status.
func (c *Client) Status(ctx context.Context, id string) (Upload, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/"+url.PathEscape(id)), nil)
	if err != nil {
		return Upload{}, fmt.Errorf("upload: %w", err)
	}
	resp, err := c.do(req)
	if err != nil {
		return Upload{}, fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Upload{}, responseError(resp)
	}
	var u Upload
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
		return Upload{}, fmt.Errorf("upload: status: %w", err)
	}
	return u, nil
}

// Wait follows the upload's server-sent events until its job ends and
// returns the final status; onChange, when set, sees every status.
func (c *Client) Wait(ctx context.Context, id string, onChange func(Upload)) (Upload, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/"+url.PathEscape(id)+"/events"), nil)
	if err != nil {
		return Upload{}, fmt.Errorf("upload: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.do(req)
	if err != nil {
		return Upload{}, fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Upload{}, responseError(resp)
	}
	var last Upload
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if err := json.Unmarshal([]byte(data), &last); err != nil {
			return Upload{}, fmt.Errorf("upload: event: %w", err)
		}
		if onChange != nil {
			onChange(last)
		}
		if last.State.Terminal() {
			return last, nil
		}
	}
	if err := sc.Err(); err != nil {
		return last, fmt.Errorf("upload: events: %w", err)
	}
	// The stream ended early (a server shutting down): ask once more.
	return c.Status(ctx, id)
}
