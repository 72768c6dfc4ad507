package otlpgo_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Packages allowed to depend on the OpenTelemetry SDK and exporters outside
// tests: otelx builds the SDK and sampler implements its Sampler. The
// demo under cmd/ is an application, not a library.
var sdkAllowed = map[string]bool{
	"github.com/otlpgo/otlpgo/otelx":   true,
	"github.com/otlpgo/otlpgo/sampler": true,
}

const module = "github.com/otlpgo/otlpgo"

// TestImportRules enforces DESIGN.md's arrows on transitive, non-test
// imports: only otelx and sampler reach the SDK, and no library package
// imports otelx (which would pull the SDK into every user's binary).
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list",
		"-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, deps := fields[0], fields[1:]
		checked++
		if violations := importViolations(pkg, deps); len(violations) > 0 {
			t.Errorf("%s:\n\t%s", pkg, strings.Join(violations, "\n\t"))
		}
	}
	if checked < 2 {
		t.Fatalf("go list reported %d packages; the check saw nothing", checked)
	}
}

// importViolations returns the rules pkg breaks, given its transitive deps.
func importViolations(pkg string, deps []string) []string {
	app := strings.HasPrefix(pkg, module+"/cmd/")
	var v []string
	for _, d := range deps {
		switch {
		case app:
		case !sdkAllowed[pkg] && (strings.HasPrefix(d, "go.opentelemetry.io/otel/sdk") ||
			strings.HasPrefix(d, "go.opentelemetry.io/otel/exporters")):
			v = append(v, "depends on the SDK through "+d+": libraries use only the OpenTelemetry API")
		case d == module+"/otelx":
			v = append(v, "imports otelx: only applications (cmd/) may")
		}
	}
	return v
}

// TestImportRulesCatchViolations checks the checker on made-up packages, so
// a broken parser cannot pass silently.
func TestImportRulesCatchViolations(t *testing.T) {
	tests := []struct {
		pkg  string
		deps []string
		want int
	}{
		{module + "/ringbuffer", []string{"sync/atomic", "go.opentelemetry.io/otel/trace"}, 0},
		{module + "/risk", []string{"go.opentelemetry.io/otel/sdk/trace"}, 1},
		{module + "/saga", []string{module + "/otelx", "go.opentelemetry.io/otel/sdk/metric"}, 2},
		{module + "/concurrency", []string{"go.opentelemetry.io/otel/exporters/otlp/otlptrace"}, 1},
		{module + "/otelx", []string{"go.opentelemetry.io/otel/sdk/trace"}, 0},
		{module + "/sampler", []string{"go.opentelemetry.io/otel/sdk/trace"}, 0},
		{module + "/cmd/otlpgo-demo", []string{module + "/otelx", "go.opentelemetry.io/otel/sdk/trace"}, 0},
	}
	for _, tt := range tests {
		if got := importViolations(tt.pkg, tt.deps); len(got) != tt.want {
			t.Errorf("%s with %v: %d violations %q, want %d", tt.pkg, tt.deps, len(got), got, tt.want)
		}
	}
}
