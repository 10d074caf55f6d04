package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/finkit/finkit/upload"
)

// uploadResult is one file's outcome, as --json prints it.
type uploadResult struct {
	File   string         `json:"file"`
	Upload *upload.Upload `json:"upload,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// runUpload sends files to a finkit server's upload API, shows a progress
// bar per file, waits for the jobs and prints each file's final status.
// The exit code is 1 when a file was refused or its job did not finish
// done.
func runUpload(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("upload", e)
	server := fs.String("server", envOr("FINKIT_SERVER", "http://localhost:8080"), "dashboard URL (env FINKIT_SERVER)")
	token := fs.String("token", os.Getenv("FINKIT_TOKEN"), "an admin's session token (env FINKIT_TOKEN; from POST /api/login)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	kind := fs.String("kind", "", "CSV kind: transactions or prices (default: detect from the header)")
	account := fs.String("account", "", "book transaction CSV rows into this account")
	resumable := fs.Int64("resumable-over", 8<<20, "files larger than this many bytes go through tus (resumable)")
	noWait := fs.Bool("no-wait", false, "do not wait for the processing jobs")
	state := fs.String("resume-state", defaultResumeState(), "file remembering unfinished resumable uploads, so the next run continues them (empty: none)")
	timeout := fs.Duration("timeout", 30*time.Minute, "overall deadline")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return usageErrorf("upload wants at least one FILE")
	}
	if *token == "" {
		return usageErrorf("upload needs --token (or FINKIT_TOKEN) of an admin")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := &upload.Client{BaseURL: strings.TrimSuffix(*server, "/") + "/uploads", Token: *token, ResumableOver: *resumable, Fields: map[string]string{}}
	if *state != "" {
		c.Resume = &upload.FileResumeStore{Path: *state}
	}
	if *kind != "" {
		c.Fields["kind"] = *kind
	}
	if *account != "" {
		c.Fields["account"] = *account
	}
	bars := newProgress(e.stderr, !*asJSON && isTerminal(e.stderr))
	results := make([]uploadResult, len(files))
	var wg sync.WaitGroup
	for i, path := range files {
		wg.Go(func() { results[i] = sendOne(ctx, c, path, bars.bar(i, filepath.Base(path)), !*noWait) })
	}
	wg.Wait()
	bars.finish()
	return reportUploads(e, results, *asJSON)
}

// defaultResumeState is where unfinished tus uploads are remembered
// between runs: the user's cache directory, or none without one.
func defaultResumeState() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "finkit", "upload-resume.json")
}

// sendOne uploads one file and waits for its job.
func sendOne(ctx context.Context, c *upload.Client, path string, bar func(sent, total int64, status string), wait bool) uploadResult {
	res := uploadResult{File: path}
	f, err := os.Open(path)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	size := fi.Size()
	key := ""
	if c.Resume != nil {
		key, _ = upload.FileResumeKey(path) // without a key the upload just starts afresh
	}
	u, err := c.SendResumable(ctx, key, filepath.Base(path), f, size, func(n int64) { bar(n, size, "uploading") })
	if err != nil {
		res.Error = err.Error()
		bar(size, size, "refused")
		return res
	}
	if wait {
		u, err = c.Wait(ctx, u.ID, func(x upload.Upload) { bar(size, size, string(x.State)) })
		if err != nil {
			res.Error = err.Error()
		}
	}
	bar(size, size, string(u.State))
	res.Upload = &u
	return res
}

func reportUploads(e *env, results []uploadResult, asJSON bool) error {
	failed := 0
	for _, r := range results {
		if r.Error != "" || r.Upload == nil || r.Upload.State == upload.StateFailed || r.Upload.State == upload.StateCancelled {
			failed++
		}
	}
	if asJSON {
		if err := writeJSON(e.stdout, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			switch {
			case r.Error != "":
				fmt.Fprintf(e.stdout, "%s: error: %s\n", r.File, r.Error)
			default:
				u := r.Upload
				fmt.Fprintf(e.stdout, "%s: %s (%s, %d bytes, sha256 %s) %s\n", r.File, u.State, u.ID, u.Size, u.SHA256, u.Message)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, len(results))
	}
	return nil
}
