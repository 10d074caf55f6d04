package upload

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// hookStorage is a Storage whose Delete first runs a hook, to interleave
// another process's work with a delete.
type hookStorage struct {
	*FS
	beforeDelete func(key string)
}

func (h hookStorage) Delete(ctx context.Context, key string) error {
	if h.beforeDelete != nil {
		h.beforeDelete(key)
	}
	return h.FS.Delete(ctx, key)
}

// TestDeleteRacesSameContentUpload: process A deletes the only upload of
// some bytes while process B (same store, same storage) accepts and stores
// an upload of the very same bytes. B's file must survive: B's job may not
// reuse the object A is deleting, and must store it again once A is done.
func TestDeleteRacesSameContentUpload(t *testing.T) {
	dir := t.TempDir()
	fsys, err := OpenFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	store := NewMemStore()
	var once sync.Once
	var srvB *httptest.Server
	var idB string
	hook := func(string) {
		once.Do(func() {
			// A has decided the object is unused; B uploads the same bytes
			// now and its job runs to the end (or waits, for up to 2 s).
			envB := &env{t: t, srv: srvB, store: store}
			resp, body := envB.post("admin", part{name: "again.csv", content: []byte(csvTx)})
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("B's upload: %d", resp.StatusCode)
				return
			}
			idB = ids(t, body)[0]
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				if u, _ := store.Get(context.Background(), idB); u.State.Terminal() {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	opts := func() Options {
		return Options{Dir: fsys, Storage: hookStorage{FS: fsys, beforeDelete: hook}, Store: store, Authorize: testAuth,
			Poll: 20 * time.Millisecond, RetryBackoff: 50 * time.Millisecond, Lease: 2 * time.Second, OrphanAge: time.Hour}
	}
	mA, err := New(context.Background(), opts())
	if err != nil {
		t.Fatal(err)
	}
	mB, err := New(context.Background(), opts())
	if err != nil {
		t.Fatal(err)
	}
	srvA := httptest.NewServer(mA.Handler())
	srvB = httptest.NewServer(mB.Handler())
	defer func() {
		srvA.Close()
		srvB.Close()
		_ = mA.Shutdown(context.Background())
		_ = mB.Shutdown(context.Background())
	}()
	envA := &env{t: t, srv: srvA, store: store, m: mA}
	resp, body := envA.post("admin", part{name: "first.csv", content: []byte(csvTx)})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("A's upload: %d", resp.StatusCode)
	}
	idA := ids(t, body)[0]
	if u := envA.wait(idA); u.State != StateDone {
		t.Fatalf("A's job: %+v", u)
	}
	if err := mA.Delete(context.Background(), Principal{ID: "u-admin"}, idA); err != nil {
		t.Fatal(err)
	}
	envB := &env{t: t, srv: srvB, store: store, m: mB}
	if u := envB.wait(idB); u.State != StateDone {
		t.Fatalf("B's job: %+v", u)
	}
	r, content := envB.get("/uploads/" + idB + "/content")
	if r.StatusCode != http.StatusOK || string(content) != csvTx {
		t.Fatalf("B's file after A's delete: %d %q", r.StatusCode, content)
	}
}
