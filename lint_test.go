package otlpgo_test

import (
	"os"
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

// leaves import nothing of this module and no OpenTelemetry: fp and
// ringbuffer are meant to be used without pulling in the API, and panics
// is what they use to recover.
var leaves = []string{"panics", "fp", "ringbuffer", "internal/checked"}

// TestLeavesStayLeaves fails when a leaf package gains a dependency on the
// OpenTelemetry API or on another package of this module (other than
// panics, which is a leaf itself).
func TestLeavesStayLeaves(t *testing.T) {
	for _, leaf := range leaves {
		out, err := exec.Command("go", "list", "-f", `{{join .Deps "\n"}}`, module+"/"+leaf).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", leaf, err, out)
		}
		for dep := range strings.Lines(string(out)) {
			dep = strings.TrimSpace(dep)
			if strings.HasPrefix(dep, "go.opentelemetry.io/") ||
				(strings.HasPrefix(dep, module+"/") && dep != module+"/panics") {
				t.Errorf("%s depends on %s; it must stay a leaf", leaf, dep)
			}
		}
	}
}

// TestOneRecoverHelper fails when a library package calls recover()
// itself: every goroutine the library starts and every user callback it
// calls runs under package panics, so a panic always comes back as a
// *panics.Error through the call that owns it.
func TestOneRecoverHelper(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.Dir}}{{range .GoFiles}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	files := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasSuffix(fields[0], "/panics") {
			continue
		}
		for _, name := range fields[1:] {
			path := fields[0] + "/" + name
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files++
			if strings.Contains(string(src), "recover()") {
				t.Errorf("%s calls recover(); use panics.Try or panics.Recover", path)
			}
		}
	}
	if files < 20 {
		t.Fatalf("saw only %d files; the check saw nothing", files)
	}
}
