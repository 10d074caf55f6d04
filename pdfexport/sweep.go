package pdfexport

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// baseDirPattern names the temporary directory of a converter's profiles.
const baseDirPattern = "finkit-pdfexport-"

// ownerFile, inside a converter's directory, names the process that owns
// it: "PID START" (see processStart).
const ownerFile = "owner"

// claimBaseDir records the current process as the owner of dir.
func claimBaseDir(dir string) error {
	pid := os.Getpid()
	start, _ := processStart(pid)
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(pid)+" "+start), 0o600)
}

// sweepStaleBaseDirs removes the profile directories of converters whose
// process is gone without Close (SIGKILL, a crash): they hold the cookies,
// cache and storage of the pages they converted. Chromium helpers still
// running on such a profile are killed first. Directories without an owner
// file, or whose owner still runs, are left alone.
func sweepStaleBaseDirs(tmp string, log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, baseDirPattern+"*"))
	for _, dir := range dirs {
		if !ownerGone(dir) {
			continue
		}
		killProcessesUsing(dir)
		if err := removeAllRetry(dir); err != nil {
			log.Warn("pdfexport: removing a stale profile directory", slog.String("dir", dir), slog.Any("err", err))
			continue
		}
		log.Info("pdfexport: removed the profile directory of a converter that did not close", slog.String("dir", dir))
	}
}

// ownerGone reports whether dir's owner file names a process that no
// longer runs.
func ownerGone(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	data, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return false
	}
	var pid int
	var start string
	if n, _ := fmt.Sscanf(strings.TrimSpace(string(data)), "%d %s", &pid, &start); n < 1 || pid <= 0 {
		return false
	}
	cur, running := processStart(pid)
	return !running || (start != "" && cur != "" && cur != start)
}
