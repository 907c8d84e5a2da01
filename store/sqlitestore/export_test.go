package sqlitestore

import "database/sql"

// Readers exposes the reader pool to the tests.
func (s *Store) Readers() *sql.DB { return s.reader }

// Query returns the named query of queries.sql.
func Query(name string) string { return q.Get(name) }
