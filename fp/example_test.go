package fp_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/otlpgo/otlpgo/fp"
)

func Example() {
	type order struct {
		id    int
		cents int64
	}
	orders := []order{{1, 1250}, {2, 99}, {3, 40000}}
	large := fp.Filter(orders, func(o order) bool { return o.cents >= 1000 })
	ids := fp.Map(large, func(o order) string { return "#" + strconv.Itoa(o.id) })
	total := fp.Reduce(orders, int64(0), func(sum int64, o order) int64 { return sum + o.cents })
	fmt.Println(ids, total)
	// Output:
	// [#1 #3] 41349
}

// The iter.Seq forms compute as the sequence is consumed.
func ExampleMapSeq() {
	words := strings.Fields("limit market ioc fok")
	upper := fp.MapSeq(slices.Values(words), strings.ToUpper)
	short := fp.FilterSeq(upper, func(s string) bool { return len(s) <= 3 })
	fmt.Println(slices.Collect(short))
	// Output:
	// [IOC FOK]
}

// ParallelMap bounds the calls in flight and keeps the input's order.
func ExampleParallelMap() {
	symbols := []string{"ESZ6", "NQZ6", "CLF7"}
	lengths, err := fp.ParallelMap(context.Background(), symbols, 2, func(ctx context.Context, s string) (string, error) {
		return s + "=" + strconv.Itoa(len(s)), nil // a remote call in real code
	})
	fmt.Println(lengths, err)
	// Output:
	// [ESZ6=4 NQZ6=4 CLF7=4] <nil>
}

// MapContext stops at the first error.
func ExampleMapContext() {
	n, err := fp.MapContext(context.Background(), []string{"1", "2", "x", "4"}, func(_ context.Context, s string) (int, error) {
		return strconv.Atoi(s)
	})
	fmt.Println(n, err)
	// Output:
	// [1 2 0 0] strconv.Atoi: parsing "x": invalid syntax
}

// A Result carries a (T, error) pair as one value.
func ExampleResult() {
	results := fp.Map([]string{"7", "x"}, func(s string) fp.Result[int] { return fp.Try(strconv.Atoi(s)) })
	for _, r := range results {
		fmt.Println(r.IsOk(), r.Or(-1))
	}
	// Output:
	// true 7
	// false -1
}

// An Option carries a (T, bool) pair as one value.
func ExampleOption() {
	limits := map[string]int{"acme": 500}
	for _, account := range []string{"acme", "bolt"} {
		v, ok := limits[account]
		fmt.Println(account, fp.OptionOf(v, ok).Or(100))
	}
	// Output:
	// acme 500
	// bolt 100
}
