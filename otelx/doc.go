// Package otelx sets up OpenTelemetry for a Go service in one call, and
// tells you when telemetry is not getting through.
//
// [Setup] builds a tracer provider and a meter provider that export over
// OTLP/HTTP, sets the propagators (W3C tracecontext and baggage unless
// OTEL_PROPAGATORS says otherwise), describes the service with a resource
// (service name and version, host, SDK), and installs all of it as the
// OpenTelemetry globals. [Telemetry.Shutdown]
// flushes and stops it once.
//
//	tel, err := otelx.Setup(ctx, otelx.WithServiceName("checkout"))
//	if err != nil {
//		return err
//	}
//	defer tel.Shutdown(context.WithoutCancel(ctx))
//
// # Configuration
//
// The standard OTEL_* environment variables work: OTEL_SDK_DISABLED (true
// or false), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_PROPAGATORS
// (tracecontext, baggage or none), OTEL_EXPORTER_OTLP_ENDPOINT and its
// per-signal forms, OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT
// and OTEL_EXPORTER_OTLP_COMPRESSION and their per-signal forms (read by
// the OTLP/HTTP exporters and checked by Setup first),
// OTEL_EXPORTER_OTLP_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and
// OTEL_EXPORTER_OTLP_CLIENT_KEY and their per-signal forms (read by Setup,
// which gives the exporters its own HTTP client so that Shutdown closes
// their connections; a file it cannot use is an error), OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG, OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER
// (otlp or none), OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT,
// OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
// OTEL_METRIC_EXPORT_INTERVAL and OTEL_METRIC_EXPORT_TIMEOUT.
//
// # Sampling
//
// Unless WithSampler or OTEL_TRACES_SAMPLER choose a sampler, Setup
// installs a sampler.Adaptive, which holds the sampled spans per second
// near a budget (default 100; [WithSpanBudget] or OTLPGO_SPAN_BUDGET), and
// registers it as a span processor so it sees errors. [Health].Sampler
// reports its probability, load and error ratio.
//
// Precedence: an [Option] passed to Setup wins over the environment, which
// wins over the default. An option is the code's explicit request; leave it
// out to let operators decide through the environment. The one exception is
// OTEL_SDK_DISABLED=true, which always wins and gives no-op providers. Every
// setting in effect, with its [Source] and any environment variable an
// option overrode, is listed in [Health].Settings.
//
// A value Setup cannot honour is an error, never a silent default: see
// [EnvError], [ErrInvalidEndpoint], [ErrUnsupported] and [ErrInvalidValue].
// That includes a value that would be ignored, such as
// OTEL_TRACES_SAMPLER_ARG with a sampler that takes no argument, and an
// endpoint with a user, password, query or fragment, which the OTLP
// exporter would drop: credentials go in OTEL_EXPORTER_OTLP_HEADERS.
// OTLPGO_SPAN_BUDGET is checked even when an option chooses the sampler or
// the budget, and listed as ignored. OTEL_METRIC_EXPORT_INTERVAL and
// OTEL_METRIC_EXPORT_TIMEOUT, which the SDK's metric reader also reads
// itself, untrimmed, are refused with spaces around the value and checked
// even when an option wins. Setup does not contact the collector.
//
// # Secrets
//
// Nothing otelx shows, in an error, in [Health] and its settings, or in
// what its checks log, contains an endpoint's user, password, query values
// or fragment, or a header's value: they read "xxxxx". An endpoint with an
// '@' anywhere, literal or percent-encoded, shows only its scheme and what
// follows the last '@' (http://xxxxx@host:4318), so a mistyped
// user:password such as http://user:12/pass@host is hidden too; one that
// does not parse shows only its scheme. That includes export
// errors, which quote the collector's response: before otelx keeps one in
// Health, returns it or hands it to the error handler, every header value
// of OTEL_EXPORTER_OTLP_HEADERS and its per-signal forms (as written,
// percent-decoded, and each word of six bytes or more) is replaced by
// "xxxxx", and the text is cut to 1024 bytes. errors.Is and errors.As still
// reach the exporter's error.
//
// # Health
//
// [Telemetry.Health] reports, for the span and metric exporters, the last
// success, the last error, consecutive failures and counts of spans
// exported, failed and dropped because the export queue was full, summed up
// as healthy, degraded or failing. [Telemetry.HealthHandler] serves it as
// JSON for a health endpoint. Spans are queued and batched by otelx's own
// batch processor, equivalent to the SDK's but counting what it drops, which
// the SDK's keeps private.
//
// # Leaks
//
// A span that is started and never ended is never exported and holds its
// memory. Health counts open spans exactly and names the oldest few with
// their age; spans open longer than [WithLeakThreshold] make it degraded.
//
// # What does not belong here
//
// Instrumentation of particular libraries (HTTP, gRPC, SQL) belongs to the
// contrib instrumentation packages; sampling policy belongs to package
// sampler. No package of this module other than cmd/ imports otelx, because
// otelx pulls in the SDK: libraries speak only the OpenTelemetry API and let
// the application choose.
package otelx
