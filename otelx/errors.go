package otelx

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidEndpoint is returned by [Setup] when the OTLP endpoint, from
	// [WithEndpoint] or the environment, is not an absolute http or https URL
	// with a valid port, or carries a user, password, query or fragment,
	// which the OTLP exporter would drop, or an '@' anywhere, even
	// percent-encoded (a mistyped user:password).
	ErrInvalidEndpoint = errors.New("otelx: invalid OTLP endpoint")

	// ErrUnsupported is returned by [Setup] when the environment asks for an
	// exporter, protocol, compression, propagator or sampler that otelx does
	// not provide, such as OTEL_EXPORTER_OTLP_PROTOCOL=grpc or
	// OTEL_TRACES_SAMPLER=jaeger_remote, or sets a variable that the
	// configuration in effect would ignore, such as OTEL_TRACES_SAMPLER_ARG
	// with a sampler that takes no argument.
	ErrUnsupported = errors.New("otelx: unsupported value")

	// ErrInvalidValue is returned by [Setup] when an environment variable
	// does not parse or is out of range: a number, a duration, a boolean, a
	// header list or the resource attributes.
	ErrInvalidValue = errors.New("otelx: invalid value")
)

// EnvError reports an OTEL_* environment variable whose value Setup cannot
// use. Its Err is one of [ErrInvalidEndpoint], [ErrUnsupported] or
// [ErrInvalidValue], so callers can use errors.Is as well as errors.As.
type EnvError struct {
	Var string // the variable's name, e.g. "OTEL_TRACES_SAMPLER"
	// Value is the variable's value with its secrets hidden: an endpoint's
	// user, password, query values and fragment, and every header value,
	// read "xxxxx" (an endpoint with an '@', even percent-encoded, shows
	// only its scheme and what follows the last '@'; one that does not
	// parse, only its scheme), and a value longer than 256 bytes is cut.
	Value string
	Err   error // why it was refused
}

// Error names the variable, its value and what is wrong.
func (e *EnvError) Error() string {
	return fmt.Sprintf("otelx: environment variable %s=%q: %v", e.Var, e.Value, e.Err)
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *EnvError) Unwrap() error { return e.Err }
