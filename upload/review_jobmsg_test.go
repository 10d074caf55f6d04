package upload

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// brokenOpen is a shared FS whose staged objects cannot be read back (the
// object store went away between staging and the job).
type brokenOpen struct{ *FS }

func (b brokenOpen) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	if strings.HasPrefix(key, stagingPrefix) {
		return nil, errors.New("Get \"http://10.1.2.3:9000/uploads/incoming/x\": dial tcp 10.1.2.3:9000: connect: connection refused")
	}
	return b.FS.Open(ctx, key)
}

// TestJobMessageHidesStorageError (review): a job that cannot store its
// file says so in its status without the storage's error (server
// addresses, paths), while retrying and once failed; the audit log keeps
// the detail. The message used to be the whole error chain.
func TestJobMessageHidesStorageError(t *testing.T) {
	st, _ := newOutage(t)
	e := newEnv(t, Options{Storage: brokenOpen{st.FS}, MaxAttempts: 2, RetryBackoff: 1})
	resp, body := e.post("admin", part{"file", "a.csv", []byte(csvTx)})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d %v", resp.StatusCode, body)
	}
	ch, err := e.m.Watch(context.Background(), ids(t, body)[0])
	if err != nil {
		t.Fatal(err)
	}
	var u Upload
	var msgs []string
	for u = range ch {
		msgs = append(msgs, u.Message)
	}
	if u.State != StateFailed || u.Message != "the file could not be stored" {
		t.Fatalf("job: %s %q", u.State, u.Message)
	}
	for _, m := range msgs {
		if strings.Contains(m, "10.1.2.3") {
			t.Errorf("status message with the storage's error: %q", m)
		}
	}
	if !strings.Contains(e.logs.String(), "10.1.2.3:9000") {
		t.Error("the audit log lost the storage's error")
	}
}
