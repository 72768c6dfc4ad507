// Package sampler provides [Adaptive], a head sampler for the OpenTelemetry
// Go SDK that keeps the number of sampled spans per second near a budget
// whatever the load, samples more while requests are failing, and decides
// consistently across services.
//
//	a := sampler.NewAdaptive(sampler.WithBudget(200)) // spans per second
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(a), sdktrace.WithSpanProcessor(a))
//
// otelx.Setup installs one by default (budget from otelx.WithSpanBudget or
// the OTLPGO_SPAN_BUDGET environment variable).
//
// # How it decides
//
// Root spans are sampled with a probability p that the sampler adjusts
// every interval (default 1s): it estimates the spans arriving per second
// from the ones it sampled, each standing for 1/p spans, and sets p to
// budget/arrivals, between a floor and a ceiling. A rise of load is
// answered within one interval (sooner when the budget is overrun twice
// over); a fall, at most 4x per interval, so a lull cannot throw p to the
// ceiling. Children follow their parent, so traces stay whole.
//
// While the estimated ratio of root spans ending in error is above a
// threshold, p is multiplied by a boost. A head sampler cannot see a span's
// status, so Adaptive is also a SpanProcessor: registered with
// sdktrace.WithSpanProcessor, it sees spans end and estimates the error
// ratio, weighting each sampled root by 1/p so the estimate stays unbiased
// when p is low or changing.
//
// With [WithFairness], every root span name keeps a minimum of sampled
// traces per second, so a rare operation is seen even when a hot one takes
// the budget; [WithMaxTracesPerSecond] adds a hard cap.
//
// # Consistency across services
//
// Decisions follow OpenTelemetry's consistent probability sampling (the
// specification's TraceState: Probability Sampling): a root is sampled
// when the 56 least significant bits of its trace ID (or the explicit rv
// value in the tracestate) are at least the rejection threshold
// (1-p)·2^56, and the threshold is written to the W3C tracestate as
// ot=th:<hex>, rounded to 4 significant hex digits. Every service and
// backend can then tell the probability a trace was sampled at, and weight
// it by its adjusted count, even though p changes over time. Sampled
// children carry the same value; a parent threshold that contradicts the
// trace's randomness is erased.
//
// # What does not belong here
//
// Tail sampling (deciding after a trace ends) belongs in the collector.
// Rate limiting of anything but trace starts belongs elsewhere.
package sampler
