package main

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

// Exit statuses (documented in the root command's help).
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// usageError is a command line the command cannot run: wrong arguments, conflicting flags,
// a flag value that does not parse. It exits with exitUsage. With hint, the error is in the
// command line's shape, and the message points to --help.
type usageError struct {
	msg  string
	hint bool
}

// Error returns the message.
func (e usageError) Error() string { return e.msg }

// usagef makes a usageError.
func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...), true}
}

// flagError is a usageError naming the flag, spelled as on the command line.
func flagError(flag, format string, args ...any) error {
	return usageError{"--" + flag + ": " + fmt.Sprintf(format, args...), false}
}

// asFieldError returns the *sluice.FieldError in err's chain, if there is one.
func asFieldError(err error) (*sluice.FieldError, bool) {
	var fe *sluice.FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}

// exitCode classifies an error: anything before the command's own code ran came from parsing
// the command line; after that, usage errors and rejected input (a *sluice.FieldError, but not
// a conflict with what is stored, nor a disabled app) are usage errors too, and the rest are
// runtime errors.
func (c *cli) exitCode(err error) int {
	if !c.ran {
		return exitUsage
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	if _, ok := asFieldError(err); ok && !errors.Is(err, sluice.ErrConflict) && !errors.Is(err, sluice.ErrAppDisabled) {
		return exitUsage
	}
	return exitRuntime
}

// reportError prints err on stderr, with the input it names spelled as on the command line,
// and returns the exit status.
func (c *cli) reportError(cmd *cobra.Command, err error) int {
	msg := err.Error()
	if fe, ok := asFieldError(err); ok {
		msg = cliFieldName(cmd, fe.Field) + ": " + fe.Message
	}
	for _, u := range c.secretURLs {
		msg = scrubPassword(msg, u)
	}
	fmt.Fprintln(c.stderr, "Error:", msg)
	code := c.exitCode(err)
	var ue usageError
	if cmd != nil && (!c.ran || errors.As(err, &ue) && ue.hint) {
		fmt.Fprintf(c.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// cliFieldName maps a field name of the Go API (JSON spelling: "maxAttempts", "failedAfter")
// to the command line's: the flag "--max-attempts" when cmd has it, the argument "NAME" when
// cmd's usage line names it, else the field unchanged. This is the one place that mapping
// is made.
func cliFieldName(cmd *cobra.Command, field string) string {
	if cmd == nil {
		return field
	}
	var kebab strings.Builder
	for _, r := range field {
		if unicode.IsUpper(r) {
			kebab.WriteByte('-')
			r = unicode.ToLower(r)
		}
		kebab.WriteRune(r)
	}
	if cmd.Flags().Lookup(kebab.String()) != nil {
		return "--" + kebab.String()
	}
	// A list given by a repeated flag: "tags" is --tag.
	if flag, ok := strings.CutSuffix(kebab.String(), "s"); ok && flag != "" && cmd.Flags().Lookup(flag) != nil {
		return "--" + flag
	}
	// One value of a repeated flag: "tags[2]" is the third --tag, "Redact[0]" the first --redact.
	if name, index, ok := strings.Cut(kebab.String(), "["); ok && strings.HasSuffix(index, "]") {
		name = strings.TrimPrefix(name, "-")
		for _, flag := range []string{name, strings.TrimSuffix(name, "s")} {
			if cmd.Flags().Lookup(flag) != nil {
				n, err := strconv.Atoi(strings.TrimSuffix(index, "]"))
				if err == nil {
					return fmt.Sprintf("--%s (value %d)", flag, n+1)
				}
			}
		}
	}
	if arg := strings.ToUpper(field); slices.Contains(strings.Fields(cmd.Use), arg) {
		return arg
	}
	return field
}

// maskedPassword replaces a database password wherever one would be shown.
const maskedPassword = "xxxxx"

// maskURL returns the database URL with its password masked, fit to print.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(the configured database URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), maskedPassword)
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", maskedPassword)
		u.RawQuery = q.Encode()
	}
	if q := u.Query(); q.Has("listen_url") { // pgstore's direct URL for LISTEN
		q.Set("listen_url", maskURL(q.Get("listen_url")))
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// scrubPassword removes the password of the database URL from text that is about to be
// printed, as a last guard: no error the command prints can carry it. It masks the password
// where text could hold it, in the URL's user info (":PASSWORD@") or as a parameter
// ("password=PASSWORD"), raw or escaped; a bare short password elsewhere is left alone, so
// that a password like "p" cannot mangle every message.
func scrubPassword(text, databaseURL string) string {
	var secrets []string
	if u, err := url.Parse(databaseURL); err == nil {
		if p, has := u.User.Password(); has {
			secrets = append(secrets, p)
		}
		secrets = append(secrets, u.Query().Get("password"))
		if inner := u.Query().Get("listen_url"); inner != "" { // pgstore's direct URL for LISTEN
			text = scrubPassword(text, inner)
		}
	} else if _, rest, ok := strings.Cut(databaseURL, "://"); ok {
		// Unparseable: take what lies between user: and @ as the password.
		if userinfo, _, ok := strings.Cut(rest, "@"); ok {
			if _, p, ok := strings.Cut(userinfo, ":"); ok {
				secrets = append(secrets, p)
			}
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		userinfo := strings.TrimPrefix(url.UserPassword("", s).String(), ":") // as escaped in a URL's user info
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), userinfo} {
			text = strings.ReplaceAll(text, ":"+form+"@", ":"+maskedPassword+"@")
			text = strings.ReplaceAll(text, "password="+form, "password="+maskedPassword)
		}
	}
	return text
}

// notFound rewords a not-found error as msg; any other error is returned as it is.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sluice.ErrNotFound) {
		return fmt.Errorf(format, args...)
	}
	return err
}
