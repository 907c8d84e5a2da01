package validate

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error-text bounds (DESIGN.md): each error-history entry keeps at most 8 KiB of message, and a
// panic's entry up to 16 KiB of stack besides.
const (
	MaxErrorBytes = 8 << 10
	MaxStackBytes = 16 << 10
)

// ErrorText makes handler error text storable and bounded: invalid UTF-8 becomes U+FFFD, NUL
// bytes are removed, and text over limit bytes is cut at a character boundary with a marker
// saying how much was dropped. It never fails: an error's content must not be able to break
// the failure path.
func ErrorText(s string, limit int) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && len(s) <= limit {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) <= limit {
		return s
	}
	total := len(s)
	marker := func(n int) string { return "… [truncated " + strconv.Itoa(n) + " bytes]" }
	// The marker's own length depends on the count; size the cut for the longest it can be.
	keep := limit - len(marker(total))
	withMarker := keep >= 0
	if !withMarker { // no room for the marker: cut to the bound alone
		keep = max(limit, 0)
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	if !withMarker {
		return s[:keep]
	}
	return s[:keep] + marker(total-keep)
}

// PanicText is a panic's error-history text: the panic value bounded like any error, then its
// stack bounded on its own.
func PanicText(value, stack string) string {
	return ErrorText("panic: "+value, MaxErrorBytes) + "\n" + ErrorText(stack, MaxStackBytes)
}
