// Package benchmarks compares otlpgo's building blocks with other Go
// libraries, side by side in one run. It is a module of its own so that
// the library's go.mod carries none of them.
//
//	cd benchmarks && go test -run '^$' -bench . -count 10 | benchstat -col /impl -
package benchmarks
