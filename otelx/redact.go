package otelx

import (
	"bytes"
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

// redactURL hides the credentials of an endpoint. An '@' anywhere in it,
// literal or percent-encoded (at any depth, such as %40 or %2540), means a
// user or password may precede it, typed well or not (http://u:12/pw@host
// parses as port 12 and path /pw@host): only the scheme and what follows
// the last '@' are shown, the rest reads "xxxxx". A URL that does not parse
// shows only its scheme. Otherwise the URL is rebuilt from its parts with
// every query value and the fragment hidden; text that parses but is not a
// URL with a host (localhost:4318) is shown with everything after the
// first '?' and '#' hidden. Either way the result never contains a user,
// a password, a query value or the fragment.
func redactURL(raw string) string {
	scheme, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 && plainScheme(raw[:i]) {
		scheme, rest = raw[:i+3], raw[i+3:]
	}
	if strings.Contains(unescapeAll(raw), "@") {
		if end := lastAt(rest); end >= 0 {
			return scheme + hidden + "@" + redactTail(rest[end:])
		}
		return scheme + hidden // an '@' encoded in a way lastAt does not find
	}
	u, err := url.Parse(raw)
	if err != nil {
		return scheme + hidden
	}
	if u.Host != "" && u.Opaque == "" && u.User == nil {
		var b strings.Builder
		b.WriteString(u.Scheme + "://" + u.Host + u.EscapedPath())
		if u.RawQuery != "" || u.ForceQuery {
			b.WriteString("?" + redactQuery(u.RawQuery))
		}
		if u.Fragment != "" || strings.Contains(raw, "#") {
			b.WriteString("#" + hidden)
		}
		return b.String()
	}
	return redactTail(raw)
}

// redactTail hides everything after the first '?' but the keys of a
// query, and everything after the first '#'.
func redactTail(s string) string {
	s, frag, hasFrag := strings.Cut(s, "#")
	if before, query, ok := strings.Cut(s, "?"); ok {
		s = before + "?" + redactQuery(query)
	}
	if hasFrag || frag != "" {
		s += "#" + hidden
	}
	return s
}

// plainScheme reports whether s is a URL scheme: a letter, then letters,
// digits, '+', '-' or '.'.
func plainScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// lastAt returns the index just after the last '@' in s, written as it is
// or percent-encoded once, twice or three times (%40, %2540, %252540), or
// -1 if there is none.
func lastAt(s string) int {
	// ASCII only: strings.ToLower would change the length of invalid
	// UTF-8, and the index must be s's.
	lower := []byte(s)
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	end := -1
	for _, at := range []string{"@", "%40", "%2540", "%252540"} {
		if i := bytes.LastIndex(lower, []byte(at)); i >= 0 {
			end = max(end, i+len(at))
		}
	}
	return end
}

// unescapeAll decodes every valid %XX in s, again and again until nothing
// changes (at most 8 rounds), and leaves a % that is not followed by two
// hexadecimal digits as it is: it shows what an encoded value hides.
func unescapeAll(s string) string {
	for range 8 {
		if !strings.Contains(s, "%") {
			return s
		}
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
				continue
			}
			b.WriteByte(s[i])
		}
		if b.String() == s {
			return s
		}
		s = b.String()
	}
	return s
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
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
