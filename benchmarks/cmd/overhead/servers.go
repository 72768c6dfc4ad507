package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
)

// order is the request body: about 1 KB of JSON.
type order struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	Side    string `json:"side"`
	Lines   []line `json:"lines"`
}

type line struct {
	Symbol string  `json:"symbol"`
	Qty    int     `json:"qty"`
	Price  float64 `json:"price"`
}

type reply struct {
	ID       string  `json:"id"`
	Accepted bool    `json:"accepted"`
	Notional float64 `json:"notional"`
	Digest   string  `json:"digest"`
}

// requestBody builds the ~1 KB order every request sends.
func requestBody() []byte {
	o := order{ID: "ord-000001", Account: "acct-42", Side: "buy"}
	for i := range 16 {
		o.Lines = append(o.Lines, line{Symbol: fmt.Sprintf("SYM%03d", i), Qty: 10 + i, Price: 101.25 + float64(i)})
	}
	b, _ := json.Marshal(o)
	return b
}

// handler is the workload of every request, whatever the framework:
// decode the JSON order, hash its body with SHA-256 16 times (a few
// microseconds of CPU), and encode a JSON reply. With a tracer, each of
// the three steps is a child span of the request's span carrying one
// attribute, as in a service that traces its own work; the untraced
// variant has no tracer and makes no tracing calls at all.
type handler struct {
	tracer trace.Tracer // nil: untraced
}

// step starts a child span named name when the handler traces.
func (h handler) step(ctx context.Context, name string, attr attribute.KeyValue) func() {
	if h.tracer == nil {
		return func() {}
	}
	_, span := h.tracer.Start(ctx, name, trace.WithAttributes(attr))
	return func() { span.End() }
}

func (h handler) handle(ctx context.Context, body []byte) ([]byte, error) {
	end := h.step(ctx, "decode order", attribute.Int("order.bytes", len(body)))
	var o order
	err := json.Unmarshal(body, &o)
	end()
	if err != nil {
		return nil, err
	}
	end = h.step(ctx, "hash order", attribute.Int("order.lines", len(o.Lines)))
	sum := sha256.Sum256(body)
	for range 15 {
		sum = sha256.Sum256(append(sum[:], body...))
	}
	var notional float64
	for _, l := range o.Lines {
		notional += float64(l.Qty) * l.Price
	}
	end()
	end = h.step(ctx, "encode reply", attribute.String("order.id", o.ID))
	defer end()
	return json.Marshal(reply{ID: o.ID, Accepted: true, Notional: notional, Digest: fmt.Sprintf("%x", sum[:8])})
}

const workload = "decode a 1,024-byte JSON order (16 lines), SHA-256 its body 16 times, encode a ~100-byte JSON reply"

// server is one framework's server and a client for it.
type server struct {
	call  func(ctx context.Context) error
	close func()
}

// startServer starts the framework on 127.0.0.1; tp nil means no tracing
// instrumentation at all. With childSpans the handler traces its three
// steps as children of the request's span.
func startServer(framework string, tp trace.TracerProvider, childSpans bool, concurrency int) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	body := requestBody()
	var work handler
	if tp != nil && childSpans {
		work.tracer = tp.Tracer("github.com/otlpgo/otlpgo/benchmarks/cmd/overhead")
	}
	mp := metricnoop.NewMeterProvider() // tracing overhead alone: instrumentation metrics off
	// W3C trace context and baggage, as otelx installs globally; requests
	// arrive without a traceparent, as at an edge service.
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	switch framework {
	case "net/http":
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			in, err := io.ReadAll(r.Body)
			if err == nil {
				var out []byte
				if out, err = work.handle(r.Context(), in); err == nil {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(out)
					return
				}
			}
			http.Error(w, err.Error(), http.StatusBadRequest)
		})
		if tp != nil {
			h = otelhttp.NewHandler(h, "POST /orders", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp), otelhttp.WithPropagators(prop))
		}
		return httpServer(ln, h, body, concurrency), nil
	case "gin":
		gin.SetMode(gin.ReleaseMode)
		r := gin.New()
		if tp != nil {
			r.Use(otelgin.Middleware("overhead", otelgin.WithTracerProvider(tp), otelgin.WithMeterProvider(mp), otelgin.WithPropagators(prop)))
		}
		r.POST("/orders", func(c *gin.Context) {
			in, err := c.GetRawData()
			if err == nil {
				var out []byte
				if out, err = work.handle(c.Request.Context(), in); err == nil {
					c.Data(http.StatusOK, "application/json", out)
					return
				}
			}
			c.String(http.StatusBadRequest, err.Error())
		})
		return httpServer(ln, r, body, concurrency), nil
	case "grpc":
		opts := []grpc.ServerOption{grpc.ForceServerCodec(rawCodec{})}
		if tp != nil {
			opts = append(opts, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithMeterProvider(mp), otelgrpc.WithPropagators(prop))))
		}
		s := grpc.NewServer(opts...)
		s.RegisterService(&grpc.ServiceDesc{
			ServiceName: "overhead.Orders",
			HandlerType: (*any)(nil),
			Methods: []grpc.MethodDesc{{MethodName: "Place", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var in []byte
				if err := dec(&in); err != nil {
					return nil, err
				}
				return work.handle(ctx, in)
			}}},
		}, struct{}{})
		go func() { _ = s.Serve(ln) }()
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
		if err != nil {
			s.Stop()
			return nil, err
		}
		return &server{
			call: func(ctx context.Context) error {
				var out []byte
				return conn.Invoke(ctx, "/overhead.Orders/Place", body, &out)
			},
			// GracefulStop waits for the handlers, so that every server
			// span has ended before the telemetry shuts down.
			close: func() { conn.Close(); s.GracefulStop() },
		}, nil
	}
	ln.Close()
	return nil, fmt.Errorf("unknown framework %q", framework)
}

func httpServer(ln net.Listener, h http.Handler, body []byte, concurrency int) *server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}}
	url := "http://" + ln.Addr().String() + "/orders"
	return &server{
		call: func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		},
		close: func() {
			client.CloseIdleConnections()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		},
	}
}

// rawCodec passes []byte through gRPC unchanged: the handler decodes the
// JSON itself, as the HTTP servers do.
type rawCodec struct{}

func (rawCodec) Name() string { return "raw" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *[]byte:
		return *b, nil
	}
	return nil, fmt.Errorf("raw codec: %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

var _ encoding.Codec = rawCodec{}
