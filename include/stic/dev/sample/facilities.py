"""The facilities files: infrastructures, platforms, laboratories, R&D centres, incubators, instruments."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from stic.contract import codes

from .common import DISTRICTS, FIELDS, YEARS, FileSpec, n_of, target
from .rows import (
    DISTRICT_WEIGHTS,
    HOSTS,
    _date,
    _money,
    _period_end,
    _quarter,
    _rotate,
    _spread,
    _weighted,
    _with_invalid,
    split_total,
)

# ------------------------------------------------------------------------------------------ facilities

NATIONAL_INFRASTRUCTURE = [  # name, field, district, host, status, construction start, operation start, investment (亿元)
    ("Shanghai Synchrotron Radiation Facility", "photonics", "PD", "Shanghai Advanced Research Institute, CAS",
     "in_operation", "2004-12-25", "2009-05-06", 12),
    ("Shanghai Synchrotron Radiation Facility Phase II Beamline Project", "photonics", "PD",
     "Shanghai Advanced Research Institute, CAS", "under_construction", "2016-11-29", None, 17),
    ("National Facility for Protein Science in Shanghai", "biomedicine", "PD", "Shanghai Advanced Research Institute, CAS",
     "in_operation", "2010-01-01", "2015-07-01", 8),
    ("Shanghai Soft X-ray Free Electron Laser Facility", "photonics", "PD", "Shanghai Advanced Research Institute, CAS",
     "under_construction", "2014-12-30", None, 8),
    ("Shanghai High Repetition Rate XFEL and Extreme Light Facility (hard X-ray FEL)", "photonics", "PD",
     "ShanghaiTech University", "under_construction", "2018-04-27", None, 100),
    ("Shanghai Superintense Ultrafast Laser Facility", "photonics", "PD",
     "Shanghai Institute of Optics and Fine Mechanics, CAS", "in_operation", "2016-07-01", "2018-12-01", 3),
    ("National Facility for Translational Medicine (Shanghai)", "biomedicine", "XH", "Ruijin Hospital",
     "under_construction", "2014-12-01", None, 9),
    ("Living Cell Structure and Function Imaging Facility", "biomedicine", "PD", "ShanghaiTech University",
     "under_construction", "2017-12-01", None, 6),
    ("Shanghai Laser Electron Gamma Source", "photonics", "PD", "Shanghai Advanced Research Institute, CAS",
     "under_construction", "2018-06-01", None, 1),
    ("Tianma 65 m Radio Telescope", "aerospace", "SJ", "Shanghai Astronomical Observatory, CAS",
     "in_operation", "2008-10-01", "2012-10-28", 2),
    ("High-efficiency Low-carbon Gas Turbine Test Facility", "energy", "PD", "Shanghai Electric",
     "under_construction", "2018-10-01", None, 61),
    ("International Human Phenome Facility (Shanghai)", "biomedicine", "PD", "Fudan University",
     "under_construction", "2018-09-01", None, 15),
    ("Marine Scientific Research Vessel and Deep-sea Test Facility", "marine", "PD", "Tongji University",
     "under_construction", "2018-11-01", None, 10),
    ("Shanghai Brain-Inspired Intelligence Imaging Facility", "brain_science", "XH", "Institute of Neuroscience, CAS",
     "under_construction", "2018-12-01", None, 5),
]
PLANNED_INFRASTRUCTURE = [
    ("Quantum Information Science Facility (planned)", "quantum_information", "PD", "Zhangjiang Laboratory", 20),
    ("Next-generation Supercomputing Facility (planned)", "other", "PD", "Shanghai Advanced Research Institute, CAS", 30),
]
FUNCTIONAL_PLATFORMS = [  # name, field, district, host
    ("SITRI MEMS and Sensor R&D and Transformation Platform", "integrated_circuits", "JD",
     "Shanghai Industrial μTechnology Research Institute"),
    ("Integrated Circuit R&D and Transformation Platform", "integrated_circuits", "PD", "Shanghai IC R&D Center"),
    ("Biomedicine Pilot Manufacturing Platform", "biomedicine", "PD", "Shanghai Institute of Materia Medica, CAS"),
    ("Industrial Internet Innovation Platform", "advanced_manufacturing", "YP", "Shanghai Industrial Internet Institute"),
    ("Artificial Intelligence Open Innovation Platform", "artificial_intelligence", "XH", "Shanghai Jiao Tong University"),
    ("Brain-inspired Chips and Intelligence Technology Platform", "brain_science", "PD", "Zhangjiang Laboratory"),
    ("Quantum Information Technology Transformation Platform", "quantum_information", "XH",
     "Shanghai Institute of Microsystem and Information Technology"),
    ("Additive Manufacturing R&D and Transformation Platform", "advanced_manufacturing", "JD", "Shanghai Electric"),
    ("Intelligent Connected Vehicle Testing Platform", "new_energy_vehicles", "JD", "SAIC Motor"),
    ("Advanced Materials Pilot Platform", "new_materials", "BS", "Baosteel"),
    ("Large Animal Models for Biomedical Research Platform", "biomedicine", "SJ", "Fudan University"),
    ("Medical Device Innovation and Transformation Platform", "biomedicine", "PD", "United Imaging"),
    ("Marine Equipment R&D Platform", "marine", "PD", "Shanghai Jiao Tong University"),
    ("Aerospace Materials and Structures Platform", "aerospace", "MH", "Commercial Aircraft Corporation of China"),
    ("Energy Storage and Hydrogen Technology Platform", "energy", "JS", "Shanghai Advanced Research Institute, CAS"),
    ("Fintech Innovation Platform", "fintech", "HP", "Shanghai University"),
    ("Microelectronics Packaging and Testing Platform", "integrated_circuits", "SJ", "Huahong Group"),
    ("Technology Transfer Service Platform", "other", "YP", "Tongji University"),
]
FOREIGN_COMPANIES = [("Microsoft", "artificial_intelligence"), ("SAP", "other"), ("Roche", "biomedicine"),
                     ("Novartis", "biomedicine"), ("AstraZeneca", "biomedicine"), ("GE", "energy"), ("Siemens", "advanced_manufacturing"),
                     ("Intel", "integrated_circuits"), ("IBM", "artificial_intelligence"), ("Bosch", "new_energy_vehicles"),
                     ("BASF", "new_materials"), ("Dow", "new_materials"), ("Honeywell", "aerospace"), ("Philips", "biomedicine"),
                     ("Johnson & Johnson", "biomedicine"), ("Pfizer", "biomedicine"), ("Sanofi", "biomedicine"),
                     ("3M", "new_materials"), ("Covestro", "new_materials"), ("Volkswagen", "new_energy_vehicles"),
                     ("General Motors", "new_energy_vehicles"), ("Texas Instruments", "integrated_circuits"),
                     ("Applied Materials", "integrated_circuits"), ("Airbus", "aerospace"), ("Schneider Electric", "energy"),
                     ("ABB", "advanced_manufacturing"), ("Unilever", "other"), ("L'Oréal", "other"), ("Nokia", "other"),
                     ("Hitachi", "advanced_manufacturing"), ("Panasonic", "energy"), ("Samsung", "integrated_circuits")]
INCUBATOR_BRANDS = ["XNode", "Chuangyi Space", "Sky Ladder", "Innospace", "Venture Cup", "MetaLab", "C-Incubation",
                    "Zhangjiang Inno Hub", "Tus Star", "Bee Park", "Maker Garage", "Dream Factory", "WeWork Labs"]
INSTRUMENTS = [  # name, field, typical value in yuan
    ("Transmission electron microscope", "new_materials", 8_000_000), ("Scanning electron microscope", "new_materials", 2_500_000),
    ("Cryo-electron microscope", "biomedicine", 40_000_000), ("NMR spectrometer 600 MHz", "biomedicine", 6_000_000),
    ("LC-MS/MS mass spectrometer", "biomedicine", 2_000_000), ("X-ray diffractometer", "new_materials", 1_500_000),
    ("Confocal laser scanning microscope", "biomedicine", 1_800_000), ("Flow cytometer", "biomedicine", 900_000),
    ("High-throughput gene sequencer", "biomedicine", 3_000_000), ("Atomic force microscope", "new_materials", 1_200_000),
    ("Raman spectrometer", "photonics", 600_000), ("Thermal analysis system", "new_materials", 400_000),
    ("Femtosecond laser system", "photonics", 3_500_000), ("Electron beam lithography system", "integrated_circuits", 20_000_000),
    ("Wafer probe station", "integrated_circuits", 1_500_000), ("Wind tunnel balance system", "aerospace", 5_000_000),
    ("High-performance computing node", "artificial_intelligence", 500_000), ("Gas chromatograph", "energy", 300_000),
    ("Fatigue testing machine", "advanced_manufacturing", 800_000), ("Ocean profiling buoy system", "marine", 1_000_000),
]


def platform_start(i: int) -> dt.date:
    """Construction (contract) start of functional platform number i (1-based): 2016, 2017 or 2018."""
    return dt.date(2016 + i % 3, 1 + (i * 5) % 6, 1 + (i * 7) % 28)


def _facility(code, name, ftype, field_, district, host, status, cstart=None, ostart=None, invest=None, **extra) -> dict:
    return {"facility_code": code, "name": name, "facility_type": ftype, "field": field_, "district": district,
            "host_institution": host, "status": status, "construction_start_date": cstart, "operation_start_date": ostart,
            "total_investment_yuan": invest, "original_value_yuan": extra.get("value"), "is_shared": extra.get("shared"),
            "service_hours": extra.get("hours"), "external_users": extra.get("users")}


def build_facilities(seed: int, scale: float, share: float) -> list[FileSpec]:
    rng = random.Random(f"{seed}:facilities")
    specs: list[FileSpec] = []
    counter = iter(range(1, 10**7))

    def new_key(row: dict) -> str:
        return f"{row['facility_code'].split('-')[0]}-X{next(counter):05d}"

    def spec(sub, period, stem, rows, style="plain"):
        for r in rows:
            r["_submitter"], r["_period"] = sub, period
        specs.append(FileSpec(sub, "facilities", period, stem, style, _with_invalid(rng, rows, "facilities", share, new_key)))

    # SHDRC: national major infrastructure, built or under construction, and two planned.
    infra = []
    for i, (name, fld, d, host, status, cs, os_, inv) in enumerate(NATIONAL_INFRASTRUCTURE[: target("national_major_infrastructure", scale)], start=1):
        infra.append(_facility(f"NMI-{i:02d}", name, "national_major_infrastructure", fld, d, host, status,
                               dt.date.fromisoformat(cs), os_ and dt.date.fromisoformat(os_), Decimal(inv * 100_000_000)))
    for i, (name, fld, d, host, inv) in enumerate(PLANNED_INFRASTRUCTURE, start=len(infra) + 1):
        infra.append(_facility(f"NMI-{i:02d}", name, "national_major_infrastructure", fld, d, host, "planned",
                               invest=Decimal(inv * 100_000_000)))
    spec("SHDRC", "2019", "facilities_SHDRC_2019", infra, "xlsx_title")

    # STCSM: the 18 functional platforms determined in 2018, 16 of them started (construction start =
    # the platform's contract start, from which Item Ten counts its years); laboratories in other years.
    platforms = []
    for i, (name, fld, d, host) in enumerate(FUNCTIONAL_PLATFORMS[: target("functional_platforms_2018", scale)], start=1):
        _date(rng, 2016 + i % 3, dt.date(2018, 6, 30))  # drawn as before, so later rows stay the same
        days = rng.randint(120, 500) if i % 3 else None
        invest = Decimal(rng.randint(5_000, 60_000) * 10_000)
        if i > target("functional_platforms_started_2019", scale):
            platforms.append(_facility(f"FP2018-{i:02d}", name, "functional_platform", fld, d, host, "planned",
                                       invest=invest))
            continue
        cs = platform_start(i)
        op = min(cs + dt.timedelta(days=days), dt.date(2018, 12, 31)) if days else None
        platforms.append(_facility(f"FP2018-{i:02d}", name, "functional_platform", fld, d, host,
                                   "in_operation" if op else "under_construction", cs, op, invest))
    spec("STCSM", "2018", "facilities_STCSM_2018", platforms, "bom_zh")
    for agency, years in (("STCSM", (2016, 2017)), ("SHEITC", (2017, 2018)), ("SSTIC", (2018, 2019))):
        for y in years:
            labs = []
            for _ in range(n_of(12, scale)):
                fld = rng.choice(FIELDS[:12])
                cs = _date(rng, y - 2)
                labs.append(_facility(f"LAB-{agency}{next(counter):05d}", f"Shanghai Key Laboratory of "
                                      f"{codes.entries('field')[fld]['en']} {rng.randint(1, 99)}", "laboratory", fld,
                                      _weighted(rng, DISTRICT_WEIGHTS), rng.choice(HOSTS), "in_operation", cs,
                                      cs + dt.timedelta(days=rng.randint(200, 700)), _money(rng, 500, 8000)))
            spec(agency, str(y), f"facilities_{agency}_{y}", labs)

    # Districts: foreign-funded R&D centres (441 by the end of 2018, some more in 2019), laboratories,
    # and the maker-space incubators (all reported in 2019).
    district_rows: list[dict] = []
    n_foreign = n_of(441, scale)
    for y, k in zip(range(2014, 2019), _spread(n_foreign, [70, 80, 88, 95, 108]), strict=True):
        for _ in range(k):
            company, fld = rng.choice(FOREIGN_COMPANIES)
            d = _weighted(rng, DISTRICT_WEIGHTS)
            op = _date(rng, y)
            district_rows.append(_facility("", f"{company} {rng.choice(['R&D Center', 'Innovation Center', 'Research Institute', 'Open Innovation Lab'])} (Shanghai)",
                                           "foreign_rd_center", fld, d, company, "in_operation",
                                           op - dt.timedelta(days=rng.randint(60, 400)), op, _money(rng, 2000, 50000)))
    for _ in range(n_of(25, scale)):  # opened in 2019: not in the end-of-2018 figure
        company, fld = rng.choice(FOREIGN_COMPANIES)
        op = _date(rng, 2019, dt.date(2019, 4, 30))
        district_rows.append(_facility("", f"{company} Innovation Hub (Shanghai)", "foreign_rd_center", fld,
                                       _weighted(rng, DISTRICT_WEIGHTS), company, "in_operation", None, op,
                                       _money(rng, 2000, 30000)))
    for _ in range(n_of(612, scale)):
        d = rng.choice(DISTRICTS)
        op = _date(rng, rng.choice(YEARS), dt.date(2019, 4, 30))
        district_rows.append(_facility("", f"{rng.choice(INCUBATOR_BRANDS)} {codes.entries('district')[d]['en']} "
                                           f"{rng.randint(1, 40)}", "incubator", rng.choice(FIELDS), d,
                                       None, "in_operation", None, op, _money(rng, 50, 3000) if rng.random() < 0.7 else None))
        district_rows[-1]["_year"] = 2019
    for _ in range(n_of(60, scale)):
        fld = rng.choice(FIELDS)
        y = rng.choice(YEARS)
        cs = _date(rng, y)
        district_rows.append(_facility("", f"{codes.entries('field')[fld]['en']} Engineering Laboratory {rng.randint(1, 99)}",
                                       "laboratory", fld, _weighted(rng, DISTRICT_WEIGHTS), rng.choice(HOSTS),
                                       rng.choice(["planned", "under_construction"]), cs, None, _money(rng, 100, 5000)))
        district_rows[-1]["_year"] = y
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    quarterly = {(d, y) for d in DISTRICTS for y in YEARS if rng.random() < 0.3}
    for r in district_rows:
        when = r["operation_start_date"] or r["construction_start_date"]
        y = r.pop("_year", when.year)
        q = _quarter(when) if when.year == y else rng.randint(1, 4)
        period = f"{y}Q{q}" if (r["district"], y) in quarterly else str(y)
        r["facility_code"] = f"F{r['district']}{y}{next(counter):05d}"
        groups[(r["district"], period)].append(r)
    # Period consistency warnings (Manifest.findings), added to an existing file with their own random
    # draws so that every other row and file stays as it was: a laboratory in operation only after the
    # period that reports it, and one built in 1996, far before the programme.
    prng = random.Random(f"{seed}:facilities:planted")
    d, period = min(groups)
    y = int(period[:4])
    for cs, op in ((dt.date(y, 1, 15), _period_end(period) + dt.timedelta(days=60)),
                   (dt.date(1996, 5, 1), dt.date(1998, 10, 1))):
        fld = prng.choice(FIELDS)
        groups[(d, period)].append(_facility(
            f"F{d}{y}{next(counter):05d}", f"{codes.entries('field')[fld]['en']} Engineering Laboratory "
            f"{prng.randint(1, 99)}", "laboratory", fld, d, prng.choice(HOSTS), "in_operation", cs, op,
            _money(prng, 100, 5000)))
    start = len(specs)
    for (d, period), rows in sorted(groups.items()):
        spec(d, period, f"facilities_{d}_{period}", rows)
    _rotate(specs[start:], ["plain", "gb18030_wan", "bom_zh", "xlsx_title", "unit_column", "json", "xlsx_sheets"])

    # The rejected file: a district sends facilities without the required field column.
    taken = {s.period for s in specs if s.submitter == "CM"}
    period = next(p for p in ("2016Q2", "2016Q3", "2015Q2", "2015Q3", "2017Q2") if p not in taken)
    bad_rows = []
    for _ in range(max(3, n_of(12, scale))):
        d_op = _date(rng, int(period[:4]))
        bad_rows.append({**_facility(f"FCM{period[:4]}{next(counter):05d}", f"Chongming Eco-Island Incubator {rng.randint(1, 9)}",
                                     "incubator", "other", "CM", None, "in_operation", None, d_op, _money(rng, 50, 500)),
                         "_submitter": "CM", "_period": period})
    specs.append(FileSpec("CM", "facilities", period, f"facilities_CM_{period}", "plain", bad_rows,
                          status="rejected", drop_column="field",
                          note="required column 'field' missing: the whole file is rejected"))

    # YRDN: large instruments on the Yangtze River Delta sharing network, a few big files.
    n_shared = n_of(45_120, scale)
    periods = ["2014", "2015", "2016", "2017", "2018", "2019Q1", "2019Q2"]
    per_period = _spread(n_shared, [6, 9, 12, 16, 22, 18, 17])
    instruments: list[dict] = []
    weights: list[float] = []
    for period, k in zip(periods, per_period, strict=True):
        y = int(period[:4])
        for j in range(k + round(k * 0.02)):  # about 2% not shared: not in the network's figure
            name, fld, typical = rng.choice(INSTRUMENTS)
            shared = j < k
            op = _date(rng, rng.randint(2005, y), _period_end(period))
            value = Decimal(round(typical * rng.lognormvariate(0, 0.5) / 100) * 100 + 100)
            row = _facility(f"LI{next(counter):07d}", name, "large_instrument", fld, _weighted(rng, DISTRICT_WEIGHTS),
                            rng.choice(HOSTS), "in_operation", None, op, None, value=value, shared=shared,
                            hours=Decimal(rng.randint(2000, 30000)) / 10 if shared else None,
                            users=rng.randint(0, 300) if shared else None)
            row["_submitter"], row["_period"] = "YRDN", period
            instruments.append(row)
            if shared:
                weights.append(float(value))
    shared_rows = [r for r in instruments if r["is_shared"]]
    for r, v in zip(shared_rows, split_total(target("large_instruments_value", scale), weights), strict=True):
        r["original_value_yuan"] = v
    for i, period in enumerate(periods):
        rows = [r for r in instruments if r["_period"] == period]
        style = ["plain", "gb18030_wan", "plain", "unit_column", "bom_zh", "xlsx_sheets", "plain"][i]
        spec("YRDN", period, f"instruments_YRDN_{period}", rows, style)
    return specs
