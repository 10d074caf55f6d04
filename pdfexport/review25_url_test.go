package pdfexport

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestReviewCheckURLUserinfoSpellings: every way of putting credentials in
// front of the host is refused, and the refusal does not quote them.
func TestReviewCheckURLUserinfoSpellings(t *testing.T) {
	for _, raw := range []string{
		"http://u@h.example/",
		"http://:pw@h.example/",
		"http://u:pw@h.example/",
		"HTTP://u:pw@h.example/",
		"https://u%40x:pw@h.example/",
		"http://u%40h.example/",
		"http://h.example\\@evil.example/",
		"http:/\\u:pw@h.example/",
		"http:\\\\u:pw@h.example/",
		"http://u:pw@[::1]:80/",
		"http://u:pw@h.example@evil.example/",
		"http://%75:%70@h.example/",
		" http://u:pw@h.example/",
		"http://u:pw@h.example\t/",
		"ftp://h.example/?token=pw",
		"http:///x?token=pw",
		"http://h.example/%zz?token=pw",
	} {
		_, err := checkURL(raw)
		if assert.Error(t, err, raw) {
			assert.NotContains(t, err.Error(), "pw", raw)
		}
	}
}
