package txlog

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Memory is a Log in memory, for tests: nothing survives the process.
type Memory struct {
	mu      sync.Mutex
	records map[string][]byte // guarded by mu
	closed  bool              // guarded by mu
}

// NewMemory returns an empty in-memory log.
func NewMemory() *Memory { return &Memory{records: map[string][]byte{}} }

var _ Log = (*Memory)(nil)

// Create implements Log.Create.
func (m *Memory) Create(_ context.Context, id string, state []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.records[id]; ok {
		return ErrExists
	}
	m.records[id] = slices.Clone(state)
	return nil
}

// Save implements Log.Save.
func (m *Memory) Save(_ context.Context, id string, state []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.records[id]; !ok {
		return ErrNotFound
	}
	m.records[id] = slices.Clone(state)
	return nil
}

// Delete implements Log.Delete.
func (m *Memory) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.records, id)
	return nil
}

// Claim implements Log.Claim.
func (m *Memory) Claim(context.Context) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	out := make([]Record, 0, len(m.records))
	for id, s := range m.records {
		out = append(out, Record{id, slices.Clone(s)})
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Close implements Log.Close.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
