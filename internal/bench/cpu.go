package bench

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/PID/stat's CPU times: USER_HZ, 100 on
// every Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// maxTicks is the most clock ticks a time.Duration holds.
const maxTicks = int64(math.MaxInt64 / clockTick)

// ProcCPU returns the CPU time (user and system) process pid has used so
// far, from /proc/PID/stat.
func ProcCPU(pid int) (time.Duration, error) {
	if runtime.GOOS != "linux" {
		return 0, errors.New("CPU time is only read on Linux")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return ParseStatCPU(string(b))
}

// TreeCPU returns the CPU time process pid and its children have used so
// far: nginx's is its master's and its workers'. A Go target has no
// children, and its time is ProcCPU's. A child that has exited is not
// counted (its time goes to its parent only once waited for), so it
// suits processes whose children live as long as they do.
func TreeCPU(pid int) (time.Duration, error) {
	total, err := ProcCPU(pid)
	if err != nil {
		return 0, err
	}
	for _, c := range Children(pid) {
		if t, err := ProcCPU(c); err == nil { // else gone meanwhile
			total += t
		}
	}
	return total, nil
}

// Children lists the processes whose parent is pid (none where there is
// no /proc).
func Children(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == pid {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone since ReadDir
		}
		if ppid, err := ParseStatPPID(string(b)); err == nil && ppid == pid {
			out = append(out, n)
		}
	}
	return out
}

// ParseStatPPID returns the parent's process id from a /proc/PID/stat
// line (field 4).
func ParseStatPPID(stat string) (int, error) {
	f, err := statFields(stat)
	if err != nil {
		return 0, err
	}
	if len(f) < 2 {
		return 0, errors.New("/proc/PID/stat has no parent id")
	}
	return strconv.Atoi(f[1])
}

// ParseStatCPU returns utime+stime of a /proc/PID/stat line.
func ParseStatCPU(stat string) (time.Duration, error) {
	f, err := statFields(stat)
	if err != nil {
		return 0, err
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/PID/stat has %d fields after the name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		// A Duration holds at most 292 years of ticks.
		if err != nil || n < 0 || n > maxTicks-ticks {
			return 0, fmt.Errorf("bad CPU time %q in /proc/PID/stat", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// statFields returns a /proc/PID/stat line's fields after the command
// name, field 3 (the state) first. The name, in parentheses, may itself
// hold spaces and parentheses, so they are counted from the last ')'.
func statFields(stat string) ([]string, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, errors.New("no ')' in /proc/PID/stat")
	}
	return strings.Fields(stat[i+1:]), nil
}

// CPUPerRequest is the target process's CPU time per successful request
// of the measured run, or 0 when unknown.
func (r Result) CPUPerRequest() time.Duration {
	if r.CPU <= 0 || r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// FormatMicros formats d in whole microseconds ("123µs"), or "-" for 0.
func FormatMicros(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}
