-- The catalogue of a PostgreSQL store: its tables (in the connection's default schema), their
-- columns with their types, primary keys and foreign keys. storecopy builds its copy plan from
-- these, so it follows the schema as migrations change it.

-- name: Columns
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated <> ''
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_attribute AS a ON a.attrelid = c.oid
WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum;

-- name: PrimaryKeys
SELECT c.relname, a.attname
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE n.nspname = current_schema() AND i.indisprimary
ORDER BY c.relname, k.ord;

-- name: ForeignKeys
SELECT c.relname, r.relname
FROM pg_constraint AS k
JOIN pg_class AS c ON c.oid = k.conrelid
JOIN pg_class AS r ON r.oid = k.confrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND k.contype = 'f';
