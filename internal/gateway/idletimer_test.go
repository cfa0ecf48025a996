package gateway

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

// stallBody blocks a Read until it is closed, as a silent upstream's
// body does; sent bytes, when set, are read first.
type stallBody struct {
	sent   []byte
	closed chan struct{}
}

func (b *stallBody) Read(p []byte) (int, error) {
	if len(b.sent) > 0 {
		n := copy(p, b.sent)
		b.sent = b.sent[n:]
		return n, nil
	}
	<-b.closed
	return 0, errors.New("read on closed body")
}

func (b *stallBody) Close() error {
	select {
	case <-b.closed:
	default:
		close(b.closed)
	}
	return nil
}

// TestIdleTimerPooled: an attempt's idle timer closes a silent body and
// the read says so (errIdleTimeout); a timer that went off is never
// given to another attempt, whose body its function would close, and
// one that did not is.
func TestIdleTimerPooled(t *testing.T) {
	tests := []struct {
		name     string
		timeout  time.Duration
		sent     string
		wantErr  error
		wantKept bool // the timer still names the upstream: not reused
	}{
		{"silent", 20 * time.Millisecond, "", errIdleTimeout, true},
		{"answered", time.Minute, "{}", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &stallBody{sent: []byte(tt.sent), closed: make(chan struct{})}
			up := &upstream{resp: &http.Response{Body: body}, timeout: tt.timeout}
			up.watch()
			it := up.idle
			_, err := up.body().Read(make([]byte, 64))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("read error %v, want %v", err, tt.wantErr)
			}
			up.close()
			if got := it.up.Load() == up; got != tt.wantKept {
				t.Errorf("after close, the timer names the upstream: %v, want %v", got, tt.wantKept)
			}
			if up.idle != nil {
				t.Error("the upstream kept its timer after close")
			}
		})
	}
}

// TestIdleTimerAfterReuse: a pooled timer given to a second attempt
// closes that attempt's silent body, not the first's.
func TestIdleTimerAfterReuse(t *testing.T) {
	first := &stallBody{sent: []byte("{}"), closed: make(chan struct{})}
	up := &upstream{resp: &http.Response{Body: first}, timeout: time.Minute}
	up.watch()
	if _, err := up.body().Read(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	up.close()
	second := &stallBody{closed: make(chan struct{})}
	up2 := &upstream{resp: &http.Response{Body: second}, timeout: 20 * time.Millisecond}
	up2.watch()
	defer up2.close()
	if _, err := io.ReadAll(up2.body()); !errors.Is(err, errIdleTimeout) {
		t.Errorf("second read error %v, want %v", err, errIdleTimeout)
	}
	if up.idled.Load() {
		t.Error("the first attempt was marked idle by the second's timer")
	}
}
