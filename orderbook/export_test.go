package orderbook

import "fmt"

// CheckInvariants exposes the book's internal invariant check to tests.
func (b *Book) CheckInvariants() error { return b.checkInvariants() }

// IndexOps applies a sequence of puts, gets and deletes to an orderIndex
// and to a map, and reports the first disagreement; ops holds IDs, with a
// negative one meaning delete.
func IndexOps(ids []int64) (string, bool) {
	var x orderIndex
	ref := map[OrderID]*order{}
	for step, v := range ids {
		id := OrderID(v)
		if v < 0 {
			id = OrderID(-v)
		}
		if id == 0 {
			continue
		}
		want := ref[id]
		if got := x.get(id); got != want {
			return fmtStep(step, "get", id), false
		}
		switch {
		case v < 0 && want != nil:
			x.del(id)
			delete(ref, id)
		case v > 0 && want == nil:
			o := &order{id: id}
			if step%2 == 0 {
				x.put(id, o)
			} else if !x.insert(id, o) {
				return fmtStep(step, "insert of a new ID refused", id), false
			}
			ref[id] = o
		case v > 0 && x.insert(id, &order{id: id}):
			return fmtStep(step, "insert of a present ID accepted", id), false
		}
		if x.n != len(ref) {
			return fmtStep(step, "len", id), false
		}
	}
	for id, o := range ref {
		if x.get(id) != o {
			return fmtStep(len(ids), "final get", id), false
		}
	}
	return "", true
}

func fmtStep(step int, what string, id OrderID) string {
	return fmt.Sprintf("%s of %d at step %d", what, id, step)
}

// MeanProbe puts the IDs into an orderIndex and returns the mean number
// of slots a get of each one visits.
func MeanProbe(ids []OrderID) float64 {
	var x orderIndex
	for _, id := range ids {
		x.insert(id, &order{id: id})
	}
	mask := uint64(len(x.slots) - 1)
	total := 0
	for _, id := range ids {
		for i := x.home(id); ; i = (i + 1) & mask {
			total++
			if x.slots[i].id == id {
				break
			}
		}
	}
	return float64(total) / float64(len(ids))
}

// AddOversized places a Limit order (resting it, without matching) or a
// Stop or StopLimit order (pending) whose quantity may exceed MaxQty, up
// to math.MaxInt64, and reports whether its level took it. One such order
// stands for the 2^23 orders of MaxQty a level needs to come near an
// int64's limit through Submit, so that the overflow checks can be tested
// in microseconds (TestLevelTotalOverflowAtScale does it the slow way,
// through the public API only). It keeps every invariant checkInvariants
// checks; only RestoreBook would refuse the order, by its quantity.
func (b *Book) AddOversized(o Order) bool {
	if !b.bids.buy {
		b.init()
	}
	if o.Kind == Stop || o.Kind == StopLimit {
		return b.park(o)
	}
	return b.rest(o.ID, o.Owner, o.Side, o.Price, o.Qty)
}
