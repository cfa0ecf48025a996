package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

// A /proc/PID/stat line of nginx's master, as Linux writes it (fields 14
// and 15 are utime and stime, 4 the parent's id).
const nginxStat = "4242 (nginx) S 1 4242 4242 0 -1 4194624 139 0 0 0 7 3 0 0 20 0 1 0 1234 11014144 376 18446744073709551615 1 1 0 0 0 0 0 4096 134235139 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0"

func TestParseStat(t *testing.T) {
	tests := []struct {
		name     string
		stat     string
		cpu      time.Duration
		ppid     int
		cpuErr   bool
		ppidFail bool
	}{
		{name: "nginx master", stat: nginxStat, cpu: 100 * time.Millisecond, ppid: 1},
		{name: "name with spaces and parentheses", stat: "7 (a) b (c)) R 99 7 7 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0 5 0 0", cpu: 3 * time.Second, ppid: 99},
		{name: "no name", stat: "7 a R 99", cpuErr: true, ppidFail: true},
		{name: "too short for CPU", stat: "7 (a) R 99 7", cpuErr: true, ppid: 99},
		{name: "negative CPU", stat: "7 (a) R 99 7 7 0 -1 0 0 0 0 0 -1 0 0 0", cpuErr: true, ppid: 99},
		{name: "CPU past a Duration", stat: "7 (a) R 99 7 7 0 -1 0 0 0 0 0 922337203685477580 1 0 0", cpuErr: true, ppid: 99},
		{name: "no parent", stat: "7 (a) R", cpuErr: true, ppidFail: true},
		{name: "parent not a number", stat: "7 (a) R x 7 7 0 -1 0 0 0 0 0 1 1 0 0", cpu: 20 * time.Millisecond, ppidFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cpu, err := ParseStatCPU(tt.stat)
			if (err != nil) != tt.cpuErr || cpu != tt.cpu {
				t.Errorf("ParseStatCPU: got %v, %v; want %v, error %v", cpu, err, tt.cpu, tt.cpuErr)
			}
			ppid, err := ParseStatPPID(tt.stat)
			if (err != nil) != tt.ppidFail || ppid != tt.ppid {
				t.Errorf("ParseStatPPID: got %d, %v; want %d, error %v", ppid, err, tt.ppid, tt.ppidFail)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add(nginxStat)
	f.Add("1 ((()) R 0")
	f.Fuzz(func(t *testing.T, stat string) {
		cpu, err := ParseStatCPU(stat)
		if err == nil && cpu < 0 {
			t.Errorf("ParseStatCPU(%q) = %v, want no negative time", stat, cpu)
		}
		if _, err := ParseStatPPID(stat); err == nil && !strings.Contains(stat, ")") {
			t.Errorf("ParseStatPPID(%q) found a parent in a line with no name", stat)
		}
	})
}

// TestTreeCPUOfThisProcess: a process with no children (this test's,
// once its helpers have gone) costs what ProcCPU says, read a moment
// apart; a missing process is an error.
func TestTreeCPUOfThisProcess(t *testing.T) {
	if !runtimeHasProc() {
		t.Skip("no /proc")
	}
	if _, err := TreeCPU(1 << 30); err == nil {
		t.Error("TreeCPU of a process that does not exist: got no error")
	}
	self, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := TreeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if tree < self {
		t.Errorf("TreeCPU %v < ProcCPU %v read before it", tree, self)
	}
}
