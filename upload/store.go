package upload

import (
	"context"
	"time"
)

// State is where a job is in the pipeline:
// queued → processing → done | failed | cancelled.
type State string

// Job states.
const (
	StateQueued     State = "queued"
	StateProcessing State = "processing"
	StateDone       State = "done"
	StateFailed     State = "failed"
	StateCancelled  State = "cancelled"
)

// Terminal reports whether the state is final (done, failed, cancelled).
func (s State) Terminal() bool {
	return s == StateDone || s == StateFailed || s == StateCancelled
}

// Upload is one accepted file and its processing job.
type Upload struct {
	ID        string            `json:"id"`
	Owner     string            `json:"owner"`      // the uploader's principal id
	OwnerName string            `json:"owner_name"` // for display
	Name      string            `json:"name"`       // sanitized display name
	Type      string            `json:"type"`       // media type
	Size      int64             `json:"size"`
	SHA256    string            `json:"sha256"` // hex
	Key       string            `json:"-"`      // storage key (content-addressed)
	Temp      string            `json:"-"`      // temporary file until the job stores the file
	Meta      map[string]string `json:"meta,omitempty"`

	State           State     `json:"state"`
	Progress        int       `json:"progress"` // 0–100
	Message         string    `json:"message,omitempty"`
	Result          string    `json:"result,omitempty"` // JSON object from the processors
	Attempts        int       `json:"attempts"`
	CancelRequested bool      `json:"cancel_requested,omitempty"`
	RunAt           time.Time `json:"-"` // earliest next attempt
	LeaseOwner      string    `json:"-"`
	LeaseUntil      time.Time `json:"-"`
	Created         time.Time `json:"created"`
	Updated         time.Time `json:"updated"`
}

// Stored reports whether the file has been moved into storage.
func (u Upload) Stored() bool { return u.Temp == "" }

// Session is a resumable (tus) upload in progress. Its bytes are in the
// temporary file Temp; Offset bytes of Length have been received and
// fsynced; HashState is the SHA-256 state after Offset bytes.
type Session struct {
	ID        string
	Owner     string
	OwnerName string
	Name      string // sanitized display name
	Type      string // media type, from the name's extension
	Length    int64
	Offset    int64
	Temp      string
	HashState []byte
	Meta      map[string]string
	Created   time.Time
	Expires   time.Time
}

// ListOptions page through uploads, newest first.
type ListOptions struct {
	Limit  int    // at most this many (the store caps it at 1000; 0 means 50)
	Before string // only uploads older than the one with this id ("" = from the newest)
}

// Finish is a job's final outcome.
type Finish struct {
	State   State // done, failed or cancelled
	Message string
	Result  string
}

// Store keeps uploads, their jobs and resumable sessions. Every method is
// safe for concurrent use, by several processes sharing one database where
// the implementation allows. Leases make a job belong to one worker at a
// time: a worker's writes to a job fail with ErrLeaseLost once another
// worker took it over. uploadtest.TestStore checks an implementation.
type Store interface {
	// Create adds queued uploads, all or none; ErrConflict when an id
	// exists.
	Create(ctx context.Context, ups ...Upload) error
	// Get returns an upload; ErrNotFound when there is none.
	Get(ctx context.Context, id string) (Upload, error)
	// List returns uploads newest first.
	List(ctx context.Context, opts ListOptions) ([]Upload, error)
	// Claim leases the next due job to worker until now+lease: the oldest
	// queued job whose RunAt has come, or a processing job whose lease
	// expired (its worker died). It sets processing, counts an attempt
	// and returns the job; ErrNotFound when none is due.
	Claim(ctx context.Context, worker string, now time.Time, lease time.Duration) (Upload, error)
	// Renew extends worker's lease until until and records progress; it
	// returns the job (to see CancelRequested). ErrLeaseLost when worker
	// no longer holds the lease.
	Renew(ctx context.Context, id, worker string, until time.Time, progress int, message string) (Upload, error)
	// MarkStored records that the job's file is in storage (Temp cleared).
	MarkStored(ctx context.Context, id, worker string) error
	// Finish ends worker's job; ErrLeaseLost when worker lost it.
	Finish(ctx context.Context, id, worker string, f Finish) error
	// Release hands worker's job back to the queue, due at runAt, with a
	// message; with refund the attempt is not counted (a shutdown, not a
	// failure).
	Release(ctx context.Context, id, worker string, runAt time.Time, message string, refund bool) error
	// RequestCancel flags a queued or processing job for cancellation and
	// returns it; ErrConflict when it already ended.
	RequestCancel(ctx context.Context, id string) (Upload, error)
	// Delete removes a finished upload and returns how many other uploads
	// still use its storage key; ErrConflict while its job has not ended.
	// When none does, it takes the key's deletion lease until until in the
	// same step: the caller deletes the object, then calls ObjectDeleted.
	// The count and the lease are serialized with Create and
	// CompleteSession, so an upload of the same content made after the
	// count sees the lease (Deleting).
	Delete(ctx context.Context, id string, until time.Time) (Upload, int, error)
	// Deleting reports whether a deletion lease on key holds at now: the
	// object may be going away, so a job must not count on it.
	Deleting(ctx context.Context, key string, now time.Time) (bool, error)
	// ObjectDeleted ends the deletion lease of key taken until until (a
	// lease taken again since, with another until, is left alone).
	ObjectDeleted(ctx context.Context, key string, until time.Time) error
	// ExpiredDeletions handles deletion leases that expired before now
	// (their deleter died or failed): a key no upload uses any more is
	// leased again until until and returned, for the caller to delete
	// and end with ObjectDeleted; a key in use again loses its lease (its
	// jobs store the file anew).
	ExpiredDeletions(ctx context.Context, now, until time.Time) ([]string, error)
	// Pending counts queued and processing jobs.
	Pending(ctx context.Context) (int, error)
	// TempNames lists the temporary files uploads and sessions refer to.
	TempNames(ctx context.Context) ([]string, error)

	// CreateSession adds a resumable upload; ErrConflict when the id exists.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns a session; ErrNotFound when there is none.
	GetSession(ctx context.Context, id string) (Session, error)
	// AdvanceSession moves a session's offset from from to to with the
	// hash state at to; ErrConflict when its offset is not from.
	AdvanceSession(ctx context.Context, id string, from, to int64, hashState []byte) error
	// DeleteSession removes a session; a missing one is no error.
	DeleteSession(ctx context.Context, id string) error
	// ExpiredSessions lists sessions whose Expires is before now.
	ExpiredSessions(ctx context.Context, now time.Time) ([]Session, error)
	// CompleteSession replaces a finished session by the queued upload u
	// (same id) in one step; ErrNotFound when the session is gone.
	CompleteSession(ctx context.Context, u Upload) error
}
