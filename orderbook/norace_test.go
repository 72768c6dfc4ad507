//go:build !race

package orderbook_test

// raceEnabled says the race detector is on, which makes the tests that
// need a gigabyte of orders too slow and too large to run.
const raceEnabled = false
