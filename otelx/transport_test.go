package otelx_test

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/internal/collectortest"
	"github.com/otlpgo/otlpgo/otelx"
)

// TestShutdownLeavesNoConnectionGoroutines exports to a real collector and
// shuts down while the collector keeps running: no goroutine may be left,
// net/http's keep-alive readLoop and writeLoop included. The exporters'
// own client kept its idle connections, and their goroutines, open.
func TestShutdownLeavesNoConnectionGoroutines(t *testing.T) {
	col := collectortest.Start(t)
	before := goleak.IgnoreCurrent()
	ctx := context.Background()
	tel, err := otelx.Setup(ctx, otelx.WithGlobal(false), otelx.WithEndpoint(col.Endpoint()),
		otelx.WithSampler(sdktrace.AlwaysSample()))
	if err != nil {
		t.Fatal(err)
	}
	counter, _ := tel.MeterProvider().Meter("t").Int64Counter("c")
	counter.Add(ctx, 1)
	_, span := tel.TracerProvider().Tracer("t").Start(ctx, "span")
	span.End()
	if err := tel.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := goleak.Find(before); err != nil {
		t.Errorf("goroutines left after Shutdown with the collector running: %v", err)
	}
}

// tlsCollector is an OTLP/HTTPS endpoint on 127.0.0.1 that accepts every
// export, and the path of a PEM file holding its certificate.
func tlsCollector(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, path
}

// TestCertificateEnvStillApplies checks that the certificate variables,
// which the exporters ignore once given an HTTP client, still decide whom
// the exporters trust: otelx applies them to its own client.
func TestCertificateEnvStillApplies(t *testing.T) {
	srv, ca := tlsCollector(t)
	export := func(t *testing.T) error {
		tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false), otelx.WithEndpoint(srv.URL),
			otelx.WithSampler(sdktrace.AlwaysSample()), otelx.WithErrorHandler(func(error) {}))
		if err != nil {
			t.Fatal(err)
		}
		defer tel.Shutdown(context.Background())
		_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "span")
		span.End()
		return tel.ForceFlush(context.Background())
	}
	t.Run("no CA", func(t *testing.T) {
		if err := export(t); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("export to an untrusted server: %v, want a certificate error", err)
		}
	})
	for _, name := range []string{"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, ca)
			if name == "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE" {
				t.Setenv("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", ca)
			}
			if err := export(t); err != nil {
				t.Errorf("export trusting the server's certificate: %v", err)
			}
		})
	}
}

// TestBadCertificateEnvIsAnError checks that certificate variables otelx
// cannot use are refused (the exporter logged them and went on without).
func TestBadCertificateEnvIsAnError(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ env map[string]string }{
		{map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": filepath.Join(t.TempDir(), "missing.pem")}},
		{map[string]string{"OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE": notPEM}},
		{map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": notPEM}},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": notPEM, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": notPEM}},
	} {
		var names []string
		for k, v := range tt.env {
			t.Setenv(k, v)
			names = append(names, k)
		}
		tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false), otelx.WithEndpoint("https://127.0.0.1:9"))
		var envErr *otelx.EnvError
		if err == nil {
			tel.Shutdown(context.Background())
		}
		if !errors.Is(err, otelx.ErrInvalidValue) || !errors.As(err, &envErr) || !strings.Contains(strings.Join(names, " "), envErr.Var) {
			t.Errorf("%v: Setup = %v, want an *EnvError naming one of them", tt.env, err)
		}
		for k := range tt.env {
			t.Setenv(k, "")
		}
	}
}
