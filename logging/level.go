package logging

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// maxLevelBody bounds the body LevelHandler reads.
const maxLevelBody = 1 << 10

// levelBody is the JSON document LevelHandler reads and writes.
type levelBody struct {
	Level *string `json:"level"`
}

// LevelHandler returns an admin endpoint for lv. GET (or HEAD) answers
// {"level":"info"}; PUT with {"level":"debug"} sets the level and answers
// the new one. A bad body (not JSON, unknown fields, missing or unknown
// level, over 1 KiB) gets 400 and leaves the level unchanged; other methods
// get 405. Mount it behind admin authentication.
func LevelHandler(lv *slog.LevelVar) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if lv == nil {
			writeJSONStatus(w, http.StatusInternalServerError, map[string]string{"error": "no level variable configured"})
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPut:
			lvl, err := decodeLevel(w, r)
			if err != nil {
				writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			lv.Set(lvl)
		default:
			w.Header().Set("Allow", "GET, HEAD, PUT")
			writeJSONStatus(w, http.StatusMethodNotAllowed, map[string]string{"error": "method " + r.Method + " not allowed"})
			return
		}
		writeJSONStatus(w, http.StatusOK, map[string]string{"level": LevelName(lv.Level())})
	})
}

func decodeLevel(w http.ResponseWriter, r *http.Request) (slog.Level, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLevelBody))
	dec.DisallowUnknownFields()
	var body levelBody
	if err := dec.Decode(&body); err != nil {
		return 0, fmt.Errorf("bad JSON body: %w", err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return 0, errors.New("bad JSON body: trailing data after the object")
	}
	if body.Level == nil {
		return 0, errors.New(`bad JSON body: missing "level"`)
	}
	return ParseLevel(*body.Level)
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
