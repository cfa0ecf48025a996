package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/router"
)

// echoUpstream is a Realtime upstream that sends every message back.
func echoUpstream(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(maxRealtimeMessage)
		for {
			typ, m, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if c.Write(r.Context(), typ, m) != nil {
				return
			}
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkRealtimeRelay sends a message through a session and reads it
// back from an echo upstream: two relayed frames per round trip, the
// client and the gateway on one machine. "direct" is the same client
// against the upstream itself, the baseline the gateway adds to.
func BenchmarkRealtimeRelay(b *testing.B) {
	up := echoUpstream(b)
	r, err := router.New(router.Options{}, []config.Deployment{{ID: "rt", Model: "gpt-realtime", Class: config.ClassRealtime,
		Provider: config.ProviderOpenAI, Endpoint: up.URL + "/v1", Deployment: "gpt-realtime", APIKey: "k", Priority: 1, Weight: 1}})
	if err != nil {
		b.Fatal(err)
	}
	tr := NewTransport(config.DefaultConnectTimeout, config.DefaultFirstByteTimeout)
	b.Cleanup(tr.CloseIdleConnections)
	gw := httptest.NewServer(New(Options{Router: r, Transport: tr, Auth: auth.NewStaticKeys([]auth.StaticKey{{Key: testKey}}), Logger: slog.New(slog.DiscardHandler)}))
	b.Cleanup(gw.Close)
	for _, size := range []int{1 << 10, 32 << 10} {
		for _, via := range []struct{ name, url string }{{"gateway", gw.URL}, {"direct", up.URL}} {
			b.Run(via.name+"/"+strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
				ctx := context.Background()
				c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(via.url, "http")+"/v1/realtime?model=gpt-realtime",
					&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + testKey}}})
				if err != nil {
					b.Fatal(err)
				}
				defer c.CloseNow()
				c.SetReadLimit(maxRealtimeMessage)
				msg := []byte(`{"type":"input_audio_buffer.append","audio":"` + strings.Repeat("A", size) + `"}`)
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
						b.Fatal(err)
					}
					if _, _, err := c.Read(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				c.Close(websocket.StatusNormalClosure, "")
			})
		}
	}
}
