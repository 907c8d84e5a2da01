-- The catalogue of a SQLite store: its tables, their columns with their declared types,
-- primary keys and foreign keys (SQLite's own tables left out).

-- name: Columns
-- hidden is 0 for an ordinary column, 2 or 3 for a generated one.
SELECT m.name, p.name, p.type, p.hidden <> 0
FROM sqlite_schema AS m
JOIN pragma_table_xinfo(m.name) AS p
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.name, p.cid;

-- name: PrimaryKeys
SELECT m.name, p.name
FROM sqlite_schema AS m
JOIN pragma_table_info(m.name) AS p
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\' AND p.pk > 0
ORDER BY m.name, p.pk;

-- name: ForeignKeys
SELECT m.name, f."table"
FROM sqlite_schema AS m
JOIN pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\';
