package signature

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"boom", "boom"},
		{"timeout after 30s connecting to 10.0.0.1:5432", "timeout after <n>s connecting to <addr>"},
		{"  many \t spaces\n\nand lines ", "many spaces and lines"},
		{"job 0195f3c2-8a1b-7cde-8f01-23456789abcd failed", "job <uuid> failed"},
		{"job 0195F3C2-8A1B-7CDE-8F01-23456789ABCD failed", "job <uuid> failed"},
		{"object 5f1d7a3c9e2b4a6d8c0e1f23 missing", "object <hex> missing"},
		{"pointer 0xc000123abc nil", "pointer <hex> nil"},
		{"deadbeefcafe is a word here", "deadbeefcafe is a word here"},
		{"dial tcp [2001:db8::1]:443: refused", "dial tcp <addr>: refused"},
		{"dial tcp 2001:0db8:0000:0000:0000:ff00:0042:8329 refused", "dial tcp <addr> refused"},
		{"dial tcp db-3.internal:5432: i/o timeout", "dial tcp db-<n>.internal:<n>: i/o timeout"},
		{"mail to alice@example.com bounced", "mail to <email> bounced"},
		{"GET https://user:secret@api.example.com/v1/orders/123?id=9&x=y#top 503",
			"GET https://api.example.com/v<n>/orders/<n>?<query> <n>"},
		{`Get "https://api.example.com/v1/x": dial tcp 10.1.2.3:443: connect: connection refused`,
			`Get "<q>": dial tcp <addr>: connect: connection refused`},
		{"GET http://10.0.0.7:8080/health: 500", "GET http://<addr>/health: <n>"},
		{`column "email" does not exist`, `column "<q>" does not exist`},
		{`parsing "12\"3": invalid syntax`, `parsing "<q>": invalid syntax`},
		{"can't find 'db1' in 'pool-7'", "can't find '<q>' in '<q>'"},
		{"request req_8fK2mQ9xLpZ4vN7w failed", "request <id> failed"},
		{"took 1.25ms, attempt 3 of 25", "took <n>ms, attempt <n> of <n>"},
		{"invalid \xff utf-8", "invalid \uFFFD utf-<n>"},
		{"panic: runtime error: index out of range [5] with length 3\n\ngoroutine 17 [running]:\nmain.f()\n\t/src/main.go:12 +0x1d",
			"panic: runtime error: index out of range [<n>] with length <n> goroutine <n> [running]: main.f() /src/main.go:<n> +<hex>"},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
		if every := normalize(c.in, false); every != c.want {
			t.Errorf("normalize(%q) with every pass\n got %q\nwant %q", c.in, every, c.want)
		}
	}
}

func TestOfGroupsWhatVaries(t *testing.T) {
	same := [][2]string{
		{"timeout after 30s connecting to 10.0.0.1:5432", "timeout after 45s connecting to 10.0.0.7:5432"},
		{"user 42 not found", "user 1234567 not found"},
		{`no such key "a"`, `no such key "something else entirely"`},
		{"card declined for bob@example.org", "card declined for carol@example.net"},
		{"order 0195f3c2-8a1b-7cde-8f01-23456789abcd", "order 0195f3c2-8a1b-7cde-8f01-000000000000"},
		{"a  b", "a\n\tb"},
	}
	for _, p := range same {
		if Of(p[0]) != Of(p[1]) {
			t.Errorf("Of(%q) = %s, Of(%q) = %s: want one group", p[0], Of(p[0]), p[1], Of(p[1]))
		}
	}
	different := [][2]string{
		{"timeout connecting to db", "connection refused by db"},
		{"smtp: 421 try later", "sms: 421 try later"},
		{"", "boom"},
	}
	for _, p := range different {
		if Of(p[0]) == Of(p[1]) {
			t.Errorf("Of(%q) = Of(%q) = %s: want two groups", p[0], p[1], Of(p[0]))
		}
	}
}

func TestOfIsAStableHash(t *testing.T) {
	// A signature is stored: the hash of a text must never change between versions.
	if got, want := Of("boom"), Hash("boom"); got != want {
		t.Fatalf("Of(boom) = %s, Hash(boom) = %s", got, want)
	}
	if got := Hash("boom"); len(got) != Length || !Valid(got) {
		t.Fatalf("Hash(boom) = %q: not %d hex digits", got, Length)
	}
	const pinned = "timeout after <n>s connecting to <addr>"
	if got, want := Of("timeout after 30s connecting to 10.0.0.1:5432"), Hash(pinned); got != want {
		t.Fatalf("Of = %s, want Hash(%q) = %s", got, pinned, want)
	}
	// Stored signatures were computed so: changing the rules or the hash splits groups.
	if got := Of("timeout after 30s connecting to 10.0.0.1:5432"); got != "136b68c3765406fc" {
		t.Fatalf("the signature of a pinned text changed: %s", got)
	}
}

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		Of("x"): true, Unknown: true, "0123456789abcdef": true,
		"": false, "0123456789ABCDEF": false, "0123456789abcde": false, "0123456789abcdef0": false,
		"0123456789abcdeg": false, "UNKNOWN": false, "' OR 1=1 --": false,
	} {
		if Valid(s) != want {
			t.Errorf("Valid(%q) = %v, want %v", s, !want, want)
		}
	}
}

func TestNormalizeBounds(t *testing.T) {
	long := strings.Repeat("word ", 10000)
	if got := Normalize(long); utf8.RuneCountInString(got) > MaxRunes || strings.HasSuffix(got, " ") {
		t.Fatalf("Normalize of a long text: %d runes, %q at the end", utf8.RuneCountInString(got), got[len(got)-10:])
	}
	// Only the head is read: what follows MaxInputBytes makes no difference.
	head := strings.Repeat("x", MaxInputBytes)
	if Of(head+"a") != Of(head+"b") {
		t.Fatal("text beyond MaxInputBytes changed the signature")
	}
}

// FuzzNormalize: Normalize never panics, returns valid UTF-8 of at most MaxRunes runes, the
// same as running every pass (none skipped), and is idempotent, so the signature of a normalised text is the signature of the text.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"", "timeout after 30s connecting to 10.0.0.1:5432", `a'1' 'x'`, `"` + strings.Repeat("1", 250) + `"`,
		"https://a@b@c/1?x#y", "x@y.ab1", "[a:b]", "it's 'a''b'", `"a\"b" "c`, "\xff\xfe", "0x", strings.Repeat("é 1 ", 200),
		"panic: oops\n\ngoroutine 1 [running]:\nmain.main()\n\t/x.go:3 +0x1d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q: not valid UTF-8", s, n)
		}
		if utf8.RuneCountInString(n) > MaxRunes {
			t.Fatalf("Normalize(%q) has %d runes, more than %d", s, utf8.RuneCountInString(n), MaxRunes)
		}
		if all := normalize(s, false); all != n {
			t.Fatalf("skipping the passes a text cannot match changed its result:\n   text %q\nskipped %q\n  every %q", s, n, all)
		}
		if again := Normalize(n); again != n {
			t.Fatalf("Normalize is not idempotent:\n   text %q\n   once %q\n  twice %q", s, n, again)
		}
		if Of(s) != Hash(n) || !Valid(Of(s)) {
			t.Fatalf("Of(%q) = %s, not Hash(Normalize) = %s", s, Of(s), Hash(n))
		}
	})
}

// BenchmarkNormalize: an error text with nothing to mask, and one with a bit of everything.
func BenchmarkNormalize(b *testing.B) {
	for _, text := range []string{"bench: always fails",
		`Get "https://api.example.com/v1/x": dial tcp 10.1.2.3:443: connect: connection refused (req 8fK2mQ9xLpZ4vN7w)`} {
		b.Run(strconv.Itoa(len(text)), func(b *testing.B) {
			for b.Loop() {
				Normalize(text)
			}
		})
	}
}
