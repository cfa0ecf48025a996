// Package storetest is the conformance suite for store.Store. Every
// implementation runs the same tests, so the gateway and the admin API see
// the same behaviour on SQLite and on PostgreSQL.
package storetest

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/spillwayhq/spillway/internal/store"
)

// RawKeyReader is implemented, for tests only, by stores that can show an
// upstream key as the database holds it (nil when there is none). Run
// needs it to check that keys are encrypted at rest.
type RawKeyReader interface {
	RawAPIKey(ctx context.Context, id string) ([]byte, error)
}

// Run runs the suite. open returns a Store on the database of t, with
// secretKey as its encryption key (nil for none): the first call for a
// given t starts from an empty database, and later calls with the same t
// open another handle on that same database, as a restart or a second
// replica would (Run never asks for a handle with a subtest's t when it
// means the same database). Run closes every Store it gets. Subtests run in
// parallel.
func Run(t *testing.T, open func(t *testing.T, secretKey []byte) store.Store) {
	s := suite{open: open}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"CreateGetList", s.createGetList},
		{"EmptyOptionalFields", s.emptyOptionalFields},
		{"ModelInfoJSON", s.modelInfoJSON},
		{"Update", s.update},
		{"NotFound", s.notFound},
		{"Conflict", s.conflict},
		{"ListOrderedByID", s.listOrderedByID},
		{"Revision", s.revision},
		{"Settings", s.settings},
		{"KeyEncryptedAtRest", s.keyEncryptedAtRest},
		{"NoSecretKey", s.noSecretKey},
		{"WrongSecretKey", s.wrongSecretKey},
		{"Replicas", s.replicas},
		{"Reopen", s.reopen},
		{"ConcurrentWriters", s.concurrentWriters},
		{"PingClose", s.pingClose},
		{"UsageInsertBatches", s.usageInsertBatches},
		{"UsageGroupBy", s.usageGroupBy},
		{"UsageFilters", s.usageFilters},
		{"UsageBoundaries", s.usageBoundaries},
		{"UsagePercentiles", s.usagePercentiles},
		{"UsageEmpty", s.usageEmpty},
		{"UsageUnstorable", s.usageUnstorable},
		{"UsageRetry", s.usageRetry},
		{"UsageConcurrent", s.usageConcurrent},
		{"UsageRollupsExact", s.usageRollupsExact},
		{"UsageRollupsConcurrent", s.usageRollupsConcurrent},
		{"UsageRollupsLongHistograms", s.usageRollupsLongHistograms},
		{"UsageRollupsSubtractOverflow", s.usageRollupsSubtractOverflow},
		{"UsageWeeks", s.usageWeeks},
		{"UsageWeeksConcurrent", s.usageWeeksConcurrent},
		{"UsageBacklog", s.usageBacklog},
		{"UsageRetention", s.usageRetention},
		{"UsageExport", s.usageExport},
		{"UsagePartitionRotation", s.usagePartitionRotation},
		{"UsagePartitionRace", s.usagePartitionRace},
		{"UsagePartitionStale", s.usagePartitionStale},
		{"PayloadsInsertGet", s.payloadsInsertGet},
		{"PayloadsRetry", s.payloadsRetry},
		{"PayloadsList", s.payloadsList},
		{"PayloadsPurge", s.payloadsPurge},
		{"PayloadsLarge", s.payloadsLarge},
		{"KeysRoundTrip", s.keysRoundTrip},
		{"KeysZeroValue", s.keysZeroValue},
		{"KeysFilter", s.keysFilter},
		{"AttendeeKeys", s.attendeeKeys},
		{"KeysUpdate", s.keysUpdate},
		{"KeysConflict", s.keysConflict},
		{"AccessInvalid", s.accessInvalid},
		{"AccessNotFound", s.accessNotFound},
		{"AccessRevision", s.accessRevision},
		{"DeleteEvent", s.deleteEvent},
		{"AccessReplicas", s.accessReplicas},
		{"EventsRoundTrip", s.eventsRoundTrip},
		{"EventsOrder", s.eventsOrder},
		{"AdminTokens", s.adminTokens},
		{"Audit", s.audit},
		{"AdminSessions", s.adminSessions},
		{"EventOwner", s.eventOwner},
		{"TeamsRoundTrip", s.teamsRoundTrip},
		{"TeamsErrors", s.teamsErrors},
		{"TeamKeys", s.teamKeys},
		{"DeleteTeam", s.deleteTeam},
		{"TeamKeysRace", s.teamKeysRace},
		{"ObjectsRoundTrip", s.objectsRoundTrip},
		{"ObjectsList", s.objectsList},
		{"ObjectsPending", s.objectsPending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t)
		})
	}
}

type suite struct {
	open func(t *testing.T, secretKey []byte) store.Store
}

// store opens a handle that is closed when t ends.
func (s suite) store(t *testing.T, key []byte) store.Store {
	t.Helper()
	st := s.open(t, key)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// newKey returns a random 32-byte secret key.
func newKey() []byte {
	key := make([]byte, 32)
	rand.Read(key)
	return key
}

// sample is a deployment with every field set.
func sample(id string) store.Deployment {
	return store.Deployment{
		ID:           id,
		Model:        "gpt-4o",
		Class:        "chat",
		Provider:     "azure",
		Endpoint:     "https://eastus.example.openai.azure.com",
		ResourceName: "eastus",
		Deployment:   "gpt-4o-2024-08-06",
		APIVersion:   "2024-10-21",
		APIKey:       "sk-plaintext-" + id + "-0123456789abcdef",
		Priority:     1,
		Weight:       3,
		RPM:          600,
		TPM:          90_000,
		Active:       true,
		ModelInfo: map[string]any{
			"max_tokens":           4096.0,
			"input_cost_per_token": 2.5e-06,
			"supports_vision":      true,
		},
		Origin: "native",
	}
}

// mustCreate creates d or fails the test.
func mustCreate(t *testing.T, st store.Store, d store.Deployment) store.Deployment {
	t.Helper()
	got, err := st.CreateDeployment(t.Context(), d)
	if err != nil {
		t.Fatalf("CreateDeployment(%q): %v", d.ID, err)
	}
	return got
}

// revision returns st's revision or fails the test.
func revision(t *testing.T, st store.Store) int64 {
	t.Helper()
	rev, err := st.Revision(t.Context())
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

// rawKey returns the stored form of deployment id's key.
func rawKey(t *testing.T, st store.Store, id string) []byte {
	t.Helper()
	r, ok := st.(RawKeyReader)
	if !ok {
		t.Fatalf("%T does not implement storetest.RawKeyReader; the suite needs it to check that keys are encrypted at rest", st)
	}
	raw, err := r.RawAPIKey(t.Context(), id)
	if err != nil {
		t.Fatalf("RawAPIKey(%q): %v", id, err)
	}
	return raw
}
