package otelx

import (
	"cmp"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// hidden replaces a secret wherever otelx shows a value, as net/url's
// URL.Redacted does for a password.
const hidden = "xxxxx"

// maxShown bounds how much of a value otelx repeats in an error or a
// setting, so a megabyte of environment does not become a megabyte of log.
const maxShown = 256

// redact returns value as otelx may show it: in an error, a [Setting], a
// health report or a log line. It is the one place that decides what is
// secret, and every value otelx shows passes through it. name says what
// the value is: an environment variable such as OTEL_EXPORTER_OTLP_ENDPOINT,
// or a setting such as "traces.endpoint".
//
//   - An endpoint (a name ending in ENDPOINT) loses its user and password,
//     every query value and its fragment, even when it does not parse as a
//     URL: see redactURL.
//   - A header list (a name ending in HEADERS) keeps only its keys: every
//     value, and any entry that is not key=value, is hidden.
//   - Anything longer than maxShown bytes is cut, after redaction, so the
//     cut cannot expose the start of a secret.
func redact(name, value string) string {
	switch upper := strings.ToUpper(name); {
	case strings.HasSuffix(upper, "ENDPOINT"):
		value = redactURL(value)
	case strings.HasSuffix(upper, "HEADERS"):
		value = redactHeaders(value)
	}
	if len(value) > maxShown {
		cut := maxShown
		for cut > 0 && !utf8.RuneStart(value[cut]) {
			cut--
		}
		value = fmt.Sprintf("%s... (%d bytes)", value[:cut], len(value))
	}
	return value
}

// redactURL hides the credentials of an endpoint. A URL that parses with a
// host is rebuilt from its parts with the user, password, query values and
// fragment replaced. Anything else is treated as text, suspiciously: all
// before the last '@' (after any "scheme://") is hidden, as are everything
// after the first '?' and the first '#'. Either way the result never
// contains the user, the password, a query value or the fragment.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" && u.Opaque == "" && !strings.Contains(u.Host, "@") {
		var b strings.Builder
		b.WriteString(u.Scheme + "://")
		if u.User != nil {
			b.WriteString(hidden)
			if _, ok := u.User.Password(); ok {
				b.WriteString(":" + hidden)
			}
			b.WriteString("@")
		}
		b.WriteString(u.Host)
		path := u.EscapedPath()
		if i := strings.LastIndex(path, "@"); i >= 0 {
			// An '@' in the path may be a mistyped userinfo such as
			// http://user:123/pass@host: hide what precedes it.
			path = "/" + hidden + path[i:]
		}
		b.WriteString(path)
		if u.RawQuery != "" || u.ForceQuery {
			b.WriteString("?" + redactQuery(u.RawQuery))
		}
		if u.Fragment != "" || strings.Contains(raw, "#") {
			b.WriteString("#" + hidden)
		}
		return b.String()
	}

	// Not a URL otelx could use: assume the worst of every part.
	s, frag, hasFrag := strings.Cut(raw, "#")
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	if at := strings.LastIndex(s, "@"); at >= 0 {
		if at < start {
			start = 0
		}
		s = s[:start] + hidden + s[at:]
	}
	if before, query, ok := strings.Cut(s, "?"); ok {
		s = before + "?" + redactQuery(query)
	}
	if hasFrag || frag != "" {
		s += "#" + hidden
	}
	return s
}

// redactQuery keeps the keys of a query whose keys look like keys, and
// hides every value; a part that is not key=value is hidden whole.
func redactQuery(q string) string {
	parts := strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' })
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok && plainKey(k) {
			parts[i] = k + "=" + hidden
		} else {
			parts[i] = hidden
		}
	}
	return strings.Join(parts, "&")
}

// plainKey reports whether k is a short run of letters, digits and -_. as
// query parameter names are; anything else might be a secret.
func plainKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, c := range k {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// redactHeaders keeps the keys of a key1=value1,key2=value2 header list
// that are valid header names, and hides every value; an entry that is not
// key=value with a valid key is hidden whole.
func redactHeaders(v string) string {
	entries := strings.Split(v, ",")
	for i, e := range entries {
		k, _, ok := strings.Cut(e, "=")
		k = strings.TrimSpace(k)
		switch {
		case ok && validHeaderKey(k):
			entries[i] = k + "=" + hidden
		case strings.TrimSpace(e) == "":
			entries[i] = ""
		default:
			entries[i] = hidden
		}
	}
	return strings.Join(entries, ",")
}

// validHeaderKey reports whether key is an HTTP token, as the OTLP
// exporters require of a header name.
func validHeaderKey(key string) bool {
	if key == "" {
		return false
	}
	for _, c := range key {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}

// maxErrorShown bounds the text of an export error that otelx keeps and
// shows: the OTLP exporters put the collector's whole response body in it.
const maxErrorShown = 1024

// secretMask hides, in text that otelx did not write (an exporter's error,
// which quotes the collector's response body), every secret value
// configured for the exporters: a gateway that echoes the API key it
// refused would otherwise put a header value in Health. It is immutable
// after newSecretMask and safe for concurrent use.
type secretMask struct {
	values []string // longest first, so a value inside another is hidden whole
}

// headerVars and endpointVars are the variables whose values secretMask
// hides: every signal's, whichever the exporters use.
var (
	headerVars   = []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS"}
	endpointVars = []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"}
)

// newSecretMask collects the secrets to hide: each header value from the
// environment, as written and percent-decoded, re-encoded as a query or a
// path would be, and each word of six bytes or more in it (the token of
// "Bearer token"); and any user, password or query value of an endpoint
// given in the environment or as option.
func newSecretMask(optionEndpoint string) *secretMask {
	seen := map[string]bool{}
	var add func(v string)
	add = func(v string) {
		v = strings.TrimSpace(v)
		if v == "" || v == hidden || seen[v] {
			return
		}
		seen[v] = true
		if d, err := url.PathUnescape(v); err == nil && d != v {
			add(d)
		}
		if q := url.QueryEscape(v); q != v {
			seen[q] = true
		}
		if p := url.PathEscape(v); p != v {
			seen[p] = true
		}
		for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == ':' || r == '=' }) {
			if len(w) >= 6 && w != v {
				add(w)
			}
		}
	}
	for _, name := range headerVars {
		v, _ := os.LookupEnv(name)
		for entry := range strings.SplitSeq(v, ",") {
			if _, val, ok := strings.Cut(entry, "="); ok {
				add(val)
			}
		}
	}
	endpoints := []string{optionEndpoint}
	for _, name := range endpointVars {
		v, _ := os.LookupEnv(name)
		endpoints = append(endpoints, v)
	}
	for _, raw := range endpoints {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil {
			continue
		}
		if u.User != nil {
			add(u.User.Username())
			p, _ := u.User.Password()
			add(p)
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
			}
		}
		add(u.Fragment)
	}
	m := &secretMask{}
	for v := range seen {
		m.values = append(m.values, v)
	}
	slices.SortFunc(m.values, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return m
}

// text returns s with every secret hidden, cut to maxErrorShown bytes.
func (m *secretMask) text(s string) string {
	if m != nil {
		for _, v := range m.values {
			s = strings.ReplaceAll(s, v, hidden)
		}
	}
	if len(s) > maxErrorShown {
		cut := maxErrorShown
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = fmt.Sprintf("%s... (%d bytes)", s[:cut], len(s))
	}
	return s
}

// err returns err with its message passed through text; errors.Is and
// errors.As still see err.
func (m *secretMask) err(err error) error {
	if err == nil {
		return nil
	}
	return &maskedError{msg: m.text(err.Error()), err: err}
}

// maskedError is an export error whose message has its secrets hidden.
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }
