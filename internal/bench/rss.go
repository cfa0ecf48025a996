package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// ParseVmHWM returns the peak resident set size, in bytes, from the text of
// /proc/PID/status (its "VmHWM:   23456 kB" line).
func ParseVmHWM(status string) (int64, error) {
	return statusKB(status, "VmHWM")
}

// statusKB returns the size a /proc/PID/status line "NAME: N kB" gives, in
// bytes.
func statusKB(status, name string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("unexpected %s line %q", name, sc.Text())
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s line", name)
}

// procStatus reads /proc/PID/status.
func procStatus(pid int) (string, error) {
	if runtime.GOOS != "linux" {
		return "", errNoRSS
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	return string(b), err
}

// PeakRSS returns the peak resident set size of process pid, in bytes.
func PeakRSS(pid int) (int64, error) {
	status, err := procStatus(pid)
	if err != nil {
		return 0, err
	}
	return ParseVmHWM(status)
}

// LoadAverage returns the 1, 5 and 15 minute load averages from
// /proc/loadavg, as "0.77 3.00 2.70", or "" where unknown.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return ParseLoadAvg(string(b))
}

// ParseLoadAvg returns the first three fields of /proc/loadavg, or "".
func ParseLoadAvg(s string) string {
	f := strings.Fields(s)
	if len(f) < 3 {
		return ""
	}
	for _, v := range f[:3] {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return ""
		}
	}
	return strings.Join(f[:3], " ")
}
