// Package collectortest starts a real OpenTelemetry Collector on 127.0.0.1
// for tests, and reads back what it received.
//
// The collector binary is built by scripts/collector.sh and found through the
// OTLPGO_OTELCOL environment variable, which scripts/test.sh sets. When it is
// unset, [Start] skips the test with a message saying how to run it, except
// under CI=true, where a missing collector fails the test: CI always provides
// one.
//
// Each [Collector] listens on a free loopback port of its own and writes what
// it receives to a file in the test's temporary directory, so tests can run
// in parallel and stop and restart their collector without disturbing others.
package collectortest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvBinary names the environment variable holding the collector binary's path.
const EnvBinary = "OTLPGO_OTELCOL"

// readyTimeout bounds how long Start waits for the receiver to accept a probe.
const readyTimeout = 20 * time.Second

// config is the collector configuration: OTLP/HTTP in, batch, file and debug out.
const config = `receivers:
  otlp:
    protocols:
      http:
        endpoint: ${env:OTLPGO_COLLECTOR_ADDR}
processors:
  batch:
    timeout: 100ms
exporters:
  debug:
    verbosity: basic
  file:
    path: ${env:OTLPGO_COLLECTOR_FILE}
    append: true
    flush_interval: 50ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [file, debug]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [file, debug]
`

// Collector is a collector process owned by one test. It is not safe for
// concurrent use; Stop and Start are called from the test goroutine.
type Collector struct {
	tb     testing.TB
	bin    string
	dir    string
	addr   string
	file   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *lockedBuffer
}

// Binary returns the collector binary's path from [EnvBinary]. When it is
// unset it skips tb, or fails it when CI=true.
func Binary(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		msg := EnvBinary + " is not set: run scripts/test.sh, or export " +
			EnvBinary + "=$(scripts/collector.sh build)"
		if os.Getenv("CI") == "true" {
			tb.Fatal("collectortest: " + msg + " (CI must provide the collector)")
		}
		tb.Skip("collectortest: " + msg)
	}
	if _, err := os.Stat(bin); err != nil {
		tb.Fatalf("collectortest: %s=%s: %v", EnvBinary, bin, err)
	}
	return bin
}

// Start starts a collector on a free loopback port and waits until its
// receiver answers. The collector is stopped in tb.Cleanup.
func Start(tb testing.TB) *Collector {
	tb.Helper()
	c := &Collector{tb: tb, bin: Binary(tb), dir: tb.TempDir()}
	c.file = filepath.Join(c.dir, "received.jsonl")
	if err := os.WriteFile(filepath.Join(c.dir, "config.yaml"), []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	c.addr = freeAddr(tb)
	c.Start()
	tb.Cleanup(c.Stop)
	return c
}

// Endpoint is the base URL to export to, e.g. http://127.0.0.1:40123.
func (c *Collector) Endpoint() string { return "http://" + c.addr }

// Addr is the receiver's host:port.
func (c *Collector) Addr() string { return c.addr }

// Start (re)starts a stopped collector on the same address and file.
func (c *Collector) Start() {
	c.tb.Helper()
	if c.cmd != nil {
		return
	}
	cmd := exec.Command(c.bin, "--config", filepath.Join(c.dir, "config.yaml"))
	cmd.Env = append(os.Environ(),
		"OTLPGO_COLLECTOR_ADDR="+c.addr,
		"OTLPGO_COLLECTOR_FILE="+c.file)
	c.log = &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = c.log, c.log
	if err := cmd.Start(); err != nil {
		c.tb.Fatalf("collectortest: start %s: %v", c.bin, err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	if err := c.waitReady(); err != nil {
		c.Stop()
		c.tb.Fatalf("collectortest: %v\ncollector log:\n%s", err, c.log.String())
	}
}

// Stop stops the collector and waits for it to exit. It is a no-op when the
// collector is not running.
func (c *Collector) Stop() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
}

// Log returns what the collector process has printed since its last start.
func (c *Collector) Log() string {
	if c.log == nil {
		return ""
	}
	return c.log.String()
}

func (c *Collector) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-c.exited:
			return errors.New("collector exited before it was ready")
		default:
		}
		resp, err := client.Post(c.Endpoint()+"/v1/traces", "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("probe answered %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("collector on %s not ready after %v: %v", c.addr, readyTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Span is one span as the collector received it, with its resource.
type Span struct {
	Name     string
	TraceID  string
	SpanID   string
	Scope    string
	Resource map[string]string
}

// Metric is one metric as the collector received it, with its resource.
type Metric struct {
	Name     string
	Scope    string
	Resource map[string]string
}

// Received is everything the collector has written to its file so far.
type Received struct {
	Spans   []Span
	Metrics []Metric
}

// Read parses the collector's file. A missing file means nothing arrived yet.
func (c *Collector) Read() Received {
	c.tb.Helper()
	data, err := os.ReadFile(c.file)
	if errors.Is(err, os.ErrNotExist) {
		return Received{}
	}
	if err != nil {
		c.tb.Fatal(err)
	}
	var r Received
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var req otlpJSON
		if err := json.Unmarshal(line, &req); err != nil {
			// The file exporter may be mid-write: the last line can be partial.
			continue
		}
		for _, rs := range req.ResourceSpans {
			res := rs.Resource.attrs()
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					r.Spans = append(r.Spans, Span{Name: s.Name, TraceID: s.TraceID, SpanID: s.SpanID, Scope: ss.Scope.Name, Resource: res})
				}
			}
		}
		for _, rm := range req.ResourceMetrics {
			res := rm.Resource.attrs()
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					r.Metrics = append(r.Metrics, Metric{Name: m.Name, Scope: sm.Scope.Name, Resource: res})
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		c.tb.Fatalf("collectortest: reading %s: %v", c.file, err)
	}
	return r
}

// WaitFor polls Read until cond holds or ctx ends, and returns the last read.
// It reports whether cond held.
func (c *Collector) WaitFor(ctx context.Context, cond func(Received) bool) (Received, bool) {
	c.tb.Helper()
	for {
		r := c.Read()
		if cond(r) {
			return r, true
		}
		select {
		case <-ctx.Done():
			return r, false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type otlpJSON struct {
	ResourceSpans []struct {
		Resource   resourceJSON `json:"resource"`
		ScopeSpans []struct {
			Scope struct {
				Name string `json:"name"`
			} `json:"scope"`
			Spans []struct {
				Name    string `json:"name"`
				TraceID string `json:"traceId"`
				SpanID  string `json:"spanId"`
			} `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
	ResourceMetrics []struct {
		Resource     resourceJSON `json:"resource"`
		ScopeMetrics []struct {
			Scope struct {
				Name string `json:"name"`
			} `json:"scope"`
			Metrics []struct {
				Name string `json:"name"`
			} `json:"metrics"`
		} `json:"scopeMetrics"`
	} `json:"resourceMetrics"`
}

type resourceJSON struct {
	Attributes []struct {
		Key   string `json:"key"`
		Value struct {
			StringValue *string `json:"stringValue"`
		} `json:"value"`
	} `json:"attributes"`
}

// attrs returns the resource's string attributes.
func (r resourceJSON) attrs() map[string]string {
	m := make(map[string]string, len(r.Attributes))
	for _, a := range r.Attributes {
		if a.Value.StringValue != nil {
			m[a.Key] = *a.Value.StringValue
		}
	}
	return m
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
