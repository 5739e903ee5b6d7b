"""Sample size and margin of error against textbook values.

Formula: Cochran, W. G. (1977), Sampling Techniques, 3rd ed., Wiley, §4.4:
n0 = z^2 p q / d^2 and n = n0 / (1 + (n0 - 1) / N).
"""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey import SurveyError
from survey.fieldwork import margin_of_error, sample_size


def test_385_for_5_points_at_95_percent_infinite_population():
    # the textbook figure: 1.96^2 * 0.25 / 0.05^2 = 384.16 -> 385
    assert sample_size(margin=0.05).n_complete == 385


def test_common_textbook_values():
    # 95%, p = 0.5: ±3 points -> 1068, ±10 points -> 97 (e.g. tables in Israel 1992,
    # "Determining sample size", University of Florida IFAS PEOD6, for large populations)
    assert sample_size(margin=0.03).n_complete == 1068
    assert sample_size(margin=0.10).n_complete == 97
    # 99% confidence, ±5 points: 2.5758^2 * 0.25 / 0.0025 = 663.5 -> 664
    assert sample_size(margin=0.05, confidence=0.99).n_complete == 664


def test_finite_population_correction():
    # Cochran eq. 4.2 with N = 1447: 384.146 / (1 + 383.146 / 1447) = 303.7 -> 304
    assert sample_size(margin=0.05, population=1447).n_complete == 304
    # Israel (1992) table, N = 1000, ±5%: 278 (computed there with n0/(1+(n0-1)/N))
    assert sample_size(margin=0.05, population=1000).n_complete == 278


def test_forms_to_issue_and_design_effect():
    r = sample_size(margin=0.05, population=1447, response_rate=0.915)
    assert (r.n_complete, r.n_issue) == (304, math.ceil(304 / 0.915))
    assert sample_size(margin=0.05, design_effect=2.0).n_complete == 769  # 2 * 384.15 -> 769


def test_margin_of_error_textbook():
    # z(0.975) = 1.959964 (R: qnorm(0.975)); 1.959964 * sqrt(0.25 / 1000) = 0.0309898
    assert margin_of_error(n=1000).margin == pytest.approx(0.0309898, rel=1e-5)
    # the flagship: 366 of a population of 400 -> fpc sqrt(34/399)
    expect = 1.959964 * math.sqrt(0.25 / 366 * 34 / 399)
    assert margin_of_error(n=366, population=400).margin == pytest.approx(expect, rel=1e-5)


@given(margin=st.floats(0.01, 0.2), population=st.one_of(st.none(), st.integers(50, 10**6)))
def test_inverse(margin, population):
    n = sample_size(margin=margin, population=population).n_complete
    if population is not None and n >= population:
        return
    assert margin_of_error(n=n, population=population).margin <= margin + 1e-12
    if n > 1:
        assert margin_of_error(n=n - 1, population=population).margin > margin - 1e-12


@pytest.mark.parametrize("kw, words", [
    ({"margin": 5}, "margin must be a proportion"),
    ({"margin": 0.05, "confidence": 95}, "confidence must be between 0 and 1"),
    ({"margin": 0.05, "response_rate": 0}, "response_rate must be in (0, 1]"),
    ({"margin": 0.05, "p": 1}, "p must be a proportion"),
])
def test_bad_input(kw, words):
    with pytest.raises(SurveyError, match=words.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        sample_size(**kw)


def test_result_renders():
    r = sample_size(margin=0.05, population=1447)
    assert "n_complete=304" in repr(r)
    assert "304" in r._repr_html_()
    assert list(r.to_frame().columns)[-2:] == ["n_complete", "n_issue"]
