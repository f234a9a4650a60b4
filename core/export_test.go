package session

import "time"

// SetClock replaces the clocks of a Manager and a MemoryStore, for tests
// that move time.
func SetClock(m *Manager, s *MemoryStore, now func() time.Time) {
	if m != nil {
		m.now = now
	}
	if s != nil {
		s.now = now
	}
}

// RawLen counts a MemoryStore's records, expired ones included.
func RawLen(s *MemoryStore) int {
	n := 0
	for i := range s.shards {
		s.shards[i].mu.RLock()
		n += len(s.shards[i].m)
		s.shards[i].mu.RUnlock()
	}
	return n
}
