// Package upload is admin-only file upload for finkit apps: a streaming
// intake handler, validation of names and types, local (or pluggable)
// storage, resumable uploads (tus 1.0), and a goroutine worker pipeline
// that stores and processes every accepted file with job status. Nothing
// acknowledged is lost: a file answered with 202 is fsynced before the
// answer, its job is in the Store, and a crashed worker's job is taken
// over when its lease expires.
//
//	dir, _ := upload.OpenFS("data/uploads")
//	m, err := upload.New(ctx, upload.Options{
//		Dir:       dir,
//		Store:     store, // upload/sqlstore, or nil for memory
//		Authorize: adminsOnly,
//		Processors: map[string][]upload.Processor{
//			"image/png": {upload.ImageProcessor(40_000_000)},
//		},
//	})
//	http.Handle("/uploads", m.Handler())
//	http.Handle("/uploads/", m.Handler())
//	defer m.Shutdown(ctx)
//
// # Intake
//
// POST /uploads takes multipart/form-data, read as a stream (never parsed
// into memory), under http.MaxBytesReader and the limits of Options:
// bytes per file and per request, files per request. Authorize runs
// before a byte of the body is read (401 or 403). Each file part is checked
// from its first bytes, then written to a temporary file inside the storage
// root while its SHA-256 is computed in the same pass (on a second
// goroutine, at the same time as each piece is written), with the
// kernel's writeback of the file started as it grows so the fsync before
// the answer has little left to do. A request is
// accepted whole (202 with the job ids) or not at all: on any error every
// file it sent is deleted. Non-file form fields (such as "account") become
// the upload's Meta for the processors. When the queue is full the answer
// is 503 with Retry-After, before anything is stored. A body that sends
// nothing for Options.BodyIdleTimeout (a stalled or slowloris client) is
// ended with 408 and leaves nothing, so it holds no queue slot for long.
//
// # Names and types
//
// A client's file name is only ever displayed: SanitizeName keeps its last
// path component without control or bidi characters, in NFC, at most 255
// bytes. A name with a NUL byte is refused, not sanitized (CheckName, 400):
// "x.exe\x00.csv" must not pass as "x.exe.csv". The type of a file is
// checked three ways: its extension must be on the allow-list (see
// FileType and DefaultTypes), the type
// http.DetectContentType sniffs from its first bytes must be the one that
// extension promises, and so must its signature; text types are checked for
// NUL bytes and invalid UTF-8 over the whole content, as it arrives (each
// tus PATCH as well, so a resumable upload is not read again at its end). Files are stored under
// content-addressed keys (sha256/ab/abcd…), so equal files are kept once.
//
// # Storage
//
// Storage is four methods (Put, Open, Stat, Delete), small enough for an
// S3-compatible backend. FS is the local file system, rooted in one
// directory through an os.Root so that nothing can be written outside it;
// its writes are atomic (temporary file, fsync, rename, fsync of the
// directory). Temporary files always live in Options.Dir. With another
// Storage (upload/s3storage, an S3-compatible server several instances
// share), an accepted file is staged there under incoming/{id} before it
// is acknowledged, so any instance can run its job; the job then moves it
// to its content-addressed key (server-side when the Storage is a
// Copier). When that Storage fails while a file is staged (an
// object-storage outage), the answer is 503 with Retry-After and the
// error "file storage is unavailable, try again later" (ErrUnavailable),
// and nothing is kept; Client sends such a request again after the
// Retry-After, and a tus upload whose last PATCH met the outage keeps its
// bytes and is completed by the HEAD a resuming client sends (a 503 while
// the storage is still down) or by an empty PATCH at its end. Staged
// objects that no upload refers to (an instance died between staging a
// file and recording it) are deleted by the janitor after
// Options.StagingGrace when the Storage is a Lister (FS and
// upload/s3storage are); staging a file and recording it must end within
// half of it. The janitor also aborts incomplete multipart uploads started
// more than StagingGrace ago when the Storage is an Aborter
// (upload/s3storage is): an instance killed in the middle of a Put leaves
// one behind, and S3 keeps (and bills) its parts until it is aborted.
// Every instance of one deployment must therefore use the same Storage
// (for upload/s3storage, the same bucket and prefix), and two deployments
// must never share a bucket and prefix: each would delete the other's
// staged objects and abort its uploads. A delete of the
// last upload of some content leases its key in the Store while the
// object is deleted; a job storing the same content meanwhile waits and
// stores it anew.
//
// # Pipeline
//
// Every accepted file is a job: queued → processing → done, failed or
// cancelled, with progress (0–100) and a message. Options.Workers goroutines
// claim due jobs from the Store with a lease they renew while the job runs.
// A job first moves its file into storage, then runs the Processors of its
// media type with Options.JobTimeout. An error wrapped with Transient is
// retried with exponential back-off up to Options.MaxAttempts; any other
// error fails the job with its text as the message. Cancel stops a running
// job through its context. Watch (and GET /uploads/{id}/events, as
// server-sent events) reports every change. Shutdown stops intake, lets
// running jobs finish, and when its context ends first hands them back to
// the queue. New resumes unfinished jobs (a crashed worker's once its lease
// expires) and deletes temporary files nothing refers to.
//
// # Resumable uploads
//
// The handler also speaks tus 1.0 under /uploads/tus/ (core, creation,
// termination, expiration, checksum with sha256), so a standard tus client
// can send a large file in chunks and resume after a dropped connection:
// each PATCH is fsynced and its offset recorded, together with the SHA-256
// state, before it is acknowledged. The upload's type is checked as soon
// as its first bytes arrive. Unfinished uploads expire after
// Options.SessionTTL (default 24 h) and are deleted by the janitor. Client
// is a Go client for both ways.
//
// # HTTP API
//
// See Manager.Handler. Errors are JSON {"error": "..."} with status 400,
// 401, 403, 404, 408, 409, 410, 413, 415, 460 (tus checksum) or 503; the text of
// an internal error is never shown. Every accepted, rejected, processed,
// cancelled, expired and deleted upload goes to the audit log
// (logging.Audit) with who, size, hash, type and outcome.
package upload
