-- The warehouse's own tables: the submission ledger and everything auditors read.
-- Idempotent: applied by `stic db init` (and before every load); raw tables are created from stic.contract.kinds.

create schema if not exists raw;
create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts;
create schema if not exists audit;

create table if not exists audit.submissions (
    submission_id       bigserial primary key,
    submitter_code      text not null,
    kind                text not null,
    period              text not null,
    channel             text not null check (channel in ('file', 'api')),
    original_name       text not null,
    landing_path        text,
    archive_path        text not null,
    sha256              text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    bytes               bigint not null check (bytes >= 0),
    file_format         text,
    encoding            text,
    received_at         timestamptz not null default now(),
    status              text not null default 'received' check (status in
                            ('received', 'parsed', 'validated', 'published', 'rejected', 'duplicate', 'superseded')),
    status_reason       text,
    status_changed_at   timestamptz not null default now(),
    duplicate_of        bigint references audit.submissions (submission_id),
    superseded_by       bigint references audit.submissions (submission_id),
    load_id             bigint,
    rows_received       integer,
    rows_loaded         integer,
    rows_quarantined    integer,
    rows_with_warnings  integer,
    validation_success  boolean,
    published_at        timestamptz
);
-- One ledger row per file seen in the landing area: a rescan of the same bytes finds it again.
create unique index if not exists submissions_landing_path_sha_uq
    on audit.submissions (landing_path, sha256) where landing_path is not null;
create index if not exists submissions_key_idx on audit.submissions (submitter_code, kind, period);
create index if not exists submissions_sha_idx on audit.submissions (sha256);

-- Every change of a submission's status, with why: the audit trail of the ledger.
create table if not exists audit.submission_events (
    event_id        bigserial primary key,
    submission_id   bigint not null references audit.submissions (submission_id),
    at              timestamptz not null default now(),
    from_status     text,
    to_status       text not null,
    detail          text
);
create index if not exists submission_events_sub_idx on audit.submission_events (submission_id);

create table if not exists audit.loads (
    load_id             bigserial primary key,
    submission_id       bigint not null references audit.submissions (submission_id),
    started_at          timestamptz not null default now(),
    finished_at         timestamptz,
    rows_loaded         integer,
    rows_quarantined    integer
);
-- What the reader and the header mapping found, for receipts and `stic check`: the mapping applied column by
-- column, the ignored columns, the rows skipped as layout (totals, signatures) and the reader's notes.
alter table audit.loads add column if not exists intake_details jsonb not null default '{}'::jsonb;

create table if not exists audit.rejected_rows (
    rejected_row_id     bigserial primary key,
    submission_id       bigint not null references audit.submissions (submission_id),
    load_id             bigint not null references audit.loads (load_id),
    source_row_number   integer not null,
    source_sheet        text,
    column_name         text,
    submitted_value     text,
    rule                text not null,
    severity            text not null,
    message             text not null,
    row_data            jsonb
);
create index if not exists rejected_rows_sub_idx on audit.rejected_rows (submission_id);

create table if not exists audit.validation_runs (
    validation_run_id   bigserial primary key,
    target              text not null check (target in ('load', 'build')),
    suite_name          text not null,
    submission_id       bigint references audit.submissions (submission_id),
    load_id             bigint,
    run_at              timestamptz not null default now(),
    success             boolean not null,
    critical_failures   integer not null,
    warnings            integer not null,
    evaluated           integer not null,
    rows_checked        bigint,
    data_docs_path      text
);
create index if not exists validation_runs_sub_idx on audit.validation_runs (submission_id);

create table if not exists audit.validation_results (
    validation_result_id bigserial primary key,
    validation_run_id   bigint not null references audit.validation_runs (validation_run_id),
    expectation_type    text not null,
    column_name         text,
    rule                text not null,
    severity            text not null check (severity in ('critical', 'warning')),
    description         text not null,
    success             boolean not null,
    observed_value      text,
    element_count       bigint,
    unexpected_count    bigint,
    unexpected_percent  numeric,
    unexpected_examples jsonb
);
create index if not exists validation_results_run_idx on audit.validation_results (validation_run_id);

-- Agency pulls: how far each agency's feed of each kind has been read.
create table if not exists audit.agency_watermarks (
    agency_code     text not null,
    kind            text not null,
    updated_since   timestamptz not null,
    updated_at      timestamptz not null default now(),
    primary key (agency_code, kind)
);

-- Parts: a file named e.g. projects_PD_2018_part1of3.csv is part 1 of a set of 3 (stic.ledger.part_marker);
-- the set's parts are published together once all have arrived.
alter table audit.submissions add column if not exists part_set text;
alter table audit.submissions add column if not exists part_no integer;
alter table audit.submissions add column if not exists part_total integer;

-- What a correction changed against the submissions it replaced, by business key (for its receipt).
create table if not exists audit.corrections (
    correction_id   bigserial primary key,
    submission_id   bigint not null references audit.submissions (submission_id),
    replaces        bigint[] not null,
    published_with  bigint[] not null,
    business_key    text not null,
    rows_added      integer not null,
    rows_removed    integer not null,
    rows_changed    integer not null,
    rows_unchanged  integer not null,
    examples        jsonb not null default '{}'::jsonb,
    computed_at     timestamptz not null default now()
);
create index if not exists corrections_sub_idx on audit.corrections (submission_id);

-- The audit trail is append-only: whoever connects (the loader, the DAGs, an administrator by mistake),
-- rows of these tables are never changed or deleted. TRUNCATE (tests resetting a scratch warehouse) does
-- not fire row triggers; a real migration that must rewrite history disables the trigger as the owner.
create or replace function audit.refuse_history_rewrite() returns trigger language plpgsql as $$
begin
    raise exception 'audit.% is append-only: % refused', tg_table_name, lower(tg_op)
        using errcode = 'insufficient_privilege',
              hint = 'the audit trail keeps every event; record a new event instead';
end
$$;
do $$
declare t text;
begin
    foreach t in array array['submission_events', 'validation_runs', 'validation_results', 'rejected_rows',
                             'corrections'] loop
        execute format('drop trigger if exists append_only on audit.%I', t);
        execute format('create trigger append_only before update or delete on audit.%I '
                       'for each row execute function audit.refuse_history_rewrite()', t);
    end loop;
end
$$;

-- A "nothing to report" declaration (stic declare-nil, or NIL.txt / 无数据申报.txt in the landing folder of
-- its period): a submission of zero rows that satisfies its calendar obligation (stic.ledger.declarations).
alter table audit.submissions add column if not exists is_nil_declaration boolean not null default false;
