"""PostgreSQL and dbt: connections, the audit schema, roles, and running dbt."""
