package upload

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Processor works on a stored file: imports it, validates it, extracts
// facts from it. It is registered for a media type (Options.Processors) and
// runs in a worker goroutine with the job's deadline in ctx. An error fails
// the job with the error's text as the job's message (so it should say what
// is wrong with the file, not leak internals); wrap it with Transient to
// have the job retried with back-off. A processor may run more than once
// for one job (a retry, or a worker that crashed), so it must be
// idempotent or all-or-nothing.
type Processor interface {
	Process(ctx context.Context, job *Job) error
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(ctx context.Context, job *Job) error

// Process calls f.
func (f ProcessorFunc) Process(ctx context.Context, job *Job) error { return f(ctx, job) }

// Job is what a processor sees of the upload it works on.
type Job struct {
	Upload Upload // the upload (a copy)

	storage Storage

	mu       sync.Mutex
	progress int
	message  string
	result   map[string]json.RawMessage
	changed  chan struct{}
}

func newJob(u Upload, s Storage) *Job {
	return &Job{Upload: u, storage: s, progress: u.Progress, changed: make(chan struct{}, 1)}
}

// Open opens the stored file.
func (j *Job) Open(ctx context.Context) (io.ReadSeekCloser, error) {
	return j.storage.Open(ctx, j.Upload.Key)
}

// Progress records how far the job is (0–100) and a short message; the
// worker saves it with its next lease renewal and tells subscribers.
func (j *Job) Progress(percent int, message string) {
	j.mu.Lock()
	j.progress, j.message = clampProgress(percent), message
	j.mu.Unlock()
	select {
	case j.changed <- struct{}{}:
	default:
	}
}

// SetResult records v (marshaled to JSON) under key in the job's result,
// such as "import": {"booked": 12}.
func (j *Job) SetResult(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("upload: result %s: %w", key, err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.result == nil {
		j.result = map[string]json.RawMessage{}
	}
	j.result[key] = b
	return nil
}

func (j *Job) snapshot() (int, string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.progress, j.message
}

func (j *Job) resultJSON() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.result) == 0 {
		return ""
	}
	b, _ := json.Marshal(j.result) // RawMessages marshaled before; cannot fail
	return string(b)
}
