package main

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// keptBody is a response body made once and served to many requests (a
// cached page or JSON document, rendered.go): as it is, or, when it is
// made to compress, to a request that accepts gzip, gzip-compressed from
// a copy made on the first such request (a 63 KB portfolio page is about
// 10 KB compressed). It is safe for concurrent use; make one with
// newKeptBody.
type keptBody struct {
	contentType string
	plain       []byte
	compress    bool // the dashboard's --gzip

	once   sync.Once
	gz     []byte       // the compressed copy, set in once; nil when it is no smaller
	gzSize atomic.Int64 // len(gz) once it is made, for size
}

// newKeptBody keeps plain, to be sent as contentType, gzip-compressed to
// the clients that accept it when compress is set.
func newKeptBody(contentType string, plain []byte, compress bool) *keptBody {
	return &keptBody{contentType: contentType, plain: plain, compress: compress}
}

// serve answers r with k and status: its Content-Type and, when k
// compresses, Vary: Accept-Encoding and the body compressed with
// Content-Encoding: gzip when r accepts gzip (acceptsGzip) and that is
// smaller; else the body as it is;
// Content-Length is the length of what is sent. A HEAD request gets the
// same header and no body.
func (k *keptBody) serve(w http.ResponseWriter, r *http.Request, status int) {
	h := w.Header()
	h.Set("Content-Type", k.contentType)
	body := k.plain
	if k.compress {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(strings.Join(r.Header.Values("Accept-Encoding"), ",")) {
			if gz := k.gzipped(); gz != nil {
				body = gz
				h.Set("Content-Encoding", "gzip")
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // an error is a client that left
	}
}

// gzipped returns the compressed copy of the body, made on the first
// call, or nil when it would be no smaller than the body.
func (k *keptBody) gzipped() []byte {
	k.once.Do(func() {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		// Writing to a bytes.Buffer does not fail.
		_, _ = zw.Write(k.plain)
		_ = zw.Close()
		if buf.Len() < len(k.plain) {
			k.gz = bytes.Clone(buf.Bytes()) // no spare capacity kept
			k.gzSize.Store(int64(buf.Len()))
		}
	})
	return k.gz
}

// size is the bytes k keeps: the body, and its compressed copy once made.
func (k *keptBody) size() int64 {
	return int64(len(k.plain)) + k.gzSize.Load()
}
