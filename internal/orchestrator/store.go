package orchestrator

import (
	"context"
	"maps"
	"sync"
)

// Store keeps the orchestrator's state as named collections, each one JSON
// document. The server saves only the collections a request changed.
type Store interface {
	// Load returns a collection, or nil when it was never saved.
	Load(ctx context.Context, name string) ([]byte, error)
	// Save replaces a collection.
	Save(ctx context.Context, name string, data []byte) error
}

// Collections hold secrets (secret shared values, definitions' driver
// secrets, resource cookies and secret outputs) when their name is in this
// set; a Store that can tell them apart keeps them as secrets.
var secretCollections = map[string]bool{collSecrets: true, collResources: true}

// IsSecretCollection reports whether a collection holds secrets.
func IsSecretCollection(name string) bool { return secretCollections[name] }

// MemoryStore is a Store in memory, for tests and for a server that need
// not survive a restart.
type MemoryStore struct {
	mu    sync.Mutex
	colls map[string][]byte
	saves int
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{colls: map[string][]byte{}} }

// Load implements Store.
func (m *MemoryStore) Load(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.colls[name], nil
}

// Save implements Store.
func (m *MemoryStore) Save(_ context.Context, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.colls[name] = append([]byte(nil), data...)
	m.saves++
	return nil
}

// Snapshot returns a copy of every collection saved so far.
func (m *MemoryStore) Snapshot() map[string][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.colls)
}

// Saves is how many times Save was called.
func (m *MemoryStore) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}
