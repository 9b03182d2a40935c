#!/bin/sh
# Runs once, on the PostgreSQL container's first start, as the tables' owner: the app's
# own login, which row-level security binds (README: Operations, PostgreSQL logins).
set -eu
psql -v ON_ERROR_STOP=1 -v app_password="$APP_DB_PASSWORD" \
     --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE ultudy_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOBYPASSRLS;
GRANT CONNECT ON DATABASE ultudy TO ultudy_app;
GRANT USAGE ON SCHEMA public TO ultudy_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ultudy_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ultudy_app;
SQL
