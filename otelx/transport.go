package otelx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// defaultExporterTimeout is the OTLP exporters' timeout of one HTTP request
// when neither OTEL_EXPORTER_OTLP_TIMEOUT nor its per-signal form is set.
const defaultExporterTimeout = 10 * time.Second

// newExporterClient builds the HTTP client otelx gives the OTLP/HTTP
// exporter of one signal ("TRACES" or "METRICS"), so that Shutdown can close
// its idle keep-alive connections: the exporters' own client shares a
// transport private to the exporter package, whose connections, and their
// two goroutines each, outlive Shutdown for as long as the collector keeps
// them open.
//
// A client passed with WithHTTPClient makes the exporter ignore the
// certificate and timeout variables, so otelx applies them here as the
// exporter would: OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_CERTIFICATE and
// _CLIENT_KEY, each overridden by its per-signal form, and
// OTEL_EXPORTER_OTLP_TIMEOUT and its per-signal form (already checked by
// checkExporterEnv). Where the exporter logs an unreadable or malformed
// file and goes on without it, otelx returns an *EnvError. The transport is
// a clone of http.DefaultTransport when that is an *http.Transport (else
// the same settings), so proxies are taken from the environment as by
// default.
func newExporterClient(signal string) (*http.Client, error) {
	var tr *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		tr = dt.Clone()
	} else {
		tr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: 1 * time.Second,
		}
	}
	tlsCfg, err := exporterTLS(signal)
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		tr.TLSClientConfig = tlsCfg
	}
	timeout := defaultExporterTimeout
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_" + signal + "_TIMEOUT"} {
		if v, ok := envLookup(name); ok {
			if ms, err := strconv.Atoi(v); err == nil && ms > 0 {
				timeout = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// exporterTLS reads the certificate variables of one signal as the OTLP
// exporter does, the per-signal form winning, and returns nil when none is
// set.
func exporterTLS(signal string) (*tls.Config, error) {
	var cfg tls.Config
	set := false
	for _, name := range []string{"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_" + signal + "_CERTIFICATE"} {
		path, ok := envLookup(name)
		if !ok {
			continue
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, envError(name, path, fmt.Errorf("%w: cannot read the CA certificate file: %v", ErrInvalidValue, unwrapPathError(err)))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, envError(name, path, fmt.Errorf("%w: the file holds no PEM certificate", ErrInvalidValue))
		}
		cfg.RootCAs, set = pool, true
	}
	for _, prefix := range []string{"OTEL_EXPORTER_OTLP_", "OTEL_EXPORTER_OTLP_" + signal + "_"} {
		certVar, keyVar := prefix+"CLIENT_CERTIFICATE", prefix+"CLIENT_KEY"
		certPath, okc := envLookup(certVar)
		keyPath, okk := envLookup(keyVar)
		switch {
		case !okc && !okk:
			continue
		case !okc:
			return nil, envError(keyVar, keyPath, fmt.Errorf("%w: it is set but %s is not: set both or neither", ErrInvalidValue, certVar))
		case !okk:
			return nil, envError(certVar, certPath, fmt.Errorf("%w: it is set but %s is not: set both or neither", ErrInvalidValue, keyVar))
		}
		certPEM, err := os.ReadFile(certPath)
		if err != nil {
			return nil, envError(certVar, certPath, fmt.Errorf("%w: cannot read the client certificate file: %v", ErrInvalidValue, unwrapPathError(err)))
		}
		keyPEM, err := os.ReadFile(keyPath)
		if err != nil {
			// The key's path is shown, never what the file holds.
			return nil, envError(keyVar, keyPath, fmt.Errorf("%w: cannot read the client key file: %v", ErrInvalidValue, unwrapPathError(err)))
		}
		crt, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, envError(certVar, certPath, fmt.Errorf("%w: the client certificate and %s do not make a key pair", ErrInvalidValue, keyVar))
		}
		cfg.Certificates, set = []tls.Certificate{crt}, true
	}
	if !set {
		return nil, nil
	}
	return &cfg, nil
}

// unwrapPathError drops the path from an *os.PathError: the EnvError shows
// it already.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
