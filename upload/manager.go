package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Principal is who makes a request, as Options.Authorize says.
type Principal struct {
	ID   string // stable id, stored as the upload's owner
	Name string // for display and the audit log
}

// Options configure a Manager. Dir and Authorize are required.
type Options struct {
	// Dir holds temporary files of uploads in progress and, when Storage
	// is nil, the stored files too.
	Dir *FS
	// Storage keeps the stored files; nil means Dir.
	Storage Storage
	// Store keeps uploads, jobs and resumable sessions; nil means a new
	// MemStore (nothing survives a restart).
	Store Store
	// Authorize says who makes a request, or fails with ErrUnauthenticated
	// (401) or ErrForbidden (403). It runs before any byte of the body is
	// read, for every endpoint.
	Authorize func(r *http.Request) (Principal, error)
	// Logger receives the audit log (logging.Audit) and pipeline errors;
	// nil discards them.
	Logger *slog.Logger
	// Types is the allow-list; empty means DefaultTypes().
	Types []FileType
	// Processors run, in order, for each stored file of a media type.
	Processors map[string][]Processor

	Workers        int           // worker goroutines; default 2
	QueueSize      int           // jobs queued or running at most; default 64
	MaxFileSize    int64         // bytes per file; default 32 MiB
	MaxRequestSize int64         // bytes per multipart request; default 64 MiB
	MaxFiles       int           // files per multipart request; default 10
	MaxResumable   int64         // bytes per resumable (tus) upload; default 4 GiB
	JobTimeout     time.Duration // per attempt of a job's processors; default 5 min
	MaxAttempts    int           // attempts of a job with transient errors; default 3
	RetryBackoff   time.Duration // first retry delay, doubled each time (max 5 min); default 1 s
	Lease          time.Duration // job lease, renewed every third of it; default 30 s
	Poll           time.Duration // how often idle workers look for due jobs; default 1 s
	SessionTTL     time.Duration // unfinished resumable uploads expire after; default 24 h
	// BodyIdleTimeout ends a request whose body sends nothing for this
	// long (a stalled or slowloris client) with 408; what it sent is
	// discarded (multipart) or kept up to the last byte received (tus).
	// Default 30 s.
	BodyIdleTimeout time.Duration
	// OrphanAge: temporary files no upload or session refers to are
	// deleted on start and by the janitor once they are older than this.
	// 0 deletes them at once, right for one process per directory; set it
	// above the longest upload when several processes share Dir.
	OrphanAge time.Duration
	// StagingGrace: with a shared Storage that is a Lister, objects
	// staged under incoming/ that no upload refers to (an instance died
	// between staging a file and recording it, or a staged copy could not
	// be deleted after its job) are deleted by the janitor once they are
	// older than this. Staging a file and recording its upload must end
	// within half of it together (a slower staging is a 503, nothing
	// kept). Default 1 h.
	StagingGrace time.Duration
	// BasePath is where Handler is mounted; default "/uploads".
	BasePath string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	setDefault(&o.Workers, 2)
	setDefault(&o.QueueSize, 64)
	setDefault(&o.MaxFileSize, 32<<20)
	setDefault(&o.MaxRequestSize, 64<<20)
	setDefault(&o.MaxFiles, 10)
	setDefault(&o.MaxResumable, 4<<30)
	setDefault(&o.JobTimeout, 5*time.Minute)
	setDefault(&o.MaxAttempts, 3)
	setDefault(&o.RetryBackoff, time.Second)
	setDefault(&o.Lease, 30*time.Second)
	setDefault(&o.Poll, time.Second)
	setDefault(&o.SessionTTL, 24*time.Hour)
	setDefault(&o.BodyIdleTimeout, 30*time.Second)
	setDefault(&o.StagingGrace, time.Hour)
	setDefault(&o.BasePath, "/uploads")
	if o.Storage == nil {
		o.Storage = o.Dir
	}
	if o.Store == nil {
		o.Store = NewMemStore()
	}
	if len(o.Types) == 0 {
		o.Types = DefaultTypes()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Manager runs the upload pipeline: intake, storage, the worker pool and
// the janitor. Create it with New, serve Handler, stop it with Shutdown.
type Manager struct {
	opts   Options
	worker string // this process's lease owner prefix

	closed   atomic.Bool
	reserved atomic.Int64 // files being received, not yet in the store
	intake   sync.WaitGroup
	intakeMu sync.Mutex // orders intake.Add before Shutdown's Wait
	bodies   sync.Map   // *stoppableBody of requests being read, for Shutdown

	wake      chan struct{}   // nudges idle workers
	stopClaim chan struct{}   // closed by Shutdown: no new claims
	runCtx    context.Context // parent of every job's context
	cancelRun context.CancelCauseFunc
	workers   sync.WaitGroup
	shutdown  sync.Once

	mu      sync.Mutex
	active  map[string]bool                    // temporary files in use by this process
	running map[string]context.CancelCauseFunc // jobs running here, by id
	subs    map[string]map[chan struct{}]bool  // watchers, by upload id
	keyMu   map[string]*sync.Mutex             // storage keys being committed or deleted
	tusMu   map[string]*sync.Mutex             // sessions being written
}

var (
	errCancelled = errors.New("upload: job cancelled")
	errShutdown  = errors.New("upload: shutting down")
)

// New checks opts, deletes orphaned temporary files, and starts the
// workers (which resume every unfinished job in the store) and the janitor.
func New(ctx context.Context, opts Options) (*Manager, error) {
	if opts.Dir == nil {
		return nil, errors.New("upload: Options.Dir is required")
	}
	if opts.Authorize == nil {
		return nil, errors.New("upload: Options.Authorize is required")
	}
	opts.defaults()
	m := &Manager{
		opts:      opts,
		worker:    "w-" + randomID(),
		wake:      make(chan struct{}, opts.Workers),
		stopClaim: make(chan struct{}),
		active:    map[string]bool{},
		running:   map[string]context.CancelCauseFunc{},
		subs:      map[string]map[chan struct{}]bool{},
		keyMu:     map[string]*sync.Mutex{},
		tusMu:     map[string]*sync.Mutex{},
	}
	if err := m.sweep(ctx); err != nil {
		return nil, err
	}
	m.runCtx, m.cancelRun = context.WithCancelCause(context.Background())
	for i := range opts.Workers {
		m.workers.Add(1)
		go m.work(fmt.Sprintf("%s-%d", m.worker, i))
	}
	m.workers.Add(1)
	go m.janitor()
	return m, nil
}

// Shutdown stops intake (new requests get 503), lets running jobs finish
// and waits for every goroutine. When ctx ends first, running jobs are
// cancelled and handed back to the queue (the next start resumes them),
// and Shutdown returns ctx's error once every goroutine has returned.
func (m *Manager) Shutdown(ctx context.Context) error {
	var err error
	m.shutdown.Do(func() {
		m.intakeMu.Lock()
		m.closed.Store(true) // no enterIntake succeeds from here on
		m.intakeMu.Unlock()
		close(m.stopClaim)
		done := make(chan struct{})
		go func() {
			m.intake.Wait()
			m.workers.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			err = ctx.Err()
			m.cancelRun(errShutdown)
			m.stopBodies() // a stalled client must not hold Shutdown forever
			<-done
		}
		m.cancelRun(errShutdown)
		m.notifyAll()
	})
	return err
}

// enterIntake counts a request that may store bytes, for Shutdown to wait
// for; false once Shutdown has begun (a WaitGroup must not be added to
// while it is being waited for from zero).
func (m *Manager) enterIntake() bool {
	m.intakeMu.Lock()
	defer m.intakeMu.Unlock()
	if m.closed.Load() {
		return false
	}
	m.intake.Add(1)
	return true
}

func (m *Manager) now() time.Time { return m.opts.Now() }

func (m *Manager) nudge() {
	for range m.opts.Workers {
		select {
		case m.wake <- struct{}{}:
		default:
			return
		}
	}
}

// lockKey serializes commits and deletes of one storage key in this
// process, so a delete of the last reference cannot race a commit of the
// same content.
func (m *Manager) lockKey(key string) func() {
	return lockIn(&m.mu, m.keyMu, key)
}

func lockIn(mu *sync.Mutex, locks map[string]*sync.Mutex, key string) func() {
	mu.Lock()
	l, ok := locks[key]
	if !ok {
		l = &sync.Mutex{}
		locks[key] = l
	}
	mu.Unlock()
	l.Lock()
	return l.Unlock // the map keeps one small mutex per key seen; bounded by the store's size
}

// newTemp creates a temporary file, marked in use before it exists.
func (m *Manager) newTemp() (string, *os.File, error) {
	name := NewTempName()
	m.mu.Lock()
	m.active[name] = true
	m.mu.Unlock()
	f, err := m.opts.Dir.CreateTemp(name)
	if err != nil {
		m.dropTemp(name)
		return "", nil, err
	}
	return name, f, nil
}

// dropTemp removes a temporary file and forgets it.
func (m *Manager) dropTemp(name string) {
	if err := m.opts.Dir.RemoveTemp(name); err != nil {
		m.opts.Logger.Warn("upload: remove temporary file", slog.String("temp", name), slog.Any("error", err))
	}
	m.forgetTemp(name)
}

func (m *Manager) forgetTemp(name string) {
	m.mu.Lock()
	delete(m.active, name)
	m.mu.Unlock()
}

func (m *Manager) isActive(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active[name]
}

// sweep deletes expired sessions and orphaned temporary files.
func (m *Manager) sweep(ctx context.Context) error {
	expired, err := m.opts.Store.ExpiredSessions(ctx, m.now())
	if err != nil {
		return fmt.Errorf("upload: expired sessions: %w", err)
	}
	for _, s := range expired {
		m.expireSession(ctx, s)
	}
	if err := m.finishDeletions(ctx); err != nil {
		return err
	}
	m.sweepStaged(ctx)
	temps, err := m.opts.Dir.Temps()
	if err != nil {
		return err
	}
	if len(temps) == 0 {
		return nil
	}
	refs, err := m.opts.Store.TempNames(ctx) // read after listing: a file listed and then referenced is kept
	if err != nil {
		return fmt.Errorf("upload: referenced temporary files: %w", err)
	}
	used := make(map[string]bool, len(refs))
	for _, r := range refs {
		used[r] = true
	}
	cutoff := m.now().Add(-m.opts.OrphanAge)
	for _, t := range temps {
		if used[t.Name] || m.isActive(t.Name) || t.ModTime.After(cutoff) && m.opts.OrphanAge > 0 {
			continue
		}
		if err := m.opts.Dir.RemoveTemp(t.Name); err == nil {
			m.opts.Logger.Info("upload: orphaned temporary file deleted", slog.String("temp", t.Name), slog.Int64("size", t.Size))
		}
	}
	return nil
}

// janitor sweeps periodically until Shutdown.
func (m *Manager) janitor() {
	defer m.workers.Done()
	every := min(max(m.opts.SessionTTL/24, time.Second), 10*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stopClaim:
			return
		case <-t.C:
			if err := m.sweep(m.runCtx); err != nil {
				m.opts.Logger.Warn("upload: janitor", slog.Any("error", err))
			}
		}
	}
}

// Get returns an upload.
func (m *Manager) Get(ctx context.Context, id string) (Upload, error) {
	return m.opts.Store.Get(ctx, id)
}

// List returns uploads newest first.
func (m *Manager) List(ctx context.Context, opts ListOptions) ([]Upload, error) {
	return m.opts.Store.List(ctx, opts)
}

// Cancel asks for a job to be cancelled: a running job's context is
// cancelled, a queued one ends as cancelled when a worker takes it (after
// its file is stored, which is never undone). ErrConflict when the job
// has ended.
func (m *Manager) Cancel(ctx context.Context, p Principal, id string) (Upload, error) {
	u, err := m.opts.Store.RequestCancel(ctx, id)
	if err != nil {
		return Upload{}, err
	}
	m.mu.Lock()
	cancel := m.running[id]
	m.mu.Unlock()
	if cancel != nil {
		cancel(errCancelled)
	}
	m.audit(ctx, "upload.cancel_requested", p, u, "requested")
	m.nudge()
	m.notify(id)
	return u, nil
}

// Delete removes a finished upload, and its stored file when no other
// upload has the same content. ErrConflict while its job runs. When the
// store finds no other upload of the content, it leases the key for
// deletion in the same step; a job storing the same content meanwhile (in
// this process or another sharing the store) waits for the lease to end
// instead of counting on the object being deleted, and then stores the
// file anew.
func (m *Manager) Delete(ctx context.Context, p Principal, id string) error {
	u, err := m.opts.Store.Get(ctx, id)
	if err != nil {
		return err
	}
	unlock := m.lockKey(u.Key)
	defer unlock()
	until := m.now().Add(m.deletionLease())
	u, others, err := m.opts.Store.Delete(ctx, id, until)
	if err != nil {
		return err
	}
	if others == 0 {
		m.deleteObject(context.WithoutCancel(ctx), u.Key, until)
	}
	m.audit(ctx, "upload.deleted", p, u, "deleted")
	m.notify(id)
	return nil
}

// deletionLease is how long a key stays leased for deletion: well past
// the time a storage delete may take (deleteObject gives up at half).
func (m *Manager) deletionLease() time.Duration { return 10 * m.opts.Lease }

// deleteObject deletes the object of a key leased for deletion until
// until and ends the lease. On failure the lease is left to expire; the
// janitor then tries again.
func (m *Manager) deleteObject(ctx context.Context, key string, until time.Time) {
	ctx, cancel := context.WithDeadline(ctx, until.Add(-m.deletionLease()/2))
	defer cancel()
	if err := m.opts.Storage.Delete(ctx, key); err != nil {
		m.opts.Logger.Error("upload: delete stored file", slog.String("key", key), slog.Any("error", err))
		return
	}
	if err := m.opts.Store.ObjectDeleted(ctx, key, until); err != nil {
		m.opts.Logger.Warn("upload: end deletion lease", slog.String("key", key), slog.Any("error", err))
	}
}

// finishDeletions deletes the objects whose deleters died or failed.
func (m *Manager) finishDeletions(ctx context.Context) error {
	until := m.now().Add(m.deletionLease())
	keys, err := m.opts.Store.ExpiredDeletions(ctx, m.now(), until)
	if err != nil {
		return fmt.Errorf("upload: expired deletions: %w", err)
	}
	for _, key := range keys {
		unlock := m.lockKey(key)
		m.deleteObject(ctx, key, until)
		unlock()
	}
	return nil
}

// Open opens a stored file for download; ErrConflict until the job has
// stored it.
func (m *Manager) Open(ctx context.Context, id string) (Upload, io.ReadSeekCloser, error) {
	u, err := m.opts.Store.Get(ctx, id)
	if err != nil {
		return Upload{}, nil, err
	}
	if !u.Stored() {
		return Upload{}, nil, fmt.Errorf("%w: the file is not stored yet", ErrConflict)
	}
	f, err := m.opts.Storage.Open(ctx, u.Key)
	if err != nil {
		if errors.Is(err, ErrNotFound) { // the store has it, the storage not: say so without the storage's detail
			m.opts.Logger.Error("upload: stored file missing", slog.String("id", id), slog.String("key", u.Key), slog.Any("error", err))
			return Upload{}, nil, errors.New("upload: the stored file is missing")
		}
		return Upload{}, nil, err
	}
	return u, f, nil
}
