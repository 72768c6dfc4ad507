//go:build !race

package compat_test

// raceEnabled says the race detector is on; the parent-context tests
// then run fewer random cases (each takes about 5 times longer under it).
const raceEnabled = false
