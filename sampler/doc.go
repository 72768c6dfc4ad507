// Package sampler provides [Adaptive], a head sampler for the OpenTelemetry
// Go SDK that keeps the number of sampled spans per second near a budget
// whatever the load, samples more while requests are failing, and decides
// consistently across services.
//
//	a := sampler.NewAdaptive(sampler.WithBudget(200)) // spans per second
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(a), sdktrace.WithSpanProcessor(a))
//	defer tp.Shutdown(ctx) // also stops the sampler's goroutine
//
// Install it unwrapped (not inside sdktrace.ParentBased: it follows
// parents itself, and must see child spans to count them) and as a span
// processor (to see errors). It reports either mistake once through
// otel.Handle ([ErrWrapped], [ErrNotProcessor]). otelx.Setup installs one
// by default (budget from otelx.WithSpanBudget or the OTLPGO_SPAN_BUDGET
// environment variable).
//
// # How it decides
//
// Root spans are sampled with a probability p that a goroutine adjusts
// every interval (default 1s), whether or not anything is sampled or
// anybody reads the sampler. It counts the roots arriving in a band of
// randomness just above the threshold (eight times as wide as what is
// sampled, each standing for its adjusted count), so it knows the arrival
// rate without touching the drop path, and sets p to what the budget
// allows, between a floor and a ceiling. A fall in load raises p as fast
// as the evidence allows (by the upper confidence bound of the arrivals,
// at least 4x an interval); a rise is met at once: as soon as the spans
// sampled since the last adjustment pass twice the budget, p is cut, so
// start-up and a step up stay within about twice the budget in every
// second. Children follow their parent, so traces stay whole; the
// sampler measures the spans per trace and budgets traces accordingly.
//
// Spans that follow a sampled remote parent count one each against the
// budget (never at an upstream's adjusted count, which a hostile upstream
// could inflate), and local roots get the rest, keeping at least half the
// budget, or their share of it in proportion to the spans arriving if that
// is smaller.
//
// While local root spans are reliably failing more than a threshold, p is
// multiplied by a boost. A head sampler cannot see a span's status, so
// Adaptive is also a SpanProcessor: registered with
// sdktrace.WithSpanProcessor, it sees spans end and estimates the error
// ratio, weighting each sampled root by 1/p so the estimate stays unbiased
// when p is low or changing. The boost switches on when a confidence bound
// puts the ratio above the threshold and off when one puts it below, so a
// steady ratio near the threshold does not make it flap.
//
// With [WithFairness], every root span name keeps up to a minimum of
// sampled traces per second, within the budget, so a rare operation is
// seen even when a hot one takes the budget; [WithMaxTracesPerSecond] adds
// a hard cap.
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
// children carry the same value. An rv is never changed; a th that does not
// parse, that the trace's randomness contradicts, or that no longer
// describes a span dropped here is erased. A remote trace ID without the
// W3C random flag and without rv is assumed random, as the specification
// allows, and reported once ([ErrAssumedRandomness]).
//
// # What does not belong here
//
// Tail sampling (deciding after a trace ends) belongs in the collector.
// Rate limiting of anything but trace starts belongs elsewhere.
package sampler
