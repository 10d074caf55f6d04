//go:build linux

package pdfexport

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// killProcessesUsing kills every process whose profile is dir or under it
// (Chromium passes --user-data-dir to all its helpers), looking again until
// a few passes in a row find none, because a helper can fork just as its
// parent dies.
func killProcessesUsing(dir string) {
	deadline := time.Now().Add(2 * time.Second)
	for quiet := 0; quiet < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if n := signalProcessesUsing(dir); n == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// processesUsing returns the pids of the processes whose profile
// (--user-data-dir) is dir or a directory under it.
func processesUsing(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	exact := []byte("--user-data-dir=" + dir)
	under := []byte("--user-data-dir=" + dir + "/")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		match := false
		for arg := range bytes.SplitSeq(cmdline, []byte{0}) {
			if bytes.Equal(arg, exact) || bytes.HasPrefix(arg, under) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		// Skip zombies: they are dead and only wait for their parent.
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

func signalProcessesUsing(dir string) int {
	pids := processesUsing(dir)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return len(pids)
}

// processStart returns an identity of the running process pid — its start
// time in clock ticks since boot (/proc/PID/stat field 22) — so that a pid
// reused by another process does not look like the same one. ok is false
// when pid is not running (or is a zombie).
func processStart(pid int) (start string, ok bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return "", false
	}
	fields := bytes.Fields(stat[i+1:]) // from field 3 (state) on
	if len(fields) < 20 || fields[0][0] == 'Z' {
		return "", false
	}
	return string(fields[19]), true
}
