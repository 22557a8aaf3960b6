"""The team store on PostgreSQL (issue 15): the connection pool and statement proxy
(connection.py), the SQL placeholder translation (translate.py), the schema (schema.py) and the
database roles (roles.py). Only srm_tui.storage imports this package, and psycopg is imported
only here, so every SQLite command and the console's first frame load no psycopg."""
