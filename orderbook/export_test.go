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
