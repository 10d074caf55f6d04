package upload

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestNULNameOtherSpellings (review): a NUL byte reaches the name through
// RFC 2231 continuations and a filename* beside a plain filename too;
// each is a 400 naming the NUL, and nothing is stored.
func TestNULNameOtherSpellings(t *testing.T) {
	e := newEnv(t, Options{})
	for _, dispo := range []string{
		"form-data; name=\"file\"; filename*0*=UTF-8''x.exe%00; filename*1=\".csv\"",
		"form-data; name=\"file\"; filename=\"x.csv\"; filename*=UTF-8''x.exe%00.csv",
	} {
		resp, body := e.rawPost(dispo, []byte("a,b\n1,2\n"))
		if msg, _ := body["error"].(string); resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "NUL") {
			t.Errorf("%q: %d %v, want 400 naming the NUL byte", dispo, resp.StatusCode, body)
		}
	}
	e.requireEmpty()
}

// TestTusNULAfterSplitRune (review): a chunk that ends inside a rune,
// followed by a chunk starting with a NUL byte (or a NUL where the rune's
// last byte should be): the second PATCH is refused (415) and the session
// is gone; the rune alone completed across three PATCHes is text.
func TestTusNULAfterSplitRune(t *testing.T) {
	e := newEnv(t, Options{})
	head := "date,note\n" + strings.Repeat("2024-01-02,plain\n", 40)
	for _, tc := range []struct {
		chunks []string
		want   []int
	}{
		{[]string{head + "x,\xe2\x82", "\x00\xac\n"}, []int{204, 415}},
		{[]string{head + "x,\xf0\x9f", "\x98\x00\n"}, []int{204, 415}},
		{[]string{head + "x,\xf0", "\x9f", "\x98\x80\n"}, []int{204, 204, 204}},
	} {
		total := 0
		for _, c := range tc.chunks {
			total += len(c)
		}
		loc := e.tusCreate("t.csv", total)
		off := 0
		for i, c := range tc.chunks {
			r := e.tus(http.MethodPatch, loc, "admin", []byte(c), map[string]string{"Upload-Offset": strconv.Itoa(off)})
			if r.StatusCode != tc.want[i] {
				t.Fatalf("%q: PATCH %d: %d, want %d", tc.chunks, i, r.StatusCode, tc.want[i])
			}
			off += len(c)
		}
		if tc.want[len(tc.want)-1] == 415 {
			if r := e.tus(http.MethodHead, loc, "admin", nil, nil); r.StatusCode != 404 {
				t.Fatalf("%q: HEAD after the refusal: %d", tc.chunks, r.StatusCode)
			}
		} else if u := e.wait(loc[strings.LastIndex(loc, "/")+1:]); u.State != StateDone {
			t.Fatalf("%q: %+v", tc.chunks, u)
		}
	}
	if tm := e.temps(); len(tm) != 0 {
		t.Fatalf("temporary files left: %v", tm)
	}
}
