// Package memlimit gives the Go runtime a soft memory limit from the
// container's, so that a replica near its limit collects garbage harder
// instead of being killed for memory it holds only as garbage.
package memlimit

import (
	"io/fs"
	"strconv"
	"strings"
)

// Share is the part of the container's limit given to the Go heap and
// runtime: the rest is for what the runtime does not count (C stacks,
// the binary's pages) and the margin a soft limit needs.
const Share = 0.9

// cgroup files holding a container's memory limit: v2, then v1.
var limitFiles = []string{
	"sys/fs/cgroup/memory.max",
	"sys/fs/cgroup/memory/memory.limit_in_bytes",
}

// noLimit is what cgroup v1 reports when no limit is set (the largest
// page-aligned int64), and anything above it means the same.
const noLimit = 1 << 62

// FromCgroup returns the soft limit to set, Share of the container's
// memory limit as read from root (normally os.DirFS("/")), and whether
// the container has one.
func FromCgroup(root fs.FS) (int64, bool) {
	for _, name := range limitFiles {
		b, err := fs.ReadFile(root, name)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= noLimit {
			return 0, false
		}
		return int64(float64(n) * Share), true
	}
	return 0, false
}
