package otelx

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidEndpoint is returned by [Setup] when the OTLP endpoint, from
	// [WithEndpoint] or the environment, is not an absolute http or https URL.
	ErrInvalidEndpoint = errors.New("otelx: invalid OTLP endpoint")

	// ErrUnsupported is returned by [Setup] when the environment asks for an
	// exporter, protocol or sampler that otelx does not provide, such as
	// OTEL_EXPORTER_OTLP_PROTOCOL=grpc or OTEL_TRACES_SAMPLER=jaeger_remote.
	ErrUnsupported = errors.New("otelx: unsupported value")

	// ErrInvalidValue is returned by [Setup] when a numeric or duration
	// environment variable does not parse or is out of range.
	ErrInvalidValue = errors.New("otelx: invalid value")
)

// EnvError reports an OTEL_* environment variable whose value Setup cannot
// use. Its Err is one of [ErrInvalidEndpoint], [ErrUnsupported] or
// [ErrInvalidValue], so callers can use errors.Is as well as errors.As.
type EnvError struct {
	Var   string // the variable's name, e.g. "OTEL_TRACES_SAMPLER"
	Value string // its value as found
	Err   error  // why it was refused
}

// Error names the variable, its value and what is wrong.
func (e *EnvError) Error() string {
	return fmt.Sprintf("otelx: environment variable %s=%q: %v", e.Var, e.Value, e.Err)
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *EnvError) Unwrap() error { return e.Err }
