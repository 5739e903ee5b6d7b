"""Make data/grassroots_training_responses.csv: SYNTHETIC responses for the flagship template.

    .venv/bin/python data/make_flagship_data.py

Deterministic (seeded). 365 valid synthetic respondents are drawn with `survey.synthesize`
to match the marginals published in the seed report (necessity 91% "necessary"; biggest gains
63.1% / 29.2% / 15.3% of all returned forms, as the seed computes them: 231/366, 107/366,
56/366; lower-level posts held 30.6% five or more, 16.1% four, 22.4% three, 29% two), with
necessity varying by rank. Then a blank returned form and a
form keyed twice are added (366 returned forms, 367 rows) and a few realistic data-entry
errors are planted; every one is listed in PLANTED below and in data/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import survey as sv  # noqa: E402

SEED = 20080212
N_VALID = 365  # 366 returned forms, one of them blank

TARGETS = {
    "necessity": {"1": 0.91, "2": 0.04, "3": 0.05},
    # the seed: 30.6% five or more, 16.1% four, 22.4% three, 29% two (98% in all): rest one
    "posts_held": {"5": 0.306, "4": 0.161, "3": 0.224, "2": 0.290, "1": 0.019},
    "rank_level": {"1": 0.10, "2": 0.27, "3": 0.36, "4": 0.22, "5": 0.05},
    "age_band": {"1": 0.17, "2": 0.24, "3": 0.28, "4": 0.21, "5": 0.10},
    "education": {"1": 0.27, "2": 0.64, "3": 0.09},
    "sex": {"1": 0.79, "2": 0.21},
    "top_leader": {"1": 0.36, "2": 0.64},
    # valid forms per unit: the returned counts, minus the blank form (a township form)
    "unit": {"city": 92 / N_VALID, "county": 93 / N_VALID, "township": 108 / N_VALID,
             "public_inst": 72 / N_VALID},
}
# biggest gains (multiple response, at most two): share of ALL returned forms ticking each
# option, the template's `report: {base: returned}` and the seed's 231/366 = 63.1%,
# 107/366 = 29.2%, 56/366 = 15.3% — plus a small "other". `synthesize` allocates a
# multiple-choice target among the respondents who answer, so the counts are converted below.
GAINS_OF_RETURNED = {"mass_work": 0.631, "closeness": 0.292, "style": 0.153, "other": 0.025}
# ticks added by the planted problems below (the three-gains form adds a "style")
GAINS_PLANTED = {"style": 1}
# senior ranks (earlier in the rank list) more often think grassroots training necessary
ASSOCIATIONS = {"necessity": {"by": "rank_level", "shift": -1.2, "toward": "1"}}
UNIT_ORDER = ["city", "county", "township", "public_inst"]


def _synthesize(q, targets: dict) -> pd.DataFrame:
    return sv.synthesize(q, N_VALID, seed=SEED, targets=targets, associations=ASSOCIATIONS,
                         missing_rate=0.01)


def _gains_targets(q) -> dict[str, float]:
    """`GAINS_OF_RETURNED` as shares of the respondents who answer `gains`.

    Which respondents skip `gains` is drawn before the options are allocated and does not
    depend on the `gains` targets, so a first draw tells how many answer; the tick counts
    (share of the N_VALID valid forms, less the planted ticks) are then divided by that number.
    """
    answering = int(_synthesize(q, TARGETS)["gains"].notna().sum())
    counts = {c: round(share * N_VALID) - GAINS_PLANTED.get(c, 0)
              for c, share in GAINS_OF_RETURNED.items()}
    return {c: k / answering for c, k in counts.items()}


def make() -> tuple[pd.DataFrame, list[dict]]:
    q = sv.load_questionnaire("grassroots_training")
    other = q.question("gains").other.text  # the "other, please specify" text
    df = _synthesize(q, {**TARGETS, "gains": _gains_targets(q)})
    df = df.drop(columns="_row")
    # paper forms are keyed unit by unit; ids are the numbers written on the forms
    df["_u"] = df["unit"].map({u: i for i, u in enumerate(UNIT_ORDER)})
    df = df.sort_values("_u", kind="stable").drop(columns="_u").reset_index(drop=True)

    # a blank form returned by a township respondent (only the clerk's fields filled)
    blank = pd.DataFrame([{c: None for c in df.columns}])
    blank["unit"] = "township"
    town = np.flatnonzero((df["unit"] == "township").to_numpy())
    at = int(town[40])
    df = pd.concat([df.iloc[:at], blank, df.iloc[at:]], ignore_index=True)
    df["respondent_id"] = [f"{i + 1:04d}" for i in range(len(df))]
    planted: list[dict] = []

    def plant(pos: int, question: str, value, rule: str, what: str) -> None:
        df.loc[pos, question] = value
        planted.append({"pos": pos, "question": question, "value": value, "rule": rule,
                        "what": what})

    planted.append({"pos": at, "question": "", "value": "", "rule": "blank_form",
                    "what": "blank returned form (only id and unit keyed)"})
    rng = np.random.default_rng(SEED + 1)
    used: set[int] = {at}

    def pick(mask) -> int:
        cand = [int(i) for i in np.flatnonzero(np.asarray(mask)) if int(i) not in used]
        i = int(rng.choice(cand))
        used.add(i)
        return i

    notnull = df.notna()
    p = pick(notnull["education"])
    plant(p, "education", "4", "unknown_code", "education code 4 does not exist (1–3)")
    p = pick(notnull["age_band"] & (df["age_band"] == "2"))
    plant(p, "age_band", "2 3", "unknown_code", "two boxes ticked on single-choice age")
    p = pick((df["top_leader"] == "2") & df["top_leader_years"].isna()
             & (df["grassroots_years"].fillna("0").astype(int) >= 5))
    plant(p, "top_leader_years", "3", "skip_violation",
          "years as top leader filled although top_leader = 2 (no)")
    p = pick(df["gains"] == "mass_work closeness")
    plant(p, "gains", "mass_work closeness style", "max_choices",
          "three gains ticked (at most two)")
    p = pick(notnull["grassroots_years"] & (df["age_band"] != "1"))
    plant(p, "grassroots_years", "52", "constraint", "52 years at the grassroots (range 0–40)")
    p = pick(notnull["grassroots_years"])
    plant(p, "grassroots_years", "5年", "type", "'5年' keyed instead of the number 5")
    p = pick(df["gains"].fillna("").str.contains("other") & df[other].notna())
    plant(p, other, None, "other_without_text", "'other' ticked, text left blank")
    p = pick((df["gains"].fillna("") != "") & ~df["gains"].fillna("").str.contains("other"))
    plant(p, other, "多跑腿", "text_without_other",
          "text written beside 'other' without ticking it")
    p = pick((df["top_leader"] == "2") & df["top_leader_years"].isna())
    plant(p, "top_leader", None, "required", "required question top_leader left blank")
    p = pick((df["age_band"] == "1") & notnull["grassroots_years"]
             & (df["top_leader"] == "2"))
    plant(p, "grassroots_years", "20", "check:years_vs_age",
          "aged 35 or younger with 20 years at the grassroots")
    p = pick(notnull[[f"att_{i}" for i in range(1, 7)]].all(axis=1))
    for i in range(1, 7):
        df.loc[p, f"att_{i}"] = "4"
    planted.append({"pos": p, "question": "attitude", "value": "4", "rule": "straightlining",
                    "what": "all six attitude items answered 4"})
    # two different forms given the same number by the clerk
    a = pick(notnull["necessity"])
    b = pick(notnull["necessity"] & (df.index > a + 20))
    df.loc[b, "respondent_id"] = df.loc[a, "respondent_id"]
    planted.append({"pos": a, "question": "respondent_id", "value": df.loc[a, "respondent_id"],
                    "rule": "duplicate_id", "what": "id also used by a different form"})
    planted.append({"pos": b, "question": "respondent_id", "value": df.loc[a, "respondent_id"],
                    "rule": "duplicate_id", "what": "id also used by a different form"})
    # one form keyed twice: an exact copy right after the original
    c = pick(notnull["necessity"])
    df = pd.concat([df.iloc[: c + 1], df.iloc[[c]], df.iloc[c + 1:]], ignore_index=True)
    for rec in planted:
        if rec["pos"] > c:
            rec["pos"] += 1
    planted.append({"pos": c + 1, "question": "respondent_id",
                    "value": df.loc[c + 1, "respondent_id"], "rule": "duplicate_id",
                    "what": "the same form keyed twice (exact copy)"})
    for rec in planted:
        rec["row"] = rec.pop("pos") + 2  # CSV row number: the header is row 1
    planted.sort(key=lambda r: r["row"])
    return df, planted


def main() -> None:
    df, planted = make()
    out = HERE / "grassroots_training_responses.csv"
    df.to_csv(out, index=False, encoding="utf-8", lineterminator="\n")
    print(f"wrote {out} ({len(df)} rows)")
    for rec in planted:
        print(f"| {rec['row']} | {rec['rule']} | {rec['question']} | {rec['value'] or ''} | "
              f"{rec['what']} |")


if __name__ == "__main__":
    main()
