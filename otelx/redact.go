package otelx

import (
	"fmt"
	"net/url"
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
