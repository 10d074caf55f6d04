// Package hostile turns a provider's recorded response into a misbehaving
// httptest server, for the hostile-provider suites of the marketdata
// packages: the real response format, with the values, times, symbols,
// statuses, headers or redirects an attacker (or a broken upstream) would
// send.
package hostile

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Body reads a recorded response body from path. A recording wrapped as
// {"response": {"bodyJson": …}} or {"response": {"body": "…"}} is
// unwrapped; any other file is the body itself.
func Body(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("hostile: %v", err)
	}
	var rec struct {
		Response *struct {
			BodyJSON json.RawMessage `json:"bodyJson"`
			Body     *string         `json:"body"`
		} `json:"response"`
	}
	if json.Unmarshal(b, &rec) == nil && rec.Response != nil {
		switch {
		case len(rec.Response.BodyJSON) > 0:
			return rec.Response.BodyJSON
		case rec.Response.Body != nil:
			return []byte(*rec.Response.Body)
		}
	}
	return b
}

// A Misbehaviour changes what the server sends.
type Misbehaviour func(*answer)

type answer struct {
	status   int
	header   http.Header
	body     []byte
	redirect string
}

// Replace replaces every occurrence of old in the body by new.
func Replace(old, new string) Misbehaviour {
	return func(a *answer) { a.body = []byte(strings.ReplaceAll(string(a.body), old, new)) }
}

// ReplaceRegexp replaces every match of the regular expression re in the
// body by repl (with $1-style expansion).
func ReplaceRegexp(re, repl string) Misbehaviour {
	rx := regexp.MustCompile(re)
	return func(a *answer) { a.body = rx.ReplaceAll(a.body, []byte(repl)) }
}

// Status answers with the HTTP status code.
func Status(code int) Misbehaviour { return func(a *answer) { a.status = code } }

// Header sets a response header.
func Header(key, value string) Misbehaviour { return func(a *answer) { a.header.Set(key, value) } }

// RedirectTo answers every request with a 302 to url plus the request's
// path and query, for credential-leak tests.
func RedirectTo(url string) Misbehaviour { return func(a *answer) { a.redirect = url } }

// Server is a running hostile server. It records the requests it received.
type Server struct {
	*httptest.Server
	body atomic.Pointer[[]byte]
	mu   sync.Mutex
	reqs []*http.Request
}

// SetBody replaces the body served from now on (the misbehaviours still
// apply), so one server can replay many variants of a fixture.
func (s *Server) SetBody(b []byte) { s.body.Store(&b) }

// Serve starts a server that answers every request with body after
// applying the misbehaviours in order; it is closed when the test ends.
func Serve(t testing.TB, body []byte, m ...Misbehaviour) *Server {
	t.Helper()
	s := &Server{}
	s.SetBody(body)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(r.Context()))
		s.mu.Unlock()
		a := &answer{status: http.StatusOK, header: http.Header{}, body: append([]byte(nil), *s.body.Load()...)}
		for _, f := range m {
			f(a)
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		if a.redirect != "" {
			http.Redirect(w, r, a.redirect+r.URL.RequestURI(), http.StatusFound)
			return
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests returns the requests received so far.
func (s *Server) Requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

// Floats are the hostile numbers every numeric field should survive: zero,
// negatives, overflow, underflow, the largest and smallest doubles, and
// values just outside the plausible ranges.
var Floats = []string{"0", "-1", "-0", "1e999", "-1e999", "1.7976931348623157e308", "1.7e308", "1.5e308", "1e-320", "5e-324", "1e-300", "1e300", "1e13", "1e-13"}

var number = regexp.MustCompile(`-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?`)

// EachNumber returns one variant of body per numeric literal in it, with
// that literal replaced by lit (dates and times included: they are numbers
// to an attacker too).
func EachNumber(body []byte, lit string) [][]byte {
	locs := number.FindAllIndex(body, -1)
	out := make([][]byte, 0, len(locs))
	for _, l := range locs {
		v := make([]byte, 0, len(body)+len(lit))
		v = append(v, body[:l[0]]...)
		v = append(v, lit...)
		v = append(v, body[l[1]:]...)
		out = append(out, v)
	}
	return out
}
