module github.com/otlpgo/otlpgo/benchmarks

go 1.26.0

require (
	github.com/Workiva/go-datastructures v1.1.5
	github.com/hedzr/go-ringbuf/v2 v2.2.1
	github.com/otlpgo/otlpgo v0.0.0
	github.com/smarty/go-disruptor v0.5.0
	go.opentelemetry.io/otel/sdk v1.47.0
	go.opentelemetry.io/otel/sdk/metric v1.47.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
	golang.org/x/text v0.42.0 // indirect
)

require (
	github.com/alitto/pond/v2 v2.7.1
	github.com/panjf2000/ants/v2 v2.12.1
	github.com/samber/lo v1.53.0
	golang.org/x/sync v0.23.0
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/otlpgo/otlpgo => ../
