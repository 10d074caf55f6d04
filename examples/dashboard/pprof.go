//go:build pprof

package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

// A dashboard built with -tags pprof serves Go's profiles on the loopback
// address in FINKIT_PPROF_ADDR (e.g. 127.0.0.1:6060), apart from the app's
// own listener, so loadbench -profile can take a CPU profile of the server
// under load. Release builds have none of it.
func init() {
	addr := os.Getenv("FINKIT_PPROF_ADDR")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		slog.Error("pprof listener", "error", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go func() { _ = http.Serve(ln, mux) }()
}
