package upload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/finkit/finkit/logging"
)

// work is one worker goroutine: it claims due jobs until Shutdown.
func (m *Manager) work(worker string) {
	defer m.workers.Done()
	poll := time.NewTicker(m.opts.Poll)
	defer poll.Stop()
	for {
		select {
		case <-m.stopClaim:
			return
		default:
		}
		u, err := m.opts.Store.Claim(m.runCtx, worker, m.now(), m.opts.Lease)
		if err == nil {
			m.run(worker, u)
			continue
		}
		if !errors.Is(err, ErrNotFound) {
			m.opts.Logger.Warn("upload: claim a job", slog.Any("error", err))
		}
		select {
		case <-m.stopClaim:
			return
		case <-m.wake:
		case <-poll.C:
		}
	}
}

// run does one attempt of a job the worker holds the lease of.
func (m *Manager) run(worker string, u Upload) {
	ctx, cancel := context.WithCancelCause(m.runCtx)
	defer cancel(nil)
	m.mu.Lock()
	m.running[u.ID] = cancel
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.running, u.ID)
		m.mu.Unlock()
		m.notify(u.ID)
	}()
	if u.CancelRequested {
		cancel(errCancelled)
	}
	job := newJob(u, m.opts.Storage)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		m.keepLease(ctx, cancel, worker, job)
	}()
	err := m.attempt(ctx, worker, job)
	cancel(nil)
	<-renewed
	m.settle(worker, job, err, context.Cause(ctx))
}

// keepLease renews the job's lease every third of its length and saves its
// progress, until ctx ends. A lost lease or a cancellation request cancels
// the job.
func (m *Manager) keepLease(ctx context.Context, cancel context.CancelCauseFunc, worker string, job *Job) {
	t := time.NewTicker(max(m.opts.Lease/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-job.changed:
		}
		p, msg := job.snapshot()
		u, err := m.opts.Store.Renew(ctx, job.Upload.ID, worker, m.now().Add(m.opts.Lease), p, msg)
		switch {
		case errors.Is(err, ErrLeaseLost):
			cancel(ErrLeaseLost)
			return
		case err != nil:
			if ctx.Err() == nil {
				m.opts.Logger.Warn("upload: renew lease", slog.String("id", job.Upload.ID), slog.Any("error", err))
			}
		case u.CancelRequested:
			cancel(errCancelled)
			return
		}
		m.notify(job.Upload.ID)
	}
}

// attempt stores the job's file (once) and runs its processors.
func (m *Manager) attempt(ctx context.Context, worker string, job *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			m.opts.Logger.Error("upload: processor panicked", slog.String("id", job.Upload.ID), slog.Any("panic", r))
			err = errors.New("internal error while processing the file")
		}
	}()
	if !job.Upload.Stored() {
		if err := m.store(ctx, worker, job.Upload); err != nil {
			return err
		}
		job.Upload.Temp = ""
	}
	if err := context.Cause(ctx); errors.Is(err, errCancelled) {
		return err
	}
	procs := m.opts.Processors[job.Upload.Type]
	if len(procs) == 0 {
		return nil
	}
	pctx, stop := context.WithTimeoutCause(ctx, m.opts.JobTimeout, errJobTimeout)
	defer stop()
	for _, p := range procs {
		if err := p.Process(pctx, job); err != nil {
			if c := context.Cause(pctx); c != nil {
				return c
			}
			return err
		}
		if c := context.Cause(pctx); c != nil {
			return c
		}
	}
	return nil
}

var errJobTimeout = Transient(errors.New("processing took too long"))

// errKeyBusy: the job's content is being deleted (another upload of the
// same bytes was deleted a moment ago); the job waits, without counting an
// attempt, and then stores the file anew.
var errKeyBusy = errors.New("upload: the same content is being deleted")

// errStore is a job's failure to store its file. The job's message says
// only that; the storage's own error, which names servers and paths, goes
// to the audit log.
var errStore = errors.New("the file could not be stored")

// jobMessage is what an upload's status may say of a job's error.
func jobMessage(err error) string {
	if errors.Is(err, errStore) {
		return errStore.Error()
	}
	return err.Error()
}

// store moves the job's temporary file into storage under its
// content-addressed key and records it. A temporary file already gone
// while the object exists means an earlier attempt moved it and crashed
// before recording it.
func (m *Manager) store(ctx context.Context, worker string, u Upload) error {
	unlock := m.lockKey(u.Key)
	defer unlock()
	deleting, err := m.opts.Store.Deleting(ctx, u.Key, m.now())
	if err != nil {
		return Transient(fmt.Errorf("%w: %w", errStore, err))
	}
	if deleting {
		return errKeyBusy
	}
	err = m.commit(ctx, u)
	if errors.Is(err, ErrNotFound) {
		if _, serr := m.opts.Storage.Stat(ctx, u.Key); serr == nil {
			err = nil
		}
	}
	if err != nil {
		return Transient(fmt.Errorf("%w: %w", errStore, err)) // a full or failing disk may recover
	}
	m.forgetTemp(u.Temp)
	if err := m.opts.Store.MarkStored(ctx, u.ID, worker); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	return nil
}

func (m *Manager) commit(ctx context.Context, u Upload) error {
	if staged, ok := stagedKey(u.Temp); ok {
		return m.commitStaged(ctx, staged, u)
	}
	if fs, ok := m.opts.Storage.(*FS); ok && fs == m.opts.Dir {
		return m.opts.Dir.Commit(ctx, u.Temp, u.Key, true)
	}
	if _, err := m.opts.Storage.Stat(ctx, u.Key); err == nil {
		return m.opts.Dir.RemoveTemp(u.Temp)
	}
	f, err := m.opts.Dir.OpenTemp(u.Temp)
	if err != nil {
		return err
	}
	_, err = m.opts.Storage.Put(ctx, u.Key, f)
	_ = f.Close()
	if err != nil {
		return Transient(err)
	}
	return m.opts.Dir.RemoveTemp(u.Temp)
}

// settle records how an attempt ended: done, failed, cancelled, handed
// back (shutdown), retried later (transient) or left alone (lease lost).
func (m *Manager) settle(worker string, job *Job, err, cause error) {
	ctx := context.Background() // the job's context has ended; the outcome must still be written
	u := job.Upload
	p := Principal{ID: u.Owner, Name: u.OwnerName}
	_, msg := job.snapshot()
	var werr error
	switch {
	case errors.Is(cause, ErrLeaseLost):
		m.opts.Logger.Warn("upload: lease lost; another worker has the job", slog.String("id", u.ID))
		return
	case errors.Is(err, errKeyBusy) && !errors.Is(cause, errCancelled):
		werr = m.opts.Store.Release(ctx, u.ID, worker, m.now().Add(m.opts.RetryBackoff), "waiting for a deletion of the same content to end", true)
	case errors.Is(cause, errShutdown) && !errors.Is(err, errCancelled):
		werr = m.opts.Store.Release(ctx, u.ID, worker, m.now(), "interrupted by a shutdown; will resume", true)
	case errors.Is(cause, errCancelled) || errors.Is(err, errCancelled):
		werr = m.opts.Store.Finish(ctx, u.ID, worker, Finish{State: StateCancelled, Message: "cancelled", Result: job.resultJSON()})
		m.audit(ctx, "upload.cancelled", p, u, "cancelled")
	case err == nil:
		werr = m.opts.Store.Finish(ctx, u.ID, worker, Finish{State: StateDone, Message: doneMessage(msg), Result: job.resultJSON()})
		m.audit(ctx, "upload.processed", p, u, "done")
	case IsTransient(err) && u.Attempts < m.opts.MaxAttempts:
		wait := m.backoff(u.Attempts)
		werr = m.opts.Store.Release(ctx, u.ID, worker, m.now().Add(wait), fmt.Sprintf("attempt %d failed (%s); retrying in %v", u.Attempts, jobMessage(err), wait), false)
		m.audit(ctx, "upload.retry", p, u, "retry", slog.String("reason", err.Error()))
	default:
		werr = m.opts.Store.Finish(ctx, u.ID, worker, Finish{State: StateFailed, Message: jobMessage(err), Result: job.resultJSON()})
		m.audit(ctx, "upload.failed", p, u, "failed", slog.String("reason", err.Error()))
	}
	if werr != nil {
		m.opts.Logger.Error("upload: record job outcome", slog.String("id", u.ID), slog.Any("error", werr))
	}
}

func doneMessage(msg string) string {
	if msg == "" {
		return "done"
	}
	return msg
}

// backoff is the delay before retry n+1: RetryBackoff·2^(n-1), at most 5 min.
func (m *Manager) backoff(n int) time.Duration {
	d := m.opts.RetryBackoff
	for i := 1; i < n && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// audit writes one audit record about an upload.
func (m *Manager) audit(ctx context.Context, event string, p Principal, u Upload, outcome string, extra ...slog.Attr) {
	attrs := []slog.Attr{
		slog.String("user_id", p.ID), slog.String("user", p.Name),
		slog.String("upload_id", u.ID), slog.String("name", u.Name),
		slog.Int64("size", u.Size), slog.String("sha256", u.SHA256), slog.String("type", u.Type),
		slog.String("outcome", outcome),
	}
	logging.Audit(ctx, m.opts.Logger, event, append(attrs, extra...)...)
}

// notify wakes the watchers of an upload.
func (m *Manager) notify(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch := range m.subs[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (m *Manager) notifyAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, set := range m.subs {
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// Watch sends the upload's status each time it changes, starting with the
// current one, and closes the channel once the job has ended (after
// sending the final status), when ctx ends or when the Manager shuts down.
// Changes made by other processes sharing the store are seen within
// Options.Poll.
func (m *Manager) Watch(ctx context.Context, id string) (<-chan Upload, error) {
	first, err := m.opts.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	wake := make(chan struct{}, 1)
	m.mu.Lock()
	if m.subs[id] == nil {
		m.subs[id] = map[chan struct{}]bool{}
	}
	m.subs[id][wake] = true
	m.mu.Unlock()
	out := make(chan Upload, 1)
	go func() {
		defer close(out)
		defer func() {
			m.mu.Lock()
			delete(m.subs[id], wake)
			if len(m.subs[id]) == 0 {
				delete(m.subs, id)
			}
			m.mu.Unlock()
		}()
		m.watchLoop(ctx, first, wake, out)
	}()
	return out, nil
}

func (m *Manager) watchLoop(ctx context.Context, u Upload, wake <-chan struct{}, out chan<- Upload) {
	poll := time.NewTicker(m.opts.Poll)
	defer poll.Stop()
	last := Upload{}
	for {
		if u.Updated != last.Updated || u.State != last.State || u.Progress != last.Progress || u.Message != last.Message {
			select {
			case out <- u:
			case <-ctx.Done():
				return
			}
			last = u
		}
		if u.State.Terminal() || m.closed.Load() && m.stopped() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		}
		next, err := m.opts.Store.Get(ctx, u.ID)
		if err != nil {
			return // deleted, or the store failed: the watcher reloads
		}
		u = next
	}
}

// stopped reports whether Shutdown has finished stopping the jobs.
func (m *Manager) stopped() bool {
	return m.runCtx.Err() != nil
}
