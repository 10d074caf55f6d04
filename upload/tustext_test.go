package upload

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestTusTextCheckedPerChunk: each PATCH of a text upload is checked as it
// arrives (no second pass over the whole file at completion): a rune split
// between two chunks is text; a NUL byte or invalid UTF-8 in a later chunk,
// also right after a split rune, is refused at that PATCH (415) and the
// session is gone; a file ending in the middle of a rune is refused at
// its last PATCH.
func TestTusTextCheckedPerChunk(t *testing.T) {
	e := newEnv(t, Options{})
	head := "date,note\n" + strings.Repeat("2024-01-02,plain\n", 40) // past the sniffed head
	patch := func(loc string, off int, chunk string) int {
		return e.tus(http.MethodPatch, loc, "admin", []byte(chunk), map[string]string{"Upload-Offset": strconv.Itoa(off)}).StatusCode
	}
	for _, tc := range []struct {
		name   string
		chunks []string
		want   []int
	}{
		{"rune split over chunks", []string{head + "2024-01-03,caf\xc3", "\xa9 \xe2\x82", "\xac\n"}, []int{204, 204, 204}},
		{"NUL in a later chunk", []string{head, "2024-01-03,a\x00b\n"}, []int{204, 415}},
		{"NUL before the last chunk", []string{head, "x,a\x00b\n", "x,c\n"}, []int{204, 415, 404}},
		{"bad continuation after a split rune", []string{head + "x,\xe2\x82", "A\n"}, []int{204, 415}},
		{"lone continuation byte", []string{head, "x,\x80\n"}, []int{204, 415}},
		{"ends in the middle of a rune", []string{head, "x,\xe2\x82"}, []int{204, 415}},
	} {
		total := 0
		for _, c := range tc.chunks {
			total += len(c)
		}
		loc := e.tusCreate("t.csv", total)
		off := 0
		for i, c := range tc.chunks {
			if got := patch(loc, off, c); got != tc.want[i] {
				t.Fatalf("%s: PATCH %d: %d, want %d", tc.name, i, got, tc.want[i])
			}
			off += len(c)
		}
		if last := tc.want[len(tc.want)-1]; last == 415 || last == 404 {
			if r := e.tus(http.MethodHead, loc, "admin", nil, nil); r.StatusCode != 404 {
				t.Fatalf("%s: HEAD after the refusal: %d", tc.name, r.StatusCode)
			}
		} else if u := e.wait(loc[strings.LastIndex(loc, "/")+1:]); u.State != StateDone {
			t.Fatalf("%s: %+v", tc.name, u)
		}
	}
	if tm := e.temps(); len(tm) != 0 {
		t.Fatalf("temporary files left: %v", tm)
	}
}
