// Package version holds the library's version, which the domain packages
// report as their instrumentation scope version.
package version

// Version is the otlpgo release these packages belong to.
const Version = "0.1.0"
