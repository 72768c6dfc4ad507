// Package compat checks that what otlpgo writes on the wire reads the same
// in other OpenTelemetry implementations. It holds tests only: each feeds
// otlpgo's output, through its public API, to another implementation's
// parser and compares the two readings. It lives in the benchmarks module
// so that the library's go.mod does not carry those implementations.
//
// sampling_test.go reads sampler.Adaptive's W3C tracestate ("ot=th:…;rv:…")
// with the OpenTelemetry Collector's pkg/sampling, the package the
// Collector's probabilistic sampler processor decides with:
//
//	cd benchmarks && go test ./compat/ -v -run Sampling
//
// Benchmarks do not belong here; they go in the parent package.
package compat
