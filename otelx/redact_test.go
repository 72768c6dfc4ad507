package otelx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
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
	const want = "OTEL_EXPORTER_OTLP_ENDPOINT=http://xxxxx@127.0.0.1:4318/base?api_key=xxxxx&x=xxxxx#xxxxx"
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

// unescapeAll decodes every valid %XX in s until nothing changes, leaving
// a stray % alone: what a reader of the text could decode by hand.
func unescapeAll(s string) string {
	for range 8 {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '%' && i+2 < len(s) {
				if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil && !strings.ContainsAny(s[i+1:i+3], "+-") {
					b.WriteByte(byte(n))
					i += 2
					continue
				}
			}
			b.WriteByte(s[i])
		}
		if b.String() == s {
			break
		}
		s = b.String()
	}
	return s
}

// assertNoSecretDecoded is assertNoSecret on text and on text decoded.
func assertNoSecretDecoded(t *testing.T, where, text string) {
	t.Helper()
	assertNoSecret(t, where, text)
	if !strings.Contains(text, secret) {
		assertNoSecret(t, where+" (percent-decoded)", unescapeAll(text))
	}
}

// checkEndpointHidden sets raw as the endpoint, in the base variable and
// through WithEndpoint, and checks that it is refused and that neither the
// error, nor Redact, show the secret, even percent-decoded.
func checkEndpointHidden(t *testing.T, raw string) {
	t.Helper()
	shown := otelx.Redact("OTEL_EXPORTER_OTLP_ENDPOINT", raw)
	assertNoSecretDecoded(t, fmt.Sprintf("Redact(%q) = %q", raw, shown), shown)
	for _, viaOption := range []bool{false, true} {
		var opts []otelx.Option
		if viaOption {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
			opts = append(opts, otelx.WithEndpoint(raw))
		} else {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", raw)
		}
		p, err := otelx.Prepare(context.Background(), opts...)
		if err == nil {
			t.Errorf("endpoint %q (option %v) accepted: %+v", raw, viaOption, p.Settings)
			b, _ := json.Marshal(p.Settings)
			assertNoSecretDecoded(t, "the settings", string(b))
			continue
		}
		if !errors.Is(err, otelx.ErrInvalidEndpoint) {
			t.Errorf("endpoint %q (option %v): %v, want ErrInvalidEndpoint", raw, viaOption, err)
		}
		assertNoSecretDecoded(t, fmt.Sprintf("Setup's error for %q", raw), err.Error())
	}
}

// TestMistypedUserinfoHidden covers the shapes of a user:password typed
// wrong, reported by an outside review: a '/' in the password makes the
// user the host and the password a path; a percent-encoded password and
// '@'. Each used to show the user or the encoded password.
func TestMistypedUserinfoHidden(t *testing.T) {
	for _, raw := range []string{
		"http://" + secret + "USER:1234/rest@127.0.0.1:4318",
		"http://admin:12/%53%33CRETPW%40host:4318",
		"http://admin:12/%2553%2533CRETPW%2540host:4318",
		"http://" + secret + ":12/x%40host:4318",
		"http://u:" + secret + "/x@host:4318/v1",
		"http://u:pw-" + secret + "@",
		"http://u:pw-" + secret + "%40host",
		"https://" + secret + "@" + "h@127.0.0.1:4318",
		"http://host:4318/" + secret + "%40x",
		"http://u:" + secret + "%zz@host:4318",
		"http://u:" + secret,
		"http://[::1]:4318/" + secret + "@x?k=" + secret + "#" + secret,
		secret + ":pw@127.0.0.1:4318",
		"//" + secret + "@127.0.0.1:4318",
		"\x80" + secret + "@h", // invalid UTF-8 before the '@' (FuzzEnv found a panic)
	} {
		t.Run(raw, func(t *testing.T) { checkEndpointHidden(t, raw) })
	}
}

// TestRandomSecretPlacementsHidden puts the secret, percent-encoded or
// not, in random credential positions of random endpoints: before an '@'
// (literal or encoded once or twice) in the authority or the path, in a
// query value or the fragment.
func TestRandomSecretPlacementsHidden(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	encode := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			switch rng.IntN(4) {
			case 0:
				fmt.Fprintf(&b, "%%%02X", s[i])
			case 1:
				fmt.Fprintf(&b, "%%25%02X", s[i])
			default:
				b.WriteByte(s[i])
			}
		}
		return b.String()
	}
	for i := range 300 {
		sec := encode(secret + pick("", "x", "-42", "PW"))
		at := pick("@", "%40", "%2540", "%40%40", "@@")
		host := pick("127.0.0.1:4318", "[::1]:4318", "collector.example", "h:1")
		var raw string
		switch rng.IntN(6) {
		case 0: // userinfo
			raw = pick("user:", "", "u:p:") + sec + at + host
		case 1: // password with a '/', so it parses as port and path
			raw = "user:" + pick("12", "1234", "") + "/" + sec + at + host
		case 2: // user as host
			raw = sec + ":" + pick("1", "12", "x") + "/pw" + at + host
		case 3: // in the path, before an '@'
			raw = host + "/" + pick("", "a/") + sec + at + pick("", "x", host)
		case 4: // a query value
			raw = host + pick("", "/p") + "?" + pick("k", "api_key", "a.b") + "=" + sec + pick("", "&x=1")
		case 5: // the fragment
			raw = host + "/p#" + sec
		}
		raw = pick("http://", "https://", "", "//", "HTTP://") + raw + pick("", "/v1", "?", "#")
		t.Run(strconv.Itoa(i), func(t *testing.T) { checkEndpointHidden(t, raw) })
	}
}
