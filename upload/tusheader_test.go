package upload

import (
	"encoding/base64"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseTusSize(t *testing.T) {
	good := map[string]int64{"0": 0, "1": 1, "1048576": 1 << 20, "9223372036854775807": 1<<63 - 1}
	for in, want := range good {
		if got, err := parseTusSize(in); err != nil || got != want {
			t.Errorf("%q: %d %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "+1", " 1", "1 ", "01", "9223372036854775808", "99999999999999999999", "1e3", "0x10", "١"} {
		if _, err := parseTusSize(in); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseTusMetadata(t *testing.T) {
	got, err := parseTusMetadata("filename " + b64("a b.csv") + ",is_confidential,account " + b64("acc-1"))
	if err != nil || got["filename"] != "a b.csv" || got["account"] != "acc-1" || got["is_confidential"] != "" || len(got) != 3 {
		t.Fatalf("%v %v", got, err)
	}
	for _, in := range []string{"filename !!!", "filename " + b64("x.exe\x00.csv"), "a " + b64("x") + ",a " + b64("y"), " " + b64("x"), "k\x00 " + b64("x"), "k " + b64("a\x00b"), "k " + base64.StdEncoding.EncodeToString([]byte{0xff}), "é " + b64("x"), strings.Repeat("k", 65), "k " + strings.Repeat("A", 5000)} {
		if _, err := parseTusMetadata(in); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzTusHeaders(f *testing.F) {
	f.Add("filename "+b64("x.csv")+",k", "sha256 "+b64(strings.Repeat("x", 32)), "123")
	f.Add("a,b,c", "sha1 x", "-0")
	f.Add("filename "+b64("x.exe\x00.csv"), "sha256 x", "1")
	f.Add(",,", "sha256", "00")
	f.Fuzz(func(t *testing.T, meta, checksum, size string) {
		if m, err := parseTusMetadata(meta); err == nil {
			// Round trip: encoding what was parsed parses to the same map.
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if !validMetaKey(k) {
					t.Fatalf("key %q accepted", k)
				}
				parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(m[k])))
			}
			again, err := parseTusMetadata(strings.Join(parts, ","))
			if err != nil || !maps.Equal(again, m) {
				t.Fatalf("round trip of %q: %v %v", meta, again, err)
			}
		} else if !errors.Is(err, ErrBadRequest) {
			t.Fatalf("metadata error %v is not ErrBadRequest", err)
		}
		if sum, err := parseTusChecksum(checksum); err == nil && len(sum) != 32 {
			t.Fatalf("checksum of %d bytes", len(sum))
		}
		if n, err := parseTusSize(size); err == nil && (n < 0 || strconv.FormatInt(n, 10) != size) {
			t.Fatalf("size %q parsed as %d", size, n)
		}
	})
}
