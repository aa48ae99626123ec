"""companion/claim_checks.py: the claims one forward pass or one formula settles. (Every
verdict is pinned in test_claims.py; here the parts a verdict is made of.)"""

import pytest

from companion import claim_checks


def test_a_verdict_is_one_of_five():
    assert len(claim_checks.VERDICTS) == len(claim_checks.VERDICT_ZH) == 5
    with pytest.raises(ValueError, match="verdict='maybe'"):
        claim_checks.Verdict("maybe", "x")


def test_the_46_channel_typo_is_measured_not_assumed():
    verdict = claim_checks.conv2_46_channels()
    assert verdict.verdict == claim_checks.FAILS and "64" in verdict.evidence


def test_the_formula_names_a_counterexample():
    verdict = claim_checks.formula()
    assert verdict.verdict == claim_checks.CONDITION and "torch 12" in verdict.evidence
