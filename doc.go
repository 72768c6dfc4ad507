// Package otlpgo is a library of OpenTelemetry-instrumented building blocks
// for Go services: each package is a pattern that services keep rewriting
// by hand, done once, correct under concurrency, and traced and measured
// through the OpenTelemetry API.
//
// This root package holds no code; it documents the module. Import the
// package you need.
//
// # At a glance
//
//	Need                                            Package      Start with
//	----------------------------------------------  -----------  ------------------------------
//	Set up traces and metrics over OTLP in one      otelx        otelx.Setup, Telemetry.Shutdown
//	call; know when telemetry is not getting
//	through (exporter health, dropped spans)
//	Find spans that were started and never ended    otelx        Telemetry.Health (Spans.OldestOpen)
//	Serve telemetry health as JSON                  otelx        Telemetry.HealthHandler
//	Sample to a budget of spans per second, more    sampler      sampler.NewAdaptive
//	while requests fail, consistently across
//	services (ot=th: in the tracestate)
//	A bounded queue faster than a channel that      ringbuffer   ringbuffer.NewMPMC, NewSPSC
//	parks instead of spinning when idle
//	Exact decimal prices and quantities on an       orderbook    orderbook.ParsePrice, ParseQty
//	instrument's tick and lot grid
//	A limit order book: price-time priority,        orderbook    orderbook.NewBook, Book.Submit
//	limit/market/IOC/FOK/post-only/stop orders,
//	self-trade prevention, every outcome an event
//	Match orders from many goroutines on one, with  orderbook    orderbook.OpenEngine, Engine.Send,
//	a command log that replays to the same book                  Engine.Do, orderbook.Replay
//	Check orders before they trade: size, notional, risk         risk.New, Engine.Check,
//	price band, rate, size anomaly, position,                    Engine.Fill, Engine.Release
//	daily notional, kill switches; exact under
//	concurrency
//
// Packages still to land, as DESIGN.md plans them: concurrency (traced
// channels, worker pools, pipelines), fp (functional helpers), errs (traced
// errors and retry), saga and twopc (coordinators that survive a crash).
// The table grows as each lands.
//
// # The rule for libraries
//
// Every package except otelx and sampler (which implements the SDK's
// Sampler interface) speaks only the OpenTelemetry API; those that emit
// telemetry take WithTracerProvider and WithMeterProvider options
// defaulting to the globals, so they cost nothing until the application
// installs an SDK, for example with otelx.Setup. ringbuffer emits none: it
// sits on paths too hot for it. No package imports otelx; a test enforces
// it.
package otlpgo
