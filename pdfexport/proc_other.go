//go:build !linux

package pdfexport

// killProcessesUsing is a no-op outside Linux: chromedp kills the browser
// process itself, and there is no portable way to find its helpers.
func killProcessesUsing(string) {}

// processesUsing is not implemented outside Linux.
func processesUsing(string) []int { return nil }

// processStart is not implemented outside Linux: no profile is ever judged
// stale, so none is swept.
func processStart(int) (string, bool) { return "", true }
