"""Generate realistic submissions (the awkward files real offices send), deterministic for a seed.

`generate(out_dir, scale, seed)` writes files for all four kinds into the landing layout
``out_dir/<SUBMITTER>/<kind>/<period>/<file>`` and returns a `Manifest`; the same seed gives
byte-identical files (XLSX zips are written with fixed timestamps). `rows_for(kind, scale, seed)` gives
the rows a correct load publishes, in memory, and `control_figures(scale, seed)` the figures below.

Who sends what
--------------
* projects: districts (by start year; some districts send quarterly files) and, with municipal-level
  projects only, STCSM, SHEITC, SHDRC, SHTO and SSTIC. All 854 ``national_major`` projects and all 73
  ``zhangjiang_science_city`` projects come from districts (the latter from PD).
* facilities: SHDRC the national major infrastructure (period 2019); STCSM the functional platforms
  (period 2018) and a few laboratories; SHEITC and SSTIC laboratories; districts the foreign-funded R&D
  centres (2014–2019, in the period of the year they opened), laboratories and the maker-space incubators
  (all in 2019 periods); YRDN the large instruments (one big file per period: 2014–2018 yearly,
  2019Q1, 2019Q2; a period holds the instruments that joined the network then).
* platform_assessments: SHFB only (2018 and 2019), one row per functional platform and year.
* ip_transactions: SIPTC the listings on the Shanghai IP transaction centre (transfer, license, pledge,
  equity contribution; never technology_export); a listing's row is in the file of its listing period and
  carries the deal closed on it by the period's end, if any. SHIPA the technology-export contracts (all
  rows transaction_type technology_export; yearly files 2014–2018, and 2019Q1). The two submitters
  never share a row, so the listing figures and the export figures cannot double count.

Every business key (project_code, facility_code, transaction_code, platform_code + assessment_year)
appears in exactly one published submission, so "count rows" and "count distinct codes" agree below.

Control figures (the reconciliation mart must compute exactly these; values are for scale 1, and
`Manifest.control_figures` holds the values for the scale generated). "Published rows" are the rows
of submissions that end up published: loaded rows of every accepted file, except files superseded by a
correction (the rows of the correction count instead); quarantined rows and rejected files never count.

* siptc_listings_2018 = 3,200: ip_transactions published rows, submitter SIPTC, listing_date in
  2018-01-01..2018-12-31; count.
* siptc_deal_value_2018 = 218,400,000.00 yuan: ip_transactions, submitter SIPTC, deal_date in
  2018-01-01..2018-12-31; sum(deal_amount_yuan).
* tech_exports_yrd_count = 3,312: ip_transactions, transaction_type technology_export, buyer_region in
  (jiangsu, zhejiang, anhui), deal_date <= 2018-12-31 (all such rows come from SHIPA; SHIPA also sends
  exports to other regions and 2019 exports, which must be filtered out); count.
* tech_exports_yrd_value = 17,300,000,000.00 yuan: same rows; sum(deal_amount_yuan).
* national_major_infrastructure = 14: facilities, facility_type national_major_infrastructure, status in
  (under_construction, in_operation) (SHDRC also lists planned ones, which do not count); count.
* national_major_projects = 854: projects, level national_major; count.
* foreign_rd_centers_2018 = 441: facilities, facility_type foreign_rd_center, operation_start_date <=
  2018-12-31 (districts also report centres opened in 2019, which do not count); count.
* incubators_2019 = 612: facilities, facility_type incubator; count.
* large_instruments_units = 45,120 and large_instruments_value = 51,900,000,000.00 yuan: facilities,
  submitter YRDN, facility_type large_instrument, is_shared true (YRDN also lists unshared instruments,
  which do not count); count, and sum(original_value_yuan).
* functional_platforms_2018 = 18: facilities, facility_type functional_platform, submitter STCSM,
  period 2018; count.
* zhangjiang_first_round_started = 73 and zhangjiang_first_round_completed = 32: projects, programme
  zhangjiang_science_city; count, and count with status completed.
* functional_platforms_started_2019 = 16: the 18 platforms but two still planned (no construction start).
* municipal_major_st_projects = 8 and municipal_major_st_local_money = 4,120,000,000 yuan ("exceeded 4
  billion"): STCSM's projects of level municipal_major and programme municipal_major_st; count, and
  sum(funding_municipal_yuan + funding_district_yuan).
* national_major_science_2014_2018 = 11: national_major projects of programme national_major_science
  started 2014-2018 (a twelfth starts in 2019 and does not count).
* large_instruments_value is 51,930,000,000 yuan: the briefing says "more than 51.9 billion".
At another scale a count is max(1, round(value * scale)) and an amount round(value * scale) to 100 yuan,
except the 14 infrastructures and the 18 (16 started) platforms, which do not scale. `FIGURE_CODES` maps
these names to the seed's figure codes (rpt_control_totals).

Findings planted on purpose (`Manifest.findings`, from `intended_findings`; the marts must report exactly
these): the platform rules of the 2018 guideline (PLANTED: district operating money below the city's,
fiscal operating money and share rising after the initial contract, money not reduced after a missed
assessment, a well-assessed platform cut with no reason; platforms that rise within their contract or
carry construction money are there so the rules are seen not to fire), award shares below the 70 % floor
(about 2 % of the transfers and licences by universities and research institutes), and reporting-period
warnings (two completed projects ending after their period, a laboratory in operation only after its
period, a project started in 1999 and a laboratory built in 1996). A district file only holds rows of that
district.

Messy but valid: files rotate through STYLES (plain UTF-8 CSV; UTF-8 with BOM and Chinese headers;
GB18030 with Chinese headers, 万元 and thousands separators; a unit column with 元/万元 per row; XLSX with a
merged title row and numbers stored as text; XLSX with an instructions sheet and two data sheets; JSON
``{"records": [...]}``). Amounts are whole yuan, so every 万元 value is written with enough decimals.
`warning_rows` per file counts the loader's award_share_below_floor warnings (a transfer or licence by a
university or research institute awarding less than 0.7).

Invalid rows: about 1.5 % extra rows per file, each breaking exactly one critical rule (unknown code,
negative amount, end before start, missing required field, award share above 1, deal before listing,
year out of range); they never replace a valid row, so the figures above hold. One file per run is
rejected as a whole (a district facilities CSV without its ``field`` column) and one district projects
file is corrected by a later file of the same submitter/kind/period whose name sorts after it (``_v2``).
"""

# The generator lives in submodules by concern; its names stay here, where callers find them
# (`from stic.dev import sample as generate`, `from stic.dev.sample import generate`).
from .assembly import (  # noqa: F401
    CONTROL_DEFINITIONS,
    FIGURE_CODES,
    PERIOD_FLOOR,
    award_findings,
    build,
    control_figures,
    generate,
    intended_findings,
    period_findings,
    rows_for,
)
from .common import (  # noqa: F401
    AMOUNT_FIGURES,
    DISTRICTS,
    EXT,
    FIELDS,
    FIXED_FIGURES,
    FIXED_ZIP_TIME,
    INVALID_SHARE,
    META,
    STYLES,
    TARGETS,
    UNIT_DIVISOR,
    UNIT_LABEL,
    YEARS,
    FileSpec,
    Manifest,
    amount_of,
    n_of,
    target,
)
from .facilities import (  # noqa: F401
    FOREIGN_COMPANIES,
    FUNCTIONAL_PLATFORMS,
    INCUBATOR_BRANDS,
    INSTRUMENTS,
    NATIONAL_INFRASTRUCTURE,
    PLANNED_INFRASTRUCTURE,
    build_facilities,
    platform_start,
)
from .ip_transactions import (  # noqa: F401
    AWARD_RULE_SELLERS,
    AWARD_RULE_TYPES,
    IP_TYPES,
    REGION_CITY,
    SYLLABLES,
    build_ip_transactions,
)
from .platforms import (  # noqa: F401
    DIMINISHING_REASON,
    ITEMS,
    PASS_MARK,
    PLANTED,
    build_platform_assessments,
)
from .projects import (  # noqa: F401
    build_projects,
)
from .rows import (  # noqa: F401
    DISTRICT_WEIGHTS,
    HOSTS,
    INSTITUTIONS,
    MUNICIPAL_MAJOR_TITLES,
    SPOILERS,
    split_total,
    spoil,
)
from .writers import (  # noqa: F401
    WRITERS,
    write_file,
)
