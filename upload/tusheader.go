package upload

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"
)

// tus 1.0 header values.
const (
	tusVersion       = "1.0.0"
	tusExtensions    = "creation,termination,expiration,checksum"
	tusChecksumAlgos = "sha256"
	tusContentType   = "application/offset+octet-stream"
	maxMetadataBytes = 4 << 10
)

// parseTusSize parses Upload-Length or Upload-Offset: a non-negative
// decimal integer without sign, spaces or leading zeros, at most 2^63-1.
func parseTusSize(s string) (int64, error) {
	if s == "" || len(s) > 19 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%w: bad size %q", ErrBadRequest, clip(s))
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: bad size %q", ErrBadRequest, clip(s))
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, fmt.Errorf("%w: size %q is too big", ErrBadRequest, clip(s))
		}
		n = n*10 + d
	}
	return n, nil
}

// parseTusMetadata parses Upload-Metadata: comma-separated pairs of a key
// and an optional base64 value, separated by one space. Keys are printable
// ASCII without spaces or commas and must be unique; values must be valid
// UTF-8 without NUL bytes.
func parseTusMetadata(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	if len(s) > maxMetadataBytes {
		return nil, fmt.Errorf("%w: Upload-Metadata is over %d bytes", ErrBadRequest, maxMetadataBytes)
	}
	for pair := range strings.SplitSeq(s, ",") {
		key, val, hasVal := strings.Cut(pair, " ")
		if !validMetaKey(key) {
			return nil, fmt.Errorf("%w: bad Upload-Metadata key %q", ErrBadRequest, clip(key))
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%w: Upload-Metadata key %q twice", ErrBadRequest, key)
		}
		var dec []byte
		if hasVal {
			var err error
			if dec, err = base64.StdEncoding.Strict().DecodeString(val); err != nil {
				return nil, fmt.Errorf("%w: Upload-Metadata value of %q is not base64", ErrBadRequest, key)
			}
		}
		if strings.ContainsRune(string(dec), 0) {
			return nil, fmt.Errorf("%w: Upload-Metadata value of %q contains a NUL byte", ErrBadRequest, key)
		}
		if !validUTF8(dec) {
			return nil, fmt.Errorf("%w: Upload-Metadata value of %q is not text", ErrBadRequest, key)
		}
		out[key] = string(dec)
	}
	return out, nil
}

func validMetaKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || c == ',' {
			return false
		}
	}
	return true
}

// parseTusChecksum parses Upload-Checksum "sha256 <base64 digest>".
func parseTusChecksum(s string) ([]byte, error) {
	algo, val, ok := strings.Cut(s, " ")
	if !ok || algo != "sha256" {
		return nil, fmt.Errorf("%w: unsupported checksum algorithm %q", ErrBadRequest, clip(algo))
	}
	sum, err := base64.StdEncoding.Strict().DecodeString(val)
	if err != nil || len(sum) != 32 {
		return nil, fmt.Errorf("%w: bad sha256 checksum", ErrBadRequest)
	}
	return sum, nil
}

// clip shortens untrusted text quoted in an error.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

func validUTF8(b []byte) bool { return utf8.Valid(b) }
