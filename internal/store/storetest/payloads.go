package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// payloadRecord is a record of request id at usageDay+at with a payload.
func payloadRecord(id string, at time.Duration, key, model string) usage.Record {
	return usage.Record{
		Time: usageDay.Add(at), RequestID: id, KeyID: key, Model: model, Status: 200,
		Prompt: `{"messages":[{"role":"user","content":"` + id + `"}]}`, Response: "answer to " + id,
	}
}

// wantPayload is the payload InsertUsage should store for r.
func wantPayload(r usage.Record) store.Payload {
	return store.Payload{
		RequestID: r.RequestID, Time: r.Time.UTC().Truncate(time.Millisecond),
		KeyID: r.KeyID, Model: r.Model, Prompt: r.Prompt, Response: r.Response,
	}
}

func mustListPayloads(t *testing.T, st store.Store, q store.PayloadQuery) []store.Payload {
	t.Helper()
	got, err := st.ListPayloads(t.Context(), q)
	if err != nil {
		t.Fatalf("ListPayloads(%+v): %v", q, err)
	}
	return got
}

func payloadIDs(ps []store.Payload) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.RequestID
	}
	return ids
}

// payloadsInsertGet stores payloads with their usage records: only the
// records with a prompt or a response (and a request id) get one, and
// every record is counted as usage either way.
func (s suite) payloadsInsertGet(t *testing.T) {
	st := s.store(t, nil)
	withPrompt := payloadRecord("p-1", time.Hour+123*time.Microsecond, "key-a", "gpt-4o")
	onlyResponse := usage.Record{Time: usageDay, RequestID: "p-2", Status: 200, Response: "just the answer"}
	none := usage.Record{Time: usageDay, RequestID: "p-3", Status: 200}
	noID := usage.Record{Time: usageDay, Status: 200, Prompt: "no request id"}
	mustInsertUsage(t, st, []usage.Record{withPrompt, onlyResponse, none, noID})

	for _, r := range []usage.Record{withPrompt, onlyResponse} {
		got, err := st.Payload(t.Context(), r.RequestID)
		if err != nil {
			t.Fatalf("Payload(%q): %v", r.RequestID, err)
		}
		if diff := gocmp.Diff(wantPayload(r), got); diff != "" {
			t.Errorf("Payload(%q) (-want +got):\n%s", r.RequestID, diff)
		}
	}
	for _, id := range []string{"p-3", "", "absent"} {
		if _, err := st.Payload(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Payload(%q) error = %v, want ErrNotFound", id, err)
		}
	}
	if got := mustQueryUsage(t, st, store.UsageQuery{}); got[0].Requests != 4 {
		t.Errorf("usage requests = %d, want 4", got[0].Requests)
	}
	if got := mustListPayloads(t, st, store.PayloadQuery{}); len(got) != 2 {
		t.Errorf("ListPayloads: %d payloads, want 2", len(got))
	}
}

// payloadsRetry repeats a batch: its payloads are stored once, and a
// later record with a request id already stored keeps the first payload.
// A batch that differs only in a payload is a batch of its own.
func (s suite) payloadsRetry(t *testing.T) {
	st := s.store(t, nil)
	batch := []usage.Record{payloadRecord("r-1", 0, "k", "m"), payloadRecord("r-2", time.Second, "k", "m")}
	mustInsertUsage(t, st, batch)
	mustInsertUsage(t, st, slices.Clone(batch))
	changed := slices.Clone(batch)
	changed[1].Prompt = "a different prompt"
	mustInsertUsage(t, st, changed)

	if got := mustQueryUsage(t, st, store.UsageQuery{}); got[0].Requests != 4 {
		t.Errorf("usage requests = %d, want 4 (a repeated batch once, a changed payload a batch of its own)", got[0].Requests)
	}
	got := mustListPayloads(t, st, store.PayloadQuery{})
	want := []store.Payload{wantPayload(batch[1]), wantPayload(batch[0])}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("payloads (-want +got):\n%s", diff)
	}
}

// payloadsList checks the order, the filters, the time bounds and the
// limits of ListPayloads.
func (s suite) payloadsList(t *testing.T) {
	st := s.store(t, nil)
	var records []usage.Record
	for i := range 30 {
		key, model := []string{"key-a", "key-b"}[i%2], []string{"gpt-4o", "gpt-4o-mini", "o3"}[i%3]
		records = append(records, payloadRecord(fmt.Sprintf("l-%02d", i), time.Duration(i)*time.Minute, key, model))
	}
	// Two at the same millisecond: the larger request id first.
	records = append(records, payloadRecord("l-tie-a", 5*time.Minute, "key-c", "m"), payloadRecord("l-tie-b", 5*time.Minute, "key-c", "m"))
	mustInsertUsage(t, st, records)

	ids := func(q store.PayloadQuery) []string { return payloadIDs(mustListPayloads(t, st, q)) }
	for _, tc := range []struct {
		name string
		q    store.PayloadQuery
		want []string
	}{
		{"limit, newest first", store.PayloadQuery{Limit: 3}, []string{"l-29", "l-28", "l-27"}},
		{"key and model", store.PayloadQuery{KeyID: "key-b", Model: "o3"}, []string{"l-29", "l-23", "l-17", "l-11", "l-05"}},
		{"from ≤ time < to", store.PayloadQuery{From: usageDay.Add(4 * time.Minute), To: usageDay.Add(6 * time.Minute)},
			[]string{"l-tie-b", "l-tie-a", "l-05", "l-04"}},
		{"open start", store.PayloadQuery{To: usageDay.Add(2 * time.Minute)}, []string{"l-01", "l-00"}},
		{"nothing", store.PayloadQuery{Model: "absent"}, []string{}},
	} {
		if diff := gocmp.Diff(tc.want, ids(tc.q)); diff != "" {
			t.Errorf("%s: %+v (-want +got):\n%s", tc.name, tc.q, diff)
		}
	}
	if got := mustListPayloads(t, st, store.PayloadQuery{KeyID: "key-a", Limit: 1}); len(got) != 1 || got[0] != wantPayload(records[28]) {
		t.Errorf("newest of key-a = %+v, want %+v", got, wantPayload(records[28]))
	}

	// The default limit and the cap.
	many := make([]usage.Record, store.MaxPayloadLimit+1)
	for i := range many {
		many[i] = payloadRecord(fmt.Sprintf("many-%04d", i), 24*time.Hour+time.Duration(i)*time.Millisecond, "key-many", "m")
	}
	mustInsertUsage(t, st, many)
	for _, tc := range []struct{ limit, want int }{
		{0, store.DefaultPayloadLimit}, {-1, store.DefaultPayloadLimit}, {5000, store.MaxPayloadLimit}, {store.MaxPayloadLimit, store.MaxPayloadLimit},
	} {
		if got := mustListPayloads(t, st, store.PayloadQuery{KeyID: "key-many", Limit: tc.limit}); len(got) != tc.want {
			t.Errorf("Limit %d: %d payloads, want %d", tc.limit, len(got), tc.want)
		}
	}
}

// payloadsPurge deletes the payloads before a time, in batches, and
// leaves the usage records alone.
func (s suite) payloadsPurge(t *testing.T) {
	st := s.store(t, nil)
	var records []usage.Record
	for i := range 2500 {
		records = append(records, payloadRecord(fmt.Sprintf("old-%04d", i), time.Duration(i)*time.Millisecond, "k", "m"))
	}
	kept := []usage.Record{payloadRecord("new-1", time.Hour, "k", "m"), payloadRecord("new-2", 2*time.Hour, "k", "m")}
	mustInsertUsage(t, st, append(records, kept...))

	n, err := st.PurgePayloads(t.Context(), usageDay.Add(time.Hour))
	if err != nil || n != int64(len(records)) {
		t.Fatalf("PurgePayloads = %d, %v; want %d, nil", n, err, len(records))
	}
	if diff := gocmp.Diff([]string{"new-2", "new-1"}, payloadIDs(mustListPayloads(t, st, store.PayloadQuery{}))); diff != "" {
		t.Errorf("payloads after the purge (-want +got):\n%s", diff)
	}
	if n, err := st.PurgePayloads(t.Context(), usageDay.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("a second purge = %d, %v; want 0, nil", n, err)
	}
	if got := mustQueryUsage(t, st, store.UsageQuery{}); got[0].Requests != int64(len(records)+len(kept)) {
		t.Errorf("usage requests after the purge = %d, want %d", got[0].Requests, len(records)+len(kept))
	}
}

// payloadsLarge stores payloads at their cap, more of them than one
// statement carries, and text PostgreSQL would reject as it is.
func (s suite) payloadsLarge(t *testing.T) {
	st := s.store(t, nil)
	big := strings.Repeat("x", usage.MaxPayloadBytes)
	var records []usage.Record
	for i := range 20 { // 40 MiB, three statements
		r := payloadRecord(fmt.Sprintf("big-%02d", i), time.Duration(i)*time.Second, "k", "m")
		r.Prompt, r.Response = big, big
		records = append(records, r)
	}
	bad := payloadRecord("bad", time.Minute, "k", "m")
	bad.Prompt, bad.Response = "nul\x00byte", "bad\xffutf8"
	mustInsertUsage(t, st, append(records, bad))

	got, err := st.Payload(t.Context(), "big-19")
	if err != nil {
		t.Fatalf("Payload: %v", err)
	}
	if len(got.Prompt) != len(big) || len(got.Response) != len(big) {
		t.Errorf("big payload: prompt %d bytes, response %d; want %d each", len(got.Prompt), len(got.Response), len(big))
	}
	if n := len(mustListPayloads(t, st, store.PayloadQuery{})); n != len(records)+1 {
		t.Errorf("ListPayloads: %d payloads, want %d", n, len(records)+1)
	}
	got, err = st.Payload(t.Context(), "bad")
	if err != nil {
		t.Fatalf("Payload: %v", err)
	}
	if got.Prompt != "nulbyte" || got.Response != "bad\uFFFDutf8" {
		t.Errorf("unstorable text stored as %q, %q; want %q, %q", got.Prompt, got.Response, "nulbyte", "bad\uFFFDutf8")
	}
}
