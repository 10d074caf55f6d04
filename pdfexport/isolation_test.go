package pdfexport

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// privateSite serves per-user pages the way a report server would: /auth
// behind HTTP Basic authentication, /private/{user} behind a token in the
// query string. It records what it was asked.
type privateSite struct {
	*httptest.Server
	mu       sync.Mutex
	authSeen []string // the Basic-auth user of each /auth request, "" for none
	private  []string // the token of each /private request
}

func newPrivateSite(t *testing.T) *privateSite {
	t.Helper()
	s := &privateSite{}
	mux := http.NewServeMux()
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		user, _, ok := r.BasicAuth()
		s.mu.Lock()
		s.authSeen = append(s.authSeen, user)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="reports"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, "<p>please log in</p>")
			return
		}
		fmt.Fprintf(w, "<p>PRIVATE REPORT OF %s</p>", user)
	})
	// A page that plants credentials in the browser's HTTP auth cache
	// without having any in its own URL.
	mux.HandleFunc("/plant", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<p>planting</p><script>
			const x = new XMLHttpRequest();
			x.open('GET', '/auth', true, 'attacker', 'pw');
			x.onloadend = () => { window.planted = true; };
			x.send();
		</script>`)
	})
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		s.mu.Lock()
		s.private = append(s.private, tok)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<p id="report">PRIVATE PAGE token=%s</p>`, tok)
	})
	// A page that walks the tab's history back to whatever was loaded in
	// it before.
	mux.HandleFunc("/back", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<p>attacker page</p><script>
			window.histLen = history.length;
			setTimeout(() => history.go(-2), 50);
			setTimeout(() => history.go(-1), 400);
		</script>`)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *privateSite) seen() (auth, private []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authSeen...), append([]string(nil), s.private...)
}

// TestNoBasicAuthCarryOver: one user's HTTP credentials must never be sent
// for another user's conversion. Two users in sequence on a pool of one
// tab, so they would share it if tabs were reused.
func TestNoBasicAuthCarryOver(t *testing.T) {
	t.Parallel()
	c := newConverter(t, Options{PoolSize: 1})
	s := newPrivateSite(t)
	host := strings.TrimPrefix(s.URL, "http://")

	// Credentials in the URL are refused outright.
	_, err := c.Convert(testCtx(t), "http://u1:pw1@"+host+"/auth", PageOptions{})
	require.ErrorIs(t, err, ErrUnsupportedURL)

	// A page can still plant credentials itself; they must die with its
	// conversion.
	_, err = c.Convert(testCtx(t), s.URL+"/plant", PageOptions{Wait: ForExpression("window.planted === true")})
	require.NoError(t, err)
	auth, _ := s.seen()
	require.Contains(t, auth, "attacker", "the planting page did not authenticate; the test proves nothing")

	pdf, err := c.Convert(testCtx(t), s.URL+"/auth", PageOptions{AllowHTTPErrors: true})
	require.NoError(t, err)
	text := pdfText(t, pdf, 0)
	assert.NotContains(t, text, "PRIVATE REPORT", "user 2 was served a page logged in as someone else")
	auth, _ = s.seen()
	assert.Equal(t, "", auth[len(auth)-1], "user 2's request carried credentials: %q", auth)
}

// TestNoHistoryCarryOver: a page must not be able to navigate back to the
// page of the previous conversion (its URL, token included, and content).
func TestNoHistoryCarryOver(t *testing.T) {
	t.Parallel()
	c := newConverter(t, Options{PoolSize: 1})
	s := newPrivateSite(t)
	// A first conversion, so that every attack below runs after at least
	// two: the history of a reused tab would then hold both.
	_, err := c.Convert(testCtx(t), s.URL+"/private?token=warm-up", PageOptions{})
	require.NoError(t, err)
	for _, wait := range []WaitFor{ForDelay(1500 * time.Millisecond), ForVisible("#report"), ForExpression("document.getElementById('report') !== null")} {
		t.Run(wait.String(), func(t *testing.T) {
			secret := fmt.Sprintf("SECRET%d", time.Now().UnixNano())
			pdf, err := c.Convert(testCtx(t), s.URL+"/private?token="+secret, PageOptions{})
			require.NoError(t, err)
			require.Contains(t, pdfText(t, pdf, 0), secret)

			// The attacker's conversion: ForVisible and ForExpression wait
			// for the victim's element, which only appears if the tab goes
			// back; give them a short timeout.
			pdf, err = c.Convert(testCtx(t), s.URL+"/back", PageOptions{Wait: wait, Timeout: 4 * time.Second})
			if err == nil {
				assert.NotContains(t, pdfText(t, pdf, 0), secret, "the attacker printed the previous user's page")
			}
			_, private := s.seen()
			n := 0
			for _, tok := range private {
				if tok == secret {
					n++
				}
			}
			assert.Equal(t, 1, n, "the previous user's URL was fetched again by a later conversion")
		})
	}
}
