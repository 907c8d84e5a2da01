package chaos

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/httpapi"
	"github.com/sluicehq/sluice/store/pgstore"
	"github.com/sluicehq/sluice/store/sqlitestore"
)

// apiTimeout is the HTTP API's Options.Timeout in TestPoolExhaustion.
const apiTimeout = 500 * time.Millisecond

// TestPoolExhaustion exhausts the connections the HTTP API (package httpapi, what `sluice
// serve` runs) has to its database, and checks that it still answers within its timeout —
// 503 where it needs a connection it cannot get, never a hang — and recovers once they are
// free. On PostgreSQL the pool is small (pool_max_conns=2) and both connections are held by
// slow queries (pg_sleep); on SQLite the one writer connection is held by an open
// transaction, so writes get 503 while reads, on their own connections, still answer.
func TestPoolExhaustion(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		if strings.HasPrefix(url, "postgres") {
			url = withParams(t, url, "pool_max_conns", "2")
		}
		client, err := sluice.Open(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close(ctx)
		if _, err := client.Store().MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CreateApp(ctx, "chaos"); err != nil {
			t.Fatal(err)
		}
		_, token, err := client.CreateToken(ctx, sluice.TokenParams{Name: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(httpapi.New(client, httpapi.Options{Timeout: apiTimeout}))
		defer srv.Close()
		api := &apiClient{t: t, srv: srv, token: token}

		reads := []apiCall{{"GET", "/healthz", ""}, {"GET", "/v1/apps", ""}, {"GET", "/v1/jobs?app=chaos", ""}, {"GET", "/v1/dlq", ""}, {"GET", "/v1/stats", ""}}
		writes := []apiCall{{"POST", "/v1/apps/chaos/jobs", `{"type": "t", "payload": {}}`}}
		every := append(append([]apiCall{}, reads...), writes...)
		for _, call := range every {
			if status := api.send(call); status >= 300 {
				t.Fatalf("%s before the exhaustion: %d", call, status)
			}
		}

		var release func()
		var exhausted []apiCall
		switch st := client.Store().(type) {
		case *pgstore.Store:
			release = holdPool(t, st)
			exhausted = every
		case *sqlitestore.Store:
			tx, err := st.DB().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			release = func() { tx.Rollback() }
			exhausted = writes
			for _, call := range reads {
				if status := api.send(call); status != http.StatusOK {
					t.Errorf("%s with the writer held: %d, want 200 (reads have connections of their own)", call, status)
				}
			}
		}
		// Several at once, as a dashboard would send them. Each must be answered with a 503:
		// a request the API could not time out would hang until the client gives up.
		var wg sync.WaitGroup
		for _, call := range append(exhausted, exhausted...) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if status := api.send(call); status != http.StatusServiceUnavailable {
					t.Errorf("%s with the connections exhausted: %d, want 503", call, status)
				}
			}()
		}
		wg.Wait()

		release()
		deadline := time.Now().Add(waitTimeout)
		for _, call := range every {
			for {
				status := api.send(call)
				if status < 300 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s after the connections were freed: still %d", call, status)
				}
				time.Sleep(20 * time.Millisecond) // the poll's interval
			}
		}
	})
}

// holdPool takes every connection of the store's pool and keeps it busy with a slow query
// until the returned function is called.
func holdPool(t *testing.T, st *pgstore.Store) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range st.Pool().Config().MaxConns {
		conn, err := st.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Release()
			conn.Exec(ctx, "SELECT pg_sleep(60)") // ends when ctx is cancelled
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// apiCall is one request to the HTTP API.
type apiCall struct{ method, path, body string }

func (c apiCall) String() string { return c.method + " " + c.path }

// apiClient sends requests with a token, bounding each far above the API's own timeout so a
// hang fails the test instead of stalling it.
type apiClient struct {
	t     *testing.T
	srv   *httptest.Server
	token string
}

// send sends one request and returns its status, 0 when no answer came in 15 s.
func (a *apiClient) send(call apiCall) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, call.method, a.srv.URL+call.path, strings.NewReader(call.body))
	if err != nil {
		a.t.Error(err)
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if call.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Errorf("%s: no answer: %v", call, err)
		return 0
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
