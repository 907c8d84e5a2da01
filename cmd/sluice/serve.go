package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/httpapi"
	"github.com/sluicehq/sluice/metrics"
	"github.com/sluicehq/sluice/webui"
)

// defaultAddr is where serve (and the demo) listen unless told otherwise.
const defaultAddr = "127.0.0.1:8080"

// shutdownGrace bounds how long serve waits for requests in flight when it stops.
const shutdownGrace = 10 * time.Second

func (c *cli) serveCommand() *cobra.Command {
	var (
		addr           string
		publicMetrics  bool
		alertWebhook   string
		alertThreshold int64
		exportDir      string
		traceURL       string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API, the web UI and /metrics",
		Long: `Serve the HTTP API (JSON under /v1/, see docs/http-api.md and /v1/openapi.json), the web
UI for dead-letter triage at /, Prometheus metrics at /metrics and /healthz, on --addr. It
also runs the upkeep every worker runs (rescuing the jobs of workers that died), so a
deployment with serve and workers needs nothing else.

Every route but /healthz and the web UI's pages needs a token: make one with 'sluice tokens
create --admin' (or --app APP [--read-only]) and send it as Authorization: Bearer TOKEN, or
log in to the web UI with it. /metrics needs an admin token unless --public-metrics.

With --alert-webhook URL it also delivers alerts (see package alert and the README): a
signed JSON POST for every job that is dead-lettered and, with --alert-group-threshold N, for
every failure group that reaches N un-replayed entries. The signing secret comes from the
environment variable SLUICE_ALERT_SECRET (never a flag, which other users could read in the
process list); without it the requests are unsigned. Every process running serve with the
flag shares the work: each alert is delivered at least once, by one of them.

Jobs and dead-letter entries enqueued inside a trace carry its W3C trace context; with
--trace-url TEMPLATE (or $SLUICE_TRACE_URL) the API and the web UI link each to its trace.
Payload fields named by --redact (a global flag, see 'sluice --help') are masked in every
answer, the web UI and the retention export.

It runs retention too (see 'sluice retention'); with --retention-export-dir DIR, every
un-replayed dead-letter entry a policy deletes is first appended to a JSON Lines file in DIR
(dlq-trimmed-YYYY-MM-DD.jsonl) and fsynced; if that fails, nothing is deleted.

When it is ready, it prints the URL it listens on to stderr (with --json, also
{"url": "..."} on stdout). SIGTERM or Ctrl-C stops it gracefully: requests in flight get
up to 10s to finish.`,
		Example: `  sluice serve
  sluice serve --addr 0.0.0.0:8080 --public-metrics
  sluice serve --addr 127.0.0.1:0 --json    # a free port; stdout says which
  SLUICE_ALERT_SECRET=... sluice serve --alert-webhook https://hooks.example.com/sluice --alert-group-threshold 50`,
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if err := checkAddr(addr); err != nil {
				return err
			}
			alerts, err := c.alertConfig(alertWebhook, alertThreshold, cmd.Flags().Changed("alert-group-threshold"))
			if err != nil {
				return err
			}
			if exportDir != "" {
				if fi, err := os.Stat(exportDir); err != nil || !fi.IsDir() {
					return flagError("retention-export-dir", "must be a directory that exists, got %q", exportDir)
				}
			}
			if traceURL == "" {
				traceURL = c.getenv(traceURLEnv)
			}
			if traceURL != "" {
				if err := httpapi.CheckTraceURL(traceURL); err != nil {
					return flagError("trace-url", "%s", err)
				}
			}
			return c.runServe(cmd.Context(), addr, publicMetrics, alerts, sluice.RetentionConfig{ExportDir: exportDir}, traceURL)
		}),
	}
	cmd.Flags().StringVar(&addr, "addr", defaultAddr, "host:port to listen on (port 0: any free port)")
	cmd.Flags().BoolVar(&publicMetrics, "public-metrics", false, "serve /metrics without a token")
	cmd.Flags().StringVar(&alertWebhook, "alert-webhook", "", "POST an alert to this URL for every dead-lettered job (secret: $"+alertSecretEnv+")")
	cmd.Flags().Int64Var(&alertThreshold, "alert-group-threshold", 0, "with --alert-webhook, also alert when a failure group reaches N un-replayed entries")
	cmd.Flags().StringVar(&exportDir, "retention-export-dir", "", "append un-replayed entries retention deletes to a JSON Lines file in this directory first")
	cmd.Flags().StringVar(&traceURL, "trace-url", "", "link jobs and entries to their traces: a URL with {trace_id}, like https://tempo.example/trace/{trace_id} (default $"+traceURLEnv+")")
	return cmd
}

// alertSecretEnv names the environment variable that holds the webhook's signing secret.
const alertSecretEnv = "SLUICE_ALERT_SECRET"

// alertConfig is the alerts serve's flags ask for, or nil for none.
func (c *cli) alertConfig(webhook string, threshold int64, thresholdSet bool) (*sluice.AlertConfig, error) {
	if webhook == "" {
		if thresholdSet {
			return nil, flagError("alert-group-threshold", "needs --alert-webhook")
		}
		return nil, nil
	}
	if u, err := url.Parse(webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, flagError("alert-webhook", "must be an http:// or https:// URL, got %q", webhook)
	}
	if threshold < 0 || (thresholdSet && threshold == 0) {
		return nil, flagError("alert-group-threshold", "must be at least 1, got %d", threshold)
	}
	secret := c.getenv(alertSecretEnv)
	if secret == "" {
		c.notice("Alert webhooks are unsigned: set %s to sign them.", alertSecretEnv)
	}
	return &sluice.AlertConfig{WebhookURL: webhook, WebhookSecret: secret, GroupThreshold: threshold}, nil
}

// checkAddr checks an --addr value's shape: host:port.
func checkAddr(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return flagError("addr", "must be host:port, like %s (port 0: any free port), got %q", defaultAddr, addr)
	}
	return nil
}

// serveOutput is serve's JSON: where it listens.
type serveOutput struct {
	URL string `json:"url"`
}

// traceURLEnv names the environment variable read when --trace-url is not given.
const traceURLEnv = "SLUICE_TRACE_URL"

func (c *cli) runServe(ctx context.Context, addr string, publicMetrics bool, alerts *sluice.AlertConfig, retention sluice.RetentionConfig, traceURL string) error {
	url, err := c.resolveDatabaseURL()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, nil))
	st, err := sluice.OpenStore(ctx, url)
	if err != nil {
		return c.openError(url, err)
	}
	defer st.Close()
	if err := c.migrateNewDefault(ctx, st); err != nil {
		return err
	}
	m := metrics.New(st, nil)
	client, err := sluice.NewClient(st, &sluice.Config{Observer: m.Observer(), Logger: logger, Alerts: alerts, Retention: retention,
		Redact: c.redactRules()})
	if err != nil {
		return err
	}
	// With no handlers, a started client runs only the upkeep: lease rescue, replays,
	// retention, and alerts.
	if err := client.Start(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return errors.Join(fmt.Errorf("--addr: cannot listen on %s: %w", addr, err), client.Stop(context.WithoutCancel(ctx)))
	}
	srv := &http.Server{
		Handler: httpapi.New(client, httpapi.Options{Logger: logger, Metrics: m.Handler(),
			PublicMetrics: publicMetrics, UI: webui.Handler(), TraceURL: traceURL}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	listening := "http://" + ln.Addr().String()
	c.notice("Listening on %s (web UI at /, API under /v1/, /metrics, /healthz). Ctrl-C stops.", listening)
	if c.json {
		if err := c.printJSON(serveOutput{URL: listening}); err != nil {
			return err
		}
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	shutdownErr := srv.Shutdown(stopCtx)
	if errors.Is(shutdownErr, context.DeadlineExceeded) {
		shutdownErr = fmt.Errorf("requests were still running %s after the stop signal; they were cut off", shutdownGrace)
	}
	stopErr := client.Stop(stopCtx)
	if serveErr == nil {
		c.notice("Stopped.")
	}
	return errors.Join(serveErr, shutdownErr, stopErr)
}
