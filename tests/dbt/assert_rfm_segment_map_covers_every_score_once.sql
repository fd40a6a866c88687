-- Every recency x frequency x monetary score combination (1-5 each) maps to exactly one
-- segment: returns the combinations that are missing or mapped more than once.
with scores as (

    select 1 as score
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5

),

combinations as (

    select
        r.score as recency_score,
        f.score as frequency_score,
        m.score as monetary_score
    from scores as r
    cross join scores as f
    cross join scores as m

),

mapped as (

    select
        recency_score,
        frequency_score,
        monetary_score,
        count(*) as segments
    from {{ ref('rfm_segment_map') }}
    group by recency_score, frequency_score, monetary_score

)

select
    combinations.recency_score,
    combinations.frequency_score,
    combinations.monetary_score,
    coalesce(mapped.segments, 0) as segments
from combinations
left join mapped
    on
        combinations.recency_score = mapped.recency_score
        and combinations.frequency_score = mapped.frequency_score
        and combinations.monetary_score = mapped.monetary_score
where coalesce(mapped.segments, 0) <> 1
