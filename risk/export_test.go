package risk

// CheckInvariants exposes checkInvariants to the tests in package
// risk_test. Call it only while no check, fill or release runs.
func (e *Engine) CheckInvariants() error { return e.checkInvariants() }

// DailyState returns an account's daily notional used (on the day last
// seen) and reserved.
func (e *Engine) DailyState(account string) (used, reserved int64) {
	for _, r := range e.rules {
		if d, ok := r.rule.(dailyNotional); ok {
			st := d.state.get(account)
			return st.used, st.reserved
		}
	}
	return 0, 0
}

// PositionState returns an account's filled position in an instrument
// and what its open orders could add to it on each side.
func (e *Engine) PositionState(account, instrument string) (filled, openBuy, openSell int64) {
	for _, r := range e.rules {
		if p, ok := r.rule.(position); ok {
			st := p.state.get(posKey{account, instrument})
			return st.filled, st.openBuy, st.openSell
		}
	}
	return 0, 0, 0
}

// get returns k's value, or a zero value if k has none, without creating
// one.
func (t *table[K, V]) get(k K) V {
	s := &t.shards[t.hash(t.seed, k)%shardCount]
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.m[k]; v != nil {
		return *v
	}
	var zero V
	return zero
}
