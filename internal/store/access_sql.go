package store

import (
	"context"
	"errors"
)

// errNotImplemented stands in until keys and events have tables.
var errNotImplemented = errors.New("store: keys and events: not implemented")

// CreateKey implements AccessStore.
func (s *sqlStore) CreateKey(ctx context.Context, k Key) (Key, error) {
	return Key{}, errNotImplemented
}

// GetKey implements AccessStore.
func (s *sqlStore) GetKey(ctx context.Context, id string) (Key, error) {
	return Key{}, errNotImplemented
}

// KeyByHash implements AccessStore.
func (s *sqlStore) KeyByHash(ctx context.Context, hash []byte) (Key, error) {
	return Key{}, errNotImplemented
}

// AttendeeKey implements AccessStore.
func (s *sqlStore) AttendeeKey(ctx context.Context, eventID, attendee string) (Key, error) {
	return Key{}, errNotImplemented
}

// ListKeys implements AccessStore.
func (s *sqlStore) ListKeys(ctx context.Context, f KeyFilter) ([]Key, error) {
	return nil, errNotImplemented
}

// UpdateKey implements AccessStore.
func (s *sqlStore) UpdateKey(ctx context.Context, k Key) (Key, error) {
	return Key{}, errNotImplemented
}

// DeleteKey implements AccessStore.
func (s *sqlStore) DeleteKey(ctx context.Context, id string) error {
	return errNotImplemented
}

// CreateEvent implements AccessStore.
func (s *sqlStore) CreateEvent(ctx context.Context, e Event) (Event, error) {
	return Event{}, errNotImplemented
}

// GetEvent implements AccessStore.
func (s *sqlStore) GetEvent(ctx context.Context, id string) (Event, error) {
	return Event{}, errNotImplemented
}

// ListEvents implements AccessStore.
func (s *sqlStore) ListEvents(ctx context.Context) ([]Event, error) {
	return nil, errNotImplemented
}

// UpdateEvent implements AccessStore.
func (s *sqlStore) UpdateEvent(ctx context.Context, e Event) (Event, error) {
	return Event{}, errNotImplemented
}

// DeleteEvent implements AccessStore.
func (s *sqlStore) DeleteEvent(ctx context.Context, id string) error {
	return errNotImplemented
}
