// Package signature turns an error text into the signature of its failure group: the text
// with what varies between occurrences of the same failure masked (numbers, ids, addresses,
// e-mail addresses, quoted values), and a short stable hash of that.
//
// Two dead-letter entries of one app and type whose last errors normalise to the same text
// are one failure group: "timeout after 30s connecting to 10.0.0.1:5432" and "timeout after
// 45s connecting to 10.0.0.7:5432" both normalise to "timeout after <n>s connecting to
// <addr>".
//
// Normalize is idempotent, never panics, returns valid UTF-8 and at most MaxRunes runes, and
// does a bounded amount of work whatever the input (it reads at most MaxInputBytes of it).
package signature

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Unknown is the signature of the group of entries written without one (by a Sluice older
// than migration 0005_failure_groups, or by a writer that knows only DESIGN.md's nine
// columns). It is not a hash, so it never names a real group by accident.
const Unknown = "unknown"

// Length is how many hex digits a signature has.
const Length = 16

// MaxInputBytes is how much of an error text Normalize reads: the rest is ignored. Error
// texts are bounded anyway (8 KiB, plus 16 KiB of stack for a panic); the head of the text
// is what tells failures apart.
const MaxInputBytes = 4096

// MaxRunes bounds the normalised text.
const MaxRunes = 256

// mask is one kind of variable part: what matches re is replaced by repl of its submatches.
// A text for which may is false has no match re would change, so the pass is skipped: most
// error texts skip most passes, and a dead-letter storm normalises its errors at a fraction
// of the cost of a dozen regular-expression scans each.
type mask struct {
	may  func(text string) bool
	re   *regexp.Regexp
	repl func(m []string) string
}

// holding returns a may that is true for texts holding any of the bytes of chars.
func holding(chars string) func(string) bool {
	return func(text string) bool { return strings.ContainsAny(text, chars) }
}

// digits are what every change of the numeric masks holds.
const digits = "0123456789"

// quoteMasks mask quoted values: '...' (the opening quote not right after a letter, a digit,
// a quote or a placeholder's '>', so the apostrophe of "can't" opens nothing) and "..." (with
// backslash escapes, as Go's %q writes them), up to 200 characters.
var quoteMasks = []mask{
	{holding(`'`), regexp.MustCompile(`(^|[^\p{L}\p{N}'>])'[^']{0,200}'`), func(m []string) string { return m[1] + "'<q>'" }},
	{holding(`"`), regexp.MustCompile(`"(?:[^"\\]|\\.){0,200}"`), func([]string) string { return `"<q>"` }},
}

// masks are the other kinds, applied in this order after the quoted values. Each
// placeholder holds no digit, and no mask makes a match for a mask before it, so masking
// twice changes nothing.
var masks = []mask{
	// URLs: the scheme, host and path stay (their numbers and ids are masked below); user
	// information and fragment go, the query becomes ?<query>.
	{holding("/"), regexp.MustCompile(`\b([A-Za-z][A-Za-z0-9+.-]{0,15})://(?:[^\s/?#<>"']*@)?([^\s/?#@<>"']*)([^\s?#<>"']*)(\?[^\s#<>"']+)?(#[^\s<>"']*)?`),
		func(m []string) string {
			out := m[1] + "://" + m[2] + m[3]
			if m[4] != "" {
				out += "?<query>"
			}
			return out
		}},
	{holding("@"), regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`), func([]string) string { return "<email>" }},
	{holding("-"), regexp.MustCompile(`[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`), func([]string) string { return "<uuid>" }},
	// IP addresses, with their port: IPv4, IPv6 in brackets, and full-length IPv6.
	{func(text string) bool { return strings.ContainsAny(text, digits+"[") || strings.Count(text, ":") >= 7 }, regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b|\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\](?::\d{1,5})?|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b`),
		func([]string) string { return "<addr>" }},
	// Hex ids: 0x..., and runs of 8 or more hex digits holding at least one digit.
	{holding("0"), regexp.MustCompile(`\b0[xX][0-9A-Fa-f]+\b`), func([]string) string { return "<hex>" }},
	{holding(digits), regexp.MustCompile(`\b[0-9A-Fa-f]{8,}\b`), func(m []string) string {
		if strings.ContainsAny(m[0], "0123456789") {
			return "<hex>"
		}
		return m[0]
	}},
	// Opaque tokens: 16 or more letters, digits, '_' or '-' with both a letter and a digit
	// (request ids, base64 keys).
	{holding(digits), regexp.MustCompile(`\b[A-Za-z0-9_-]{16,}\b`), func(m []string) string {
		if strings.ContainsAny(m[0], "0123456789") && strings.IndexFunc(m[0], isLetter) >= 0 {
			return "<id>"
		}
		return m[0]
	}},
	{holding(digits), regexp.MustCompile(`\d+(?:\.\d+)*`), func([]string) string { return "<n>" }},
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// Normalize returns text with its variable parts masked: white space collapsed to single
// spaces, then quoted values, URLs' user information and query, e-mail addresses, UUIDs,
// IP addresses (with their port), hex ids, opaque tokens and numbers replaced by
// placeholders, cut to MaxRunes runes.
func Normalize(text string) string { return normalize(text, true) }

// normalize is Normalize; skipping lets it skip the passes that may not change the text (the
// tests check that skipping changes no result).
func normalize(text string, skipping bool) string {
	if len(text) > MaxInputBytes {
		text = text[:MaxInputBytes]
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.Join(strings.Fields(text), " ")
	// Quoted values first, so nothing inside them is masked on its own, and again last: a
	// pair of quotes too far apart at first may be close enough once what lies between them
	// is masked.
	for _, group := range [][]mask{quoteMasks, masks, quoteMasks} {
		for _, m := range group {
			if !skipping || m.may(text) {
				text = replaceAll(m.re, text, m.repl)
			}
		}
	}
	if utf8.RuneCountInString(text) > MaxRunes {
		text = strings.TrimRight(string([]rune(text)[:MaxRunes]), " ")
	}
	return text
}

// replaceAll replaces every match of re in s with repl of its submatches.
func replaceAll(re *regexp.Regexp, s string, repl func([]string) string) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range idx {
		m := make([]string, len(loc)/2)
		for i := range m {
			if loc[2*i] >= 0 {
				m[i] = s[loc[2*i]:loc[2*i+1]]
			}
		}
		b.WriteString(s[last:loc[0]])
		b.WriteString(repl(m))
		last = loc[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// Of returns the signature of an error text: the first Length hex digits of the SHA-256 of
// its normalised text.
func Of(text string) string {
	return Hash(Normalize(text))
}

// Hash returns the signature of an already normalised text.
func Hash(normalized string) string {
	sum := sha256.Sum256([]byte(normalized))
	return hex.EncodeToString(sum[:])[:Length]
}

// Valid reports whether s is a signature: Length lowercase hex digits, or Unknown.
func Valid(s string) bool {
	if s == Unknown {
		return true
	}
	if len(s) != Length {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
