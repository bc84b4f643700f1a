"""Running in production: the Airflow environment, alerts, maintenance, the calendar check."""
