package memlimit

import (
	"testing"
	"testing/fstest"
)

func TestFromCgroup(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		want   int64
		wantOK bool
	}{
		{"v2 limit", map[string]string{"sys/fs/cgroup/memory.max": "536870912\n"}, 483183820, true},
		{"v2 no limit", map[string]string{"sys/fs/cgroup/memory.max": "max\n"}, 0, false},
		{"v1 limit", map[string]string{"sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824\n"}, 966367641, true},
		{"v1 no limit", map[string]string{"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"v2 wins over v1", map[string]string{"sys/fs/cgroup/memory.max": "1000", "sys/fs/cgroup/memory/memory.limit_in_bytes": "5000"}, 900, true},
		{"garbage", map[string]string{"sys/fs/cgroup/memory.max": "lots"}, 0, false},
		{"zero", map[string]string{"sys/fs/cgroup/memory.max": "0"}, 0, false},
		{"no cgroup", map[string]string{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fstest.MapFS{}
			for name, data := range tt.files {
				root[name] = &fstest.MapFile{Data: []byte(data)}
			}
			got, ok := FromCgroup(root)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("FromCgroup = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzFromCgroup(f *testing.F) {
	f.Add("536870912\n")
	f.Add("max")
	f.Add("-1")
	f.Fuzz(func(t *testing.T, data string) {
		got, ok := FromCgroup(fstest.MapFS{"sys/fs/cgroup/memory.max": &fstest.MapFile{Data: []byte(data)}})
		if ok && (got <= 0 || got >= noLimit) {
			t.Fatalf("FromCgroup(%q) = %d, true; want a positive limit below %d", data, got, int64(noLimit))
		}
		if !ok && got != 0 {
			t.Fatalf("FromCgroup(%q) = %d, false; want 0", data, got)
		}
	})
}
