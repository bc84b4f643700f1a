with

code_labels as (

    select * from {{ ref('code_labels') }}

),

statuses as (

    select
        codelist as status_list,
        code as status_code,
        name_en,
        name_zh,
        sort_order,
        case codelist
            when 'project_status' then 'projects'
            when 'facility_status' then 'facilities'
        end as submission_kind
    from code_labels
    where codelist in ('project_status', 'facility_status')

),

final as (

    select
        ---------- ids
        (status_list || '|' || status_code)::text as status_id,
        status_list::text as status_list,
        status_code::text as status_code,

        ---------- attributes
        submission_kind::text as submission_kind,
        name_en::text as name_en,
        name_zh::text as name_zh,
        sort_order::integer as sort_order
    from statuses

)

select * from final
