package sluice_test

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store/pgstore"
	"github.com/sluicehq/sluice/store/sqlitestore"
)

// BenchmarkDLQPage times one DLQ page of 100 through the API, by app and by type, among
// 20,000 entries spread over 10 apps and 10 types: the per-call cost of the listing (its
// round trips, its query, scanning the rows). Run:
//
//	go test -run '^$' -bench DLQPage -benchmem .
func BenchmarkDLQPage(b *testing.B) {
	for _, name := range []string{"postgres", "sqlite"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			client := openBench(b, name)
			var apps []sluice.App
			for i := range 10 {
				app, err := client.CreateApp(ctx, sprintf("app-%d", i))
				if err != nil {
					b.Fatal(err)
				}
				apps = append(apps, app)
			}
			loadDead(b, client, apps, 20000)
			for _, shape := range []struct {
				name string
				list func(cursor string) (sluice.Page[sluice.DeadJob], error)
			}{
				{"app", func(c string) (sluice.Page[sluice.DeadJob], error) {
					return client.DLQ().ByApp(ctx, apps[3].ID, 100, c)
				}},
				{"type", func(c string) (sluice.Page[sluice.DeadJob], error) {
					return client.DLQ().ByType(ctx, "type-3", 100, c)
				}},
			} {
				b.Run(shape.name, func(b *testing.B) {
					cursor := ""
					for b.Loop() {
						page, err := shape.list(cursor)
						if err != nil || len(page.Items) == 0 {
							b.Fatalf("%v, %d items", err, len(page.Items))
						}
						cursor = page.NextCursor
					}
				})
			}
		})
	}
}

// loadDead inserts n entries straight into job_dlq, spread evenly over the apps and over 10
// types, ids in failure order.
func loadDead(b *testing.B, client *sluice.Client, apps []sluice.App, n int) {
	b.Helper()
	ids := "'" + apps[0].ID.String() + "'"
	for _, a := range apps[1:] {
		ids += ", '" + a.ID.String() + "'"
	}
	switch st := client.Store().(type) {
	case *pgstore.Store:
		_, err := st.Pool().Exec(context.Background(), sprintf(`
INSERT INTO job_dlq (id, original_job_id, app_id, type, payload, attempts, error_history, failed_at)
SELECT (lpad(to_hex(i), 12, '0') || '7000800000000000' || lpad(to_hex(i), 4, '0'))::uuid, gen_random_uuid(),
       (ARRAY[%s]::uuid[])[i %% %d + 1], 'type-' || ((i / %d) %% 10), jsonb_build_object('n', i), 1,
       jsonb_build_array(jsonb_build_object('error', 'bench: always fails', 'timestamp', i)),
       now() - make_interval(secs => %d - i)
FROM generate_series(1, %d) AS i`, ids, len(apps), len(apps), n, n))
		if err == nil {
			_, err = st.Pool().Exec(context.Background(), "VACUUM ANALYZE job_dlq")
		}
		if err != nil {
			b.Fatal(err)
		}
	case *sqlitestore.Store:
		_, err := st.DB().Exec(sprintf(`
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d),
     a(k, id) AS (SELECT row_number() OVER (ORDER BY value) - 1, value FROM json_each('[%s]'))
INSERT INTO job_dlq (id, original_job_id, app_id, type, payload, attempts, error_history, failed_at)
SELECT printf('%%08x-%%04x-7000-8000-%%012x', i, 0, i), printf('%%08x-0000-4000-8000-000000000000', i),
       (SELECT id FROM a WHERE k = i %% %d), 'type-' || ((i / %d) %% 10), json_object('n', i), 1,
       json_array(json_object('error', 'bench: always fails', 'timestamp', i)), i * 1000000
FROM s;
ANALYZE`, n, jsonStrings(apps), len(apps), len(apps)))
		if err != nil {
			b.Fatal(err)
		}
	}
}

func jsonStrings(apps []sluice.App) string {
	out := ""
	for i, a := range apps {
		if i > 0 {
			out += ","
		}
		out += `"` + a.ID.String() + `"`
	}
	return out
}
