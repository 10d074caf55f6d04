// Package uploadtest checks an upload.Store implementation against the
// contract every store must keep, like testing/slogtest does for handlers:
//
//	func TestConformance(t *testing.T) {
//		uploadtest.TestStore(t, func(t *testing.T) upload.Store { return newStore(t) })
//	}
package uploadtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/upload"
)

// base is the suite's clock origin (no monotonic reading, so values
// survive a round trip through any store).
var base = time.Unix(1_767_225_600, 123_456_789)

func at(d time.Duration) time.Time { return base.Add(d) }

// TestStore runs the conformance tests; newStore returns an empty store
// for each subtest.
func TestStore(t *testing.T, newStore func(t *testing.T) upload.Store) {
	tests := []struct {
		name string
		f    func(*testing.T, upload.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateAllOrNone", testCreateAllOrNone},
		{"List", testList},
		{"ClaimOrder", testClaimOrder},
		{"LeaseLifecycle", testLeaseLifecycle},
		{"ReleaseRefund", testRelease},
		{"CancelAndDelete", testCancelDelete},
		{"Sessions", testSessions},
		{"ConcurrentClaims", testConcurrentClaims},
		{"DeletionLease", testDeletionLease},
		{"DeleteRacesCreate", testDeleteRacesCreate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, newStore(t)) })
	}
}

func sample(id string, created time.Duration) upload.Upload {
	sum := fmt.Sprintf("%064x", len(id)*7919+int(created))
	return upload.Upload{
		ID: id, Owner: "u-1", OwnerName: "alice", Name: "café " + id + ".csv", Type: "text/csv", Size: 42,
		SHA256: sum, Key: "sha256/" + sum[:2] + "/" + sum, Temp: "0123456789abcdef" + fmt.Sprintf("%08x", len(id)) + ".part",
		Meta: map[string]string{"account": "acc-1"}, State: upload.StateQueued, Message: "queued",
		RunAt: at(created), Created: at(created), Updated: at(created),
	}
}

func same(t *testing.T, got, want upload.Upload) {
	t.Helper()
	times := func(u upload.Upload) [4]time.Time { return [4]time.Time{u.RunAt, u.LeaseUntil, u.Created, u.Updated} }
	g, w := times(got), times(want)
	for i := range g {
		if !g[i].Equal(w[i]) {
			t.Fatalf("time %d: got %v, want %v", i, g[i], w[i])
		}
	}
	got.RunAt, got.LeaseUntil, got.Created, got.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	want.RunAt, want.LeaseUntil, want.Created, want.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if len(got.Meta) == 0 && len(want.Meta) == 0 {
		got.Meta, want.Meta = nil, nil
	}
	gm, wm := got.Meta, want.Meta
	got.Meta, want.Meta = nil, nil
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) || !maps.Equal(gm, wm) {
		t.Fatalf("got  %+v %v\nwant %+v %v", got, gm, want, wm)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testCreateGet(t *testing.T, s upload.Store) {
	ctx := context.Background()
	u := sample("a1", 0)
	must(t, s.Create(ctx, u))
	got, err := s.Get(ctx, "a1")
	must(t, err)
	same(t, got, u)
	got.Meta["account"] = "changed"
	again, _ := s.Get(ctx, "a1")
	if again.Meta["account"] != "acc-1" {
		t.Fatal("Get returned the store's own map")
	}
	if err := s.Create(ctx, u); !errors.Is(err, upload.ErrConflict) {
		t.Fatalf("duplicate Create: %v", err)
	}
	if _, err := s.Get(ctx, "missing"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	noMeta := sample("a2", time.Second)
	noMeta.Meta = nil
	must(t, s.Create(ctx, noMeta))
	got, _ = s.Get(ctx, "a2")
	same(t, got, noMeta)
}

func testCreateAllOrNone(t *testing.T, s upload.Store) {
	ctx := context.Background()
	must(t, s.Create(ctx, sample("b2", 0)))
	if err := s.Create(ctx, sample("b1", 0), sample("b2", time.Second), sample("b3", 0)); !errors.Is(err, upload.ErrConflict) {
		t.Fatalf("batch with a taken id: %v", err)
	}
	for _, id := range []string{"b1", "b3"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, upload.ErrNotFound) {
			t.Fatalf("%s stored by a failed batch", id)
		}
	}
	if err := s.Create(ctx, sample("c1", 0), sample("c1", 0)); !errors.Is(err, upload.ErrConflict) {
		t.Fatalf("batch repeating an id: %v", err)
	}
	if _, err := s.Get(ctx, "c1"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatal("c1 stored by a failed batch")
	}
}

func testList(t *testing.T, s upload.Store) {
	ctx := context.Background()
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("l%d", i)
		must(t, s.Create(ctx, sample(id, time.Duration(i/2)*time.Second))) // pairs share a creation time
		want = append(want, id)
	}
	slices.Reverse(want)
	var got []string
	before := ""
	for range 10 {
		page, err := s.List(ctx, upload.ListOptions{Limit: 3, Before: before})
		must(t, err)
		for _, u := range page {
			got = append(got, u.ID)
		}
		if len(page) < 3 {
			break
		}
		before = page[len(page)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
	all, err := s.List(ctx, upload.ListOptions{})
	must(t, err)
	if len(all) != 7 {
		t.Fatalf("List: %d", len(all))
	}
	if _, err := s.List(ctx, upload.ListOptions{Before: "nope"}); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("unknown cursor: %v", err)
	}
}

func testClaimOrder(t *testing.T, s upload.Store) {
	ctx := context.Background()
	later := sample("later", 0)
	later.RunAt = at(time.Hour)
	must(t, s.Create(ctx, sample("first", 0), sample("second", time.Second), later))
	if _, err := s.Claim(ctx, "w", at(-time.Second), time.Minute); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("claim before anything is due: %v", err)
	}
	for _, want := range []string{"first", "second"} {
		u, err := s.Claim(ctx, "w", at(time.Minute), time.Minute)
		must(t, err)
		if u.ID != want || u.State != upload.StateProcessing || u.LeaseOwner != "w" || !u.LeaseUntil.Equal(at(2*time.Minute)) || u.Attempts != 1 {
			t.Fatalf("claimed %+v, want %s", u, want)
		}
	}
	if _, err := s.Claim(ctx, "w", at(time.Minute), time.Minute); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("claim with nothing due: %v", err)
	}
	if n, _ := s.Pending(ctx); n != 3 {
		t.Fatalf("Pending = %d", n)
	}
	u, err := s.Claim(ctx, "w2", at(2*time.Hour), time.Minute) // "later" is due, and the others' leases expired
	must(t, err)
	if u.ID != "first" || u.Attempts != 2 || u.LeaseOwner != "w2" {
		t.Fatalf("takeover: %+v", u)
	}
}

func testLeaseLifecycle(t *testing.T, s upload.Store) {
	ctx := context.Background()
	must(t, s.Create(ctx, sample("j", 0)))
	_, err := s.Claim(ctx, "w1", at(0), time.Minute)
	must(t, err)
	u, err := s.Renew(ctx, "j", "w1", at(5*time.Minute), 140, "half")
	must(t, err)
	if u.Progress != 100 || u.Message != "half" || !u.LeaseUntil.Equal(at(5*time.Minute)) {
		t.Fatalf("Renew: %+v", u)
	}
	if _, err := s.Renew(ctx, "j", "other", at(time.Hour), 0, ""); !errors.Is(err, upload.ErrLeaseLost) {
		t.Fatalf("Renew by another worker: %v", err)
	}
	if _, err := s.Claim(ctx, "w2", at(4*time.Minute), time.Minute); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("a renewed lease was taken: %v", err)
	}
	must(t, s.MarkStored(ctx, "j", "w1"))
	if names, _ := s.TempNames(ctx); len(names) != 0 {
		t.Fatalf("TempNames after MarkStored: %v", names)
	}
	// w2 takes the job over after the lease expired; w1 can no longer write.
	_, err = s.Claim(ctx, "w2", at(6*time.Minute), time.Minute)
	must(t, err)
	for _, err := range []error{
		s.MarkStored(ctx, "j", "w1"),
		s.Finish(ctx, "j", "w1", upload.Finish{State: upload.StateDone}),
		s.Release(ctx, "j", "w1", at(0), "", false),
	} {
		if !errors.Is(err, upload.ErrLeaseLost) {
			t.Fatalf("write by the old worker: %v", err)
		}
	}
	if err := s.Finish(ctx, "j", "w2", upload.Finish{State: upload.StateQueued}); err == nil {
		t.Fatal("Finish with a non-final state")
	}
	must(t, s.Finish(ctx, "j", "w2", upload.Finish{State: upload.StateDone, Message: "booked 3", Result: `{"n":3}`}))
	u, _ = s.Get(ctx, "j")
	if u.State != upload.StateDone || u.Progress != 100 || u.Message != "booked 3" || u.Result != `{"n":3}` || u.LeaseOwner != "" || !u.Stored() {
		t.Fatalf("after Finish: %+v", u)
	}
	if _, err := s.Claim(ctx, "w3", at(time.Hour), time.Minute); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("a finished job was claimed: %v", err)
	}
	if err := s.Finish(ctx, "j", "w2", upload.Finish{State: upload.StateFailed}); !errors.Is(err, upload.ErrLeaseLost) {
		t.Fatalf("second Finish: %v", err)
	}
	if n, _ := s.Pending(ctx); n != 0 {
		t.Fatalf("Pending = %d", n)
	}
}

func testRelease(t *testing.T, s upload.Store) {
	ctx := context.Background()
	must(t, s.Create(ctx, sample("r", 0)))
	_, err := s.Claim(ctx, "w", at(0), time.Minute)
	must(t, err)
	must(t, s.Release(ctx, "r", "w", at(time.Hour), "retrying", false))
	u, _ := s.Get(ctx, "r")
	if u.State != upload.StateQueued || u.Attempts != 1 || u.Message != "retrying" || !u.RunAt.Equal(at(time.Hour)) || u.LeaseOwner != "" {
		t.Fatalf("after Release: %+v", u)
	}
	if _, err := s.Claim(ctx, "w", at(time.Minute), time.Minute); !errors.Is(err, upload.ErrNotFound) {
		t.Fatal("claimed before its RunAt")
	}
	_, err = s.Claim(ctx, "w", at(time.Hour), time.Minute)
	must(t, err)
	must(t, s.Release(ctx, "r", "w", at(time.Hour), "shutdown", true))
	if u, _ := s.Get(ctx, "r"); u.Attempts != 1 {
		t.Fatalf("refund: attempts %d", u.Attempts)
	}
}

func testCancelDelete(t *testing.T, s upload.Store) {
	ctx := context.Background()
	a, b := sample("d1", 0), sample("d2", 0)
	b.Key = a.Key // same content
	must(t, s.Create(ctx, a, b))
	u, err := s.RequestCancel(ctx, "d1")
	must(t, err)
	if !u.CancelRequested || u.State != upload.StateQueued {
		t.Fatalf("RequestCancel: %+v", u)
	}
	if _, _, err := s.Delete(ctx, "d1", at(time.Hour)); !errors.Is(err, upload.ErrConflict) {
		t.Fatalf("Delete of a queued job: %v", err)
	}
	for _, id := range []string{"d1", "d2"} {
		_, err := s.Claim(ctx, "w", at(time.Minute), time.Minute)
		must(t, err)
		must(t, s.Finish(ctx, id, "w", upload.Finish{State: upload.StateCancelled}))
	}
	if _, err := s.RequestCancel(ctx, "d1"); !errors.Is(err, upload.ErrConflict) {
		t.Fatalf("RequestCancel of an ended job: %v", err)
	}
	if _, err := s.RequestCancel(ctx, "zz"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("RequestCancel of a missing job: %v", err)
	}
	got, others, err := s.Delete(ctx, "d1", at(time.Hour))
	must(t, err)
	if got.ID != "d1" || others != 1 {
		t.Fatalf("Delete d1: %s, %d others", got.ID, others)
	}
	if _, others, _ := s.Delete(ctx, "d2", at(time.Hour)); others != 0 {
		t.Fatalf("Delete d2: %d others", others)
	}
	if _, _, err := s.Delete(ctx, "d2", at(time.Hour)); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
}

func session(id string) upload.Session {
	return upload.Session{ID: id, Owner: "u-1", OwnerName: "alice", Name: id + ".csv", Type: "text/csv", Length: 100,
		Temp: "fedcba9876543210" + fmt.Sprintf("%08x", len(id)) + ".part", HashState: []byte{1, 2, 3, 0, 255},
		Meta: map[string]string{"k": "v"}, Created: at(0), Expires: at(time.Hour)}
}

func testSessions(t *testing.T, s upload.Store) {
	ctx := context.Background()
	must(t, s.CreateSession(ctx, session("s1")))
	if err := s.CreateSession(ctx, session("s1")); !errors.Is(err, upload.ErrConflict) {
		t.Fatalf("duplicate session: %v", err)
	}
	must(t, s.Create(ctx, sample("taken", 0)))
	if err := s.CreateSession(ctx, session("taken")); !errors.Is(err, upload.ErrConflict) {
		t.Fatalf("session with an upload's id: %v", err)
	}
	got, err := s.GetSession(ctx, "s1")
	must(t, err)
	want := session("s1")
	if got.Name != want.Name || got.Length != 100 || got.Offset != 0 || string(got.HashState) != string(want.HashState) ||
		got.Meta["k"] != "v" || !got.Expires.Equal(want.Expires) || !got.Created.Equal(want.Created) || got.Temp != want.Temp {
		t.Fatalf("GetSession: %+v", got)
	}
	must(t, s.AdvanceSession(ctx, "s1", 0, 60, []byte("state60")))
	for _, tc := range [][2]int64{{0, 70}, {60, 101}, {60, 50}} {
		if err := s.AdvanceSession(ctx, "s1", tc[0], tc[1], nil); !errors.Is(err, upload.ErrConflict) {
			t.Fatalf("AdvanceSession %v: %v", tc, err)
		}
	}
	if err := s.AdvanceSession(ctx, "nope", 0, 1, nil); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("AdvanceSession of a missing session: %v", err)
	}
	got, _ = s.GetSession(ctx, "s1")
	if got.Offset != 60 || string(got.HashState) != "state60" {
		t.Fatalf("after AdvanceSession: %+v", got)
	}
	names, _ := s.TempNames(ctx)
	if !slices.Contains(names, want.Temp) {
		t.Fatalf("TempNames %v lacks the session's", names)
	}
	must(t, s.CreateSession(ctx, func() upload.Session { x := session("s2"); x.Expires = at(3 * time.Hour); return x }()))
	exp, err := s.ExpiredSessions(ctx, at(2*time.Hour))
	must(t, err)
	if len(exp) != 1 || exp[0].ID != "s1" {
		t.Fatalf("ExpiredSessions: %+v", exp)
	}
	u := sample("s1", time.Minute)
	u.Temp = want.Temp
	must(t, s.CompleteSession(ctx, u))
	if _, err := s.GetSession(ctx, "s1"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("session left after CompleteSession: %v", err)
	}
	if got, err := s.Get(ctx, "s1"); err != nil || got.State != upload.StateQueued {
		t.Fatalf("upload after CompleteSession: %+v %v", got, err)
	}
	if err := s.CompleteSession(ctx, sample("s9", 0)); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("CompleteSession without a session: %v", err)
	}
	must(t, s.DeleteSession(ctx, "s2"))
	must(t, s.DeleteSession(ctx, "s2"))
	if _, err := s.GetSession(ctx, "s2"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatal("DeleteSession left the session")
	}
}

// testConcurrentClaims: workers racing for jobs each get a different one;
// no job is handed out twice.
func testConcurrentClaims(t *testing.T, s upload.Store) {
	ctx := context.Background()
	const jobs, workers = 30, 6
	var ups []upload.Upload
	for i := range jobs {
		ups = append(ups, sample(fmt.Sprintf("c%02d", i), time.Duration(i)*time.Millisecond))
	}
	must(t, s.Create(ctx, ups...))
	var mu sync.Mutex
	claimed := map[string]string{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			name := fmt.Sprintf("w%d", w)
			for {
				u, err := s.Claim(ctx, name, at(time.Minute), time.Hour)
				if errors.Is(err, upload.ErrNotFound) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := claimed[u.ID]; dup {
					t.Errorf("%s claimed by %s and %s", u.ID, prev, name)
				}
				claimed[u.ID] = name
				mu.Unlock()
				if err := s.Finish(ctx, u.ID, name, upload.Finish{State: upload.StateDone}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(claimed) != jobs {
		t.Fatalf("%d of %d jobs claimed", len(claimed), jobs)
	}
	if !strings.HasPrefix(claimed["c00"], "w") {
		t.Fatal("c00 not claimed")
	}
}

// finished creates an upload and ends its job.
func finished(t *testing.T, s upload.Store, u upload.Upload) {
	t.Helper()
	ctx := context.Background()
	must(t, s.Create(ctx, u))
	got, err := s.Claim(ctx, "w", u.RunAt, time.Minute)
	must(t, err)
	if got.ID != u.ID {
		t.Fatalf("claimed %s, want %s", got.ID, u.ID)
	}
	must(t, s.Finish(ctx, u.ID, "w", upload.Finish{State: upload.StateDone}))
}

func testDeletionLease(t *testing.T, s upload.Store) {
	ctx := context.Background()
	a := sample("l1", 0)
	finished(t, s, a)
	if busy, err := s.Deleting(ctx, a.Key, at(0)); err != nil || busy {
		t.Fatalf("Deleting before any delete: %v %v", busy, err)
	}
	until := at(10 * time.Minute)
	_, others, err := s.Delete(ctx, "l1", until)
	must(t, err)
	if others != 0 {
		t.Fatalf("others %d", others)
	}
	for _, c := range []struct {
		now  time.Duration
		busy bool
	}{{time.Minute, true}, {10*time.Minute - time.Nanosecond, true}, {10 * time.Minute, false}} {
		if busy, err := s.Deleting(ctx, a.Key, at(c.now)); err != nil || busy != c.busy {
			t.Fatalf("Deleting at +%v: %v %v, want %v", c.now, busy, err, c.busy)
		}
	}
	// Not expired yet: nothing to reclaim.
	if keys, err := s.ExpiredDeletions(ctx, at(time.Minute), at(20*time.Minute)); err != nil || len(keys) != 0 {
		t.Fatalf("ExpiredDeletions before expiry: %v %v", keys, err)
	}
	// Expired with no upload of the key: leased again and returned.
	keys, err := s.ExpiredDeletions(ctx, at(11*time.Minute), at(21*time.Minute))
	must(t, err)
	if !slices.Equal(keys, []string{a.Key}) {
		t.Fatalf("ExpiredDeletions: %v", keys)
	}
	if busy, _ := s.Deleting(ctx, a.Key, at(12*time.Minute)); !busy {
		t.Fatal("the reclaimed key is not leased")
	}
	// The first deleter's late ObjectDeleted leaves the new lease alone.
	must(t, s.ObjectDeleted(ctx, a.Key, until))
	if busy, _ := s.Deleting(ctx, a.Key, at(12*time.Minute)); !busy {
		t.Fatal("an old lease's ObjectDeleted ended the new lease")
	}
	must(t, s.ObjectDeleted(ctx, a.Key, at(21*time.Minute)))
	if busy, _ := s.Deleting(ctx, a.Key, at(12*time.Minute)); busy {
		t.Fatal("ObjectDeleted did not end the lease")
	}
	// Expired while the key is in use again: the lease is dropped, the key
	// is not returned for deletion.
	b := sample("l2", time.Minute)
	b.Key = a.Key
	finished(t, s, b)
	_, _, err = s.Delete(ctx, "l2", at(15*time.Minute))
	must(t, err)
	c := sample("l3", 2*time.Minute)
	c.Key = a.Key
	must(t, s.Create(ctx, c))
	keys, err = s.ExpiredDeletions(ctx, at(16*time.Minute), at(26*time.Minute))
	must(t, err)
	if len(keys) != 0 {
		t.Fatalf("a key in use returned for deletion: %v", keys)
	}
	if busy, _ := s.Deleting(ctx, a.Key, at(16*time.Minute)); busy {
		t.Fatal("the expired lease of a key in use is kept")
	}
}

// testDeleteRacesCreate races the delete of the last upload of some
// content against the creation of another upload of it: either the delete
// counts the new upload (others 1), or the new upload, once created, sees
// the deletion lease. Never a delete that counted nothing while the new
// upload saw no lease (it would reuse an object about to go).
func testDeleteRacesCreate(t *testing.T, s upload.Store) {
	ctx := context.Background()
	for round := range 20 {
		a := sample(fmt.Sprintf("r%d-a", round), time.Duration(round)*time.Second)
		finished(t, s, a)
		b := sample(fmt.Sprintf("r%d-b", round), time.Duration(round)*time.Second+time.Millisecond)
		b.Key = a.Key
		var others int
		var sawLease bool
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			var err error
			_, others, err = s.Delete(ctx, a.ID, at(time.Hour))
			if err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			<-start
			if err := s.Create(ctx, b); err != nil {
				t.Error(err)
				return
			}
			busy, err := s.Deleting(ctx, b.Key, at(time.Minute))
			if err != nil {
				t.Error(err)
			}
			sawLease = busy
		})
		close(start)
		wg.Wait()
		if others == 0 && !sawLease {
			t.Fatalf("round %d: the delete counted no other upload and the new upload saw no deletion lease", round)
		}
		must(t, s.ObjectDeleted(ctx, a.Key, at(time.Hour)))
		// End b too, so the next round starts from no upload of the key.
		got, err := s.Claim(ctx, "w", b.RunAt, time.Minute)
		must(t, err)
		must(t, s.Finish(ctx, got.ID, "w", upload.Finish{State: upload.StateDone}))
		_, _, err = s.Delete(ctx, b.ID, at(time.Hour))
		must(t, err)
		must(t, s.ObjectDeleted(ctx, a.Key, at(time.Hour)))
	}
}
