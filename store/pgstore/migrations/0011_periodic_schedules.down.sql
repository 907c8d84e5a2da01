DROP TABLE periodic_schedules;
