package otelx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/go-logr/stdr"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otlpgo/otlpgo/otelx"
)

// secret is part of every credential the tests below put in an endpoint or
// a header; it must appear in nothing otelx shows.
const secret = "S3CRET"

// credentialed is an endpoint with a user, a password, a query value and a
// fragment, each holding the secret.
const credentialed = "http://user-" + secret + ":pw-" + secret + "@127.0.0.1:4318/base?api_key=q-" + secret + "&x=%41" + secret + "#f-" + secret

// shownText collects everything otelx shows: log lines from the
// OpenTelemetry logger and messages given to the error handlers.
type shownText struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *shownText) add(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(&s.b, format+"\n", args...)
}

func (s *shownText) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// captureShown routes the OpenTelemetry logger (at every verbosity) and the
// global error handler into a shownText until the test ends.
func captureShown(t *testing.T) *shownText {
	t.Helper()
	s := &shownText{}
	otel.SetLogger(funcr.New(func(prefix, args string) { s.add("log: %s %s", prefix, args) }, funcr.Options{Verbosity: 10}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { s.add("otel.Handle: %v", err) }))
	t.Cleanup(func() {
		// The defaults of go.opentelemetry.io/otel/internal/global.
		otel.SetLogger(stdr.New(log.New(os.Stderr, "", log.LstdFlags|log.Lshortfile)))
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Print(err) }))
	})
	return s
}

func assertNoSecret(t *testing.T, where, text string) {
	t.Helper()
	if strings.Contains(text, secret) {
		t.Errorf("%s shows the secret:\n%s", where, text)
	}
}

// TestSecretsNeverShown puts credentials in every endpoint variable, in the
// endpoint option and in every header variable, well-formed and malformed,
// and checks that neither Setup's error, nor the health JSON and settings,
// nor any error or log line after a failed export shows them. It is the
// regression test for issue 14, finding 12: the query showed in the health
// JSON, and the password in Setup's error for a malformed endpoint.
func TestSecretsNeverShown(t *testing.T) {
	const good = "http://127.0.0.1:9" // discard: exports fail at once
	tests := []struct {
		name    string
		env     map[string]string
		opts    []otelx.Option
		wantErr error // nil: Setup succeeds
	}{
		{name: "option with credentials", opts: []otelx.Option{otelx.WithEndpoint(credentialed)}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "base variable with credentials", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": credentialed}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "traces variable with credentials", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": credentialed}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "metrics variable with credentials", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": credentialed}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "user only", opts: []otelx.Option{otelx.WithEndpoint("https://tok-" + secret + "@collector.example:4318")}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "query only", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example?api_key=" + secret}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "bad port", opts: []otelx.Option{otelx.WithEndpoint("http://user:pw-" + secret + "@127.0.0.1:99999")}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "port that does not parse", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:pw-" + secret + "@127.0.0.1:x?k=" + secret}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "bad escape in password", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://user:pw%zz" + secret + "@127.0.0.1:4318"}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "password with a question mark", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://user:pw?" + secret + "@127.0.0.1:4318"}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "no scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "user:pw-" + secret + "@127.0.0.1:4318"}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "control character", opts: []otelx.Option{otelx.WithEndpoint("http://user:pw-" + secret + "@127.0.0.1:4318/\x7f")}, wantErr: otelx.ErrInvalidEndpoint},
		{name: "space in host", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:pw-" + secret + "@127.0.0 .1:4318"}, wantErr: otelx.ErrInvalidEndpoint},
		{
			name:    "slash in password parses as a port and a path",
			opts:    []otelx.Option{otelx.WithEndpoint("http://user:12/pw-" + secret + "@127.0.0.1:9")},
			wantErr: otelx.ErrInvalidEndpoint,
		},
		{
			name: "variables with credentials behind the option",
			env: map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT":         credentialed,
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":  credentialed,
				"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": credentialed,
			},
			opts: []otelx.Option{otelx.WithEndpoint(good)},
		},
		{
			name:    "variable behind the option that does not parse",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:pw-" + secret + "@127.0.0.1:x"},
			opts:    []otelx.Option{otelx.WithEndpoint(good)},
			wantErr: otelx.ErrInvalidEndpoint,
		},
		{
			name: "headers",
			env: map[string]string{
				"OTEL_EXPORTER_OTLP_HEADERS":         "Authorization=Bearer%20" + secret + ",api-key=" + secret,
				"OTEL_EXPORTER_OTLP_TRACES_HEADERS":  "Authorization=Basic " + secret,
				"OTEL_EXPORTER_OTLP_METRICS_HEADERS": "x-token=" + secret,
				"OTEL_EXPORTER_OTLP_ENDPOINT":        good,
			},
		},
		{name: "header without =", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "Authorization Bearer " + secret}, wantErr: otelx.ErrInvalidValue},
		{name: "header with a bad escape", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "Authorization=Bearer%zz" + secret}, wantErr: otelx.ErrInvalidValue},
		{name: "header with a bad key", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_HEADERS": "Bearer " + secret + "=x"}, wantErr: otelx.ErrInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shown := captureShown(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			opts := append([]otelx.Option{
				otelx.WithGlobal(false),
				otelx.WithExportTimeout(time.Second),
				otelx.WithErrorHandler(func(err error) { shown.add("error handler: %v", err) }),
			}, tt.opts...)
			tel, err := otelx.Setup(context.Background(), opts...)
			if err != nil {
				if tt.wantErr == nil || !errors.Is(err, tt.wantErr) {
					t.Fatalf("Setup: %v, want %v", err, tt.wantErr)
				}
				assertNoSecret(t, "Setup's error", err.Error())
				if ee := (*otelx.EnvError)(nil); errors.As(err, &ee) {
					assertNoSecret(t, "EnvError.Value", ee.Value)
				}
				assertNoSecret(t, "the log", shown.String())
				return
			}
			if tt.wantErr != nil {
				// Still look at what it shows, then fail.
				defer t.Errorf("Setup accepted it, want %v", tt.wantErr)
			}
			_, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "span")
			span.End()
			if err := tel.ForceFlush(context.Background()); err != nil {
				shown.add("ForceFlush: %v", err)
			} else {
				t.Error("ForceFlush to the discard port succeeded")
			}

			srv := httptest.NewServer(tel.HealthHandler())
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assertNoSecret(t, "the health JSON", string(body))
			if !strings.Contains(string(body), `"last_error"`) {
				t.Errorf("health JSON has no export error to check:\n%s", body)
			}
			h := tel.Health()
			settings, _ := json.Marshal(h.Settings)
			assertNoSecret(t, "the settings", string(settings))
			assertNoSecret(t, "the health value", fmt.Sprintf("%+v", h))

			if err := tel.Shutdown(context.Background()); err != nil {
				shown.add("Shutdown: %v", err)
			}
			assertNoSecret(t, "errors and the log", shown.String())
		})
	}
}

// TestEndpointShownRedacted checks what the settings show of an endpoint
// variable that an option overrode: it is named, with every credential
// hidden and the rest kept, so an operator can still tell which it was.
func TestEndpointShownRedacted(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", credentialed)
	tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false), otelx.WithEndpoint("http://127.0.0.1:9"),
		otelx.WithErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	s := setting(t, tel.Health(), "traces.endpoint")
	const want = "OTEL_EXPORTER_OTLP_ENDPOINT=http://xxxxx:xxxxx@127.0.0.1:4318/base?api_key=xxxxx&x=xxxxx#xxxxx"
	if s.Value != "http://127.0.0.1:9/v1/traces" || s.IgnoredEnv != want {
		t.Errorf("traces.endpoint %+v, want http://127.0.0.1:9/v1/traces ignoring %s", s, want)
	}
}

// TestCollectorEchoingHeadersShowsNoSecret exports to a gateway on
// 127.0.0.1 that refuses every request with a body echoing the header
// values it received, as some API gateways do ("401 invalid api key:
// ..."), and checks that no header value reaches Health (LastError,
// Reasons), the health JSON, the error handler, ForceFlush's error or the
// log, and that the error kept is bounded. The exporter's error quotes the
// body, and used to be kept whole.
func TestCollectorEchoingHeadersShowsNoSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var echo []string
		for _, k := range []string{"X-Api-Key", "Authorization", "X-Token"} {
			if v := r.Header.Get(k); v != "" {
				echo = append(echo, v, url.QueryEscape(v))
			}
		}
		http.Error(w, "invalid api key: "+strings.Join(echo, " ")+strings.Repeat(" padding", 1000), http.StatusUnauthorized)
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "X-Api-Key="+secret+"H")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "Authorization=Bearer%20"+secret+"T,X-Api-Key="+secret+"H")
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "X-Token=%53%33CRETM")
	shown := captureShown(t)
	tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false), otelx.WithEndpoint(srv.URL),
		otelx.WithSampler(sdktrace.AlwaysSample()), otelx.WithExportTimeout(5*time.Second),
		otelx.WithErrorHandler(func(err error) { shown.add("error handler: %v", err) }))
	if err != nil {
		t.Fatal(err)
	}
	counter, _ := tel.MeterProvider().Meter("t").Int64Counter("c")
	counter.Add(context.Background(), 1)
	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "span")
	span.End()
	if err := tel.ForceFlush(context.Background()); err == nil {
		t.Fatal("ForceFlush to a gateway refusing everything succeeded")
	} else {
		assertNoSecret(t, "ForceFlush's error", err.Error())
		if !strings.Contains(err.Error(), "invalid api key: xxxxx") {
			t.Errorf("ForceFlush's error lost the gateway's message: %.300s", err)
		}
	}
	h := tel.Health()
	if h.Traces.LastError == "" || h.Metrics.LastError == "" {
		t.Fatalf("no export error kept: %+v", h)
	}
	for _, e := range []string{h.Traces.LastError, h.Metrics.LastError} {
		if len(e) > 1100 {
			t.Errorf("last error is %d bytes long", len(e))
		}
	}
	assertNoSecret(t, "Health", fmt.Sprintf("%+v", h))
	rec := httptest.NewRecorder()
	tel.HealthHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assertNoSecret(t, "the health JSON", rec.Body.String())
	if err := tel.Shutdown(context.Background()); err != nil {
		shown.add("Shutdown: %v", err)
	}
	assertNoSecret(t, "errors and the log", shown.String())
}
