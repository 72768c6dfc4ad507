module github.com/otlpgo/otlpgo/benchmarks

go 1.26.0

require (
	github.com/Workiva/go-datastructures v1.1.5
	github.com/hedzr/go-ringbuf/v2 v2.2.1
	github.com/otlpgo/otlpgo v0.0.0
	github.com/smarty/go-disruptor v0.5.0
)

require golang.org/x/sys v0.48.0 // indirect

replace github.com/otlpgo/otlpgo => ../
