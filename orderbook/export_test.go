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
			x.put(id, o)
			ref[id] = o
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
