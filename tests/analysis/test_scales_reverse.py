"""Reverse keys from the template reach items=[...] calls; unreversed mixed items are warned."""

import math

import numpy as np
import pandas as pd

import survey as sv


def _survey():
    q = sv.load_questionnaire("grassroots_training")
    raw = sv.synthesize(q, 200, seed=5)
    return sv.validate(raw, q).to_survey(q), q


def test_items_take_the_templates_reverse_keys():
    s, q = _survey()
    items = [f"att_{i}" for i in range(1, 7)]
    flagged = [i for i in items if q.question(i).reverse]
    assert flagged  # the flagship marks reverse-keyed rows
    by_items = sv.reliability(s, items=items)
    by_scale = sv.reliability(s, scale="attitude_scale")
    explicit = sv.reliability(s, items=items, reverse=flagged)
    assert math.isclose(by_items.alpha, explicit.alpha, rel_tol=1e-12)
    assert by_items.items["reversed"].tolist() == [i in flagged for i in items]
    assert math.isclose(by_scale.alpha, explicit.alpha, rel_tol=1e-12)


def test_unreversed_opposite_items_are_named_and_do_not_crash():
    rng = np.random.default_rng(0)
    trait = rng.normal(size=300)
    cols = {f"x{i}": np.clip(np.round(3 + trait + rng.normal(scale=0.8, size=300)), 1, 5)
            for i in range(1, 5)}
    cols["x5"] = 6 - cols["x1"]  # a reverse-keyed item nobody reversed
    df = pd.DataFrame(cols)
    r = sv.reliability(df, items=list(cols))
    assert any("loading negatively on the first principal component: x5" in n for n in r.notes)
    fixed = sv.reliability(df, items=list(cols), reverse=["x5"])
    assert fixed.alpha > r.alpha
    assert not any("loading negatively" in n for n in fixed.notes)
