"""Airflow's distributed engine without Docker: the configuration of docker-compose.yml, run on this machine.

CeleryExecutor with a Redis broker, a PostgreSQL metadata database (also the Celery result backend), an
AIRFLOW_HOME of its own, and every component as a process of its own: `airflow api-server`, `airflow
scheduler`, `airflow dag-processor`, `airflow triggerer` and two `airflow celery worker`s
(`--celery-hostname worker1@%h`, `worker2@%h`), each logging to its own file under the stack's folder.

    python -m stic.dev.stack e2e     sample files through both DAGs on the two workers; prints who ran what
    python -m stic.dev.stack up      start the stack and keep it running (Ctrl-C stops it; --detach returns)
    python -m stic.dev.stack down    stop a stack started with `up --detach` and drop its databases

Configuration (environment): STIC_STACK_PG_URL (an admin URL of a PostgreSQL, default
postgresql://postgres@127.0.0.1:5432/postgres: the metadata database `stic_airflow_meta_<suffix>` and,
without WAREHOUSE_URL, the warehouse `stic_stack_wh_<suffix>` are created there and dropped at the end),
STIC_STACK_REDIS_URL (default redis://127.0.0.1:6379; the stack claims an empty database number of it),
WAREHOUSE_URL (use this warehouse instead of a fresh one). A local Redis or PostgreSQL that is not running
is started (`redis-server --daemonize yes ...`, `pg_ctlcluster ... main start`).
"""

# The stack lives in submodules by concern; its names stay here, where callers find them
# (`from stic.dev import stack`, `stack.e2e`, `stack.Stack`, …).
from .airflow_config import (  # noqa: F401
    component_env,
    dbt_parse,
    run_airflow,
)
from .cli import (  # noqa: F401
    build_parser,
    cmd_down,
    cmd_e2e,
    cmd_up,
    main,
)
from .core import (  # noqa: F401
    Stack,
    drop_databases,
    running,
)
from .e2e import (  # noqa: F401
    both_workers_ran,
    e2e,
    render,
    run_pipeline,
)
from .layout import (  # noqa: F401
    StackLayout,
    StackState,
)
from .metadata import (  # noqa: F401
    MetadataDB,
)
from .processes import (  # noqa: F401
    Proc,
    ProcessGroup,
    airflow_procs,
)
from .services import (  # noqa: F401
    BUILD_DAG,
    CLAIM_KEY,
    DAG_IDS,
    DEFAULT_PG_URL,
    DEFAULT_REDIS_URL,
    INGEST_DAG,
    REDIS_START,
    TERMINAL,
    WORKER_NAMES,
    StackFailed,
    StackUnavailable,
    claim_redis_db,
    ensure_postgres,
    ensure_redis,
    free_port,
    release_redis_db,
    with_db,
)
from .workers import (  # noqa: F401
    who_ran_what,
    worker_record,
)
