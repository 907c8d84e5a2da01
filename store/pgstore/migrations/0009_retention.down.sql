DROP TABLE retention_reports;
DROP TABLE retention_policies;
