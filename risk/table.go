package risk

import (
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"

	"github.com/otlpgo/otlpgo/internal/checked"
)

// shardCount is how many independently locked parts per-account state is
// split into: accounts in different shards never contend.
const shardCount = 64

// table is per-key state split into shards by the key's hash, each shard
// with its own lock. A value, once created for a key, stays.
type table[K comparable, V any] struct {
	seed   maphash.Seed
	hash   func(maphash.Seed, K) uint64
	shards [shardCount]shard[K, V]
}

type shard[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*V
	_  [48]byte // keep neighbouring shards' locks off one cache line
}

func newTable[K comparable, V any](hash func(maphash.Seed, K) uint64) *table[K, V] {
	return &table[K, V]{seed: maphash.MakeSeed(), hash: hash}
}

// lock returns k's value, created if new, with its shard locked; the
// caller unlocks the returned mutex.
func (t *table[K, V]) lock(k K) (*V, *sync.Mutex) {
	s := &t.shards[t.hash(t.seed, k)%shardCount]
	s.mu.Lock()
	v := s.m[k]
	if v == nil {
		if s.m == nil {
			s.m = map[K]*V{}
		}
		v = new(V)
		s.m[k] = v
	}
	return v, &s.mu
}

func hashString(seed maphash.Seed, s string) uint64 { return maphash.String(seed, s) }

// posKey is an account's position in one instrument.
type posKey struct{ account, instrument string }

func hashPosKey(seed maphash.Seed, k posKey) uint64 {
	return maphash.String(seed, k.account) ^ bits.RotateLeft64(maphash.String(seed, k.instrument), 31)
}

// openOrders tracks allowed orders until they end, by ID, in shards.
type openOrders struct {
	shards [shardCount]openShard
}

type openShard struct {
	mu   sync.Mutex
	m    map[uint64]*openOrder
	free []*openOrder
	_    [24]byte
}

// openOrder is an order being checked (pending) or allowed and still
// open, with its unfilled quantity.
type openOrder struct {
	order   Order
	open    int64
	pending bool
}

func (oo *openOrders) shard(id uint64) *openShard {
	return &oo.shards[(id*0x9E3779B97F4A7C15)>>58]
}

// claim records id as being checked, and reports false if an order with
// the ID is already open or being checked.
func (oo *openOrders) claim(id uint64) bool {
	s := oo.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.m[id]; dup {
		return false
	}
	if s.m == nil {
		s.m = map[uint64]*openOrder{}
	}
	var r *openOrder
	if n := len(s.free); n > 0 {
		r, s.free = s.free[n-1], s.free[:n-1]
	} else {
		r = new(openOrder)
	}
	*r = openOrder{pending: true}
	s.m[id] = r
	return true
}

// admit turns a claimed ID into an open order.
func (oo *openOrders) admit(o *Order) {
	s := oo.shard(o.ID)
	s.mu.Lock()
	r := s.m[o.ID]
	r.order, r.open, r.pending = *o, o.Qty, false
	s.mu.Unlock()
}

// drop forgets a claimed ID whose order was rejected.
func (oo *openOrders) drop(id uint64) {
	s := oo.shard(id)
	s.mu.Lock()
	r := s.m[id]
	*r = openOrder{}
	s.free = append(s.free, r)
	delete(s.m, id)
	s.mu.Unlock()
}

// take removes up to qty (all, if qty < 0) of an open order's quantity
// and returns the order and how much was taken. For a fill (qty > 0) it
// also checks price against the order's limit. It returns ErrUnknownOrder
// for an unknown ID, ErrOverfill for a qty over what is open, and
// ErrFillPrice for a price through the limit or a price × qty over
// MaxNotional; nothing changes then.
func (oo *openOrders) take(id uint64, qty, price int64) (o Order, taken int64, err error) {
	s := oo.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.m[id]
	switch {
	case r == nil || r.pending:
		return Order{}, 0, fmt.Errorf("%w: %d", ErrUnknownOrder, id)
	case qty > r.open:
		return Order{}, 0, fmt.Errorf("%w: quantity %d is more than order %d has open (%d)", ErrOverfill, qty, id, r.open)
	case qty > 0 && r.order.Side == Buy && price > r.order.Price:
		return Order{}, 0, fmt.Errorf("%w: order %d buys at %d or less, not %d", ErrFillPrice, id, r.order.Price, price)
	case qty > 0 && r.order.Side == Sell && price < r.order.Price:
		return Order{}, 0, fmt.Errorf("%w: order %d sells at %d or more, not %d", ErrFillPrice, id, r.order.Price, price)
	case qty > 0:
		if n, ok := checked.Mul(price, qty); !ok || n > MaxNotional {
			return Order{}, 0, fmt.Errorf("%w: %d at %d is over risk.MaxNotional", ErrFillPrice, qty, price)
		}
	}
	if qty < 0 {
		qty = r.open
	}
	r.open -= qty
	o = r.order
	if r.open == 0 {
		delete(s.m, id)
		*r = openOrder{}
		s.free = append(s.free, r)
	}
	return o, qty, nil
}

// count returns the number of open orders.
func (oo *openOrders) count() int {
	n := 0
	for i := range oo.shards {
		s := &oo.shards[i]
		s.mu.Lock()
		for _, r := range s.m {
			if !r.pending {
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}
