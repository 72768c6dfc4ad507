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
//	Run a function on N workers with backpressure,  concurrency  concurrency.NewWorkerPool,
//	ordered results, panics as errors                            WorkerPool.Run, Submit
//	Typed pipeline stages with their own workers,   concurrency  concurrency.NewStage, Then,
//	cancelled end to end                                         RunPipeline, FanOut, FanIn
//	A channel whose values carry the sender's span  concurrency  concurrency.NewTracedChannel
//	Map, Filter, Reduce over slices and iter.Seq;   fp           fp.Map, fp.MapContext,
//	bounded parallel map; Result and Option                      fp.ParallelMap, fp.Try
//	Errors with a code, the trace they were made    errs         errs.Wrap, errs.Record,
//	in, and error.type; Retry with backoff                       errs.Retry, errs.Permanent
//	Sagas that survive a crash: steps and           saga         saga.New, Coordinator.Run,
//	compensations, a durable log, Recover                        Coordinator.Recover
//	Two-phase commit over PostgreSQL prepared       twopc        twopc.New, twopc.NewPostgres,
//	transactions, with a durable decision log                    Coordinator.Run, Recover
//	Tell a panic in a callback from an error: the   panics       panics.Error, panics.Try
//	value and stack, matchable with errors.As
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
