"""The claims ledger: every check runs, and a verdict that changes fails by name."""

from pathlib import Path

import pytest

from companion import claims

ROOT = Path(__file__).resolve().parents[1]

H, C, F, V, U = claims.HOLDS, claims.CONDITION, claims.FAILS, claims.CONVENTION, claims.UNTESTED
EXPECTED = {
    "model.input_28": H, "model.ten_outputs": H,
    "module.auto_params": H, "module.nesting": H, "module.to_device": H, "module.state_dict": H,
    "module.autograd": H, "module.hooks": H,
    "super.spellings": H,
    "conv1.shape": H, "conv1.formula": C, "conv1.same_padding": C, "conv1.stride_one": H,
    "conv1.small_kernel": H, "conv1.params": H,
    "conv2.shape": H, "conv2.46": F,
    "pool.halves": H, "pool.example": H, "pool.defaults": H, "pool.compute": H, "pool.robust": C,
    "pool.overfitting": C, "pool.noise": C, "super.modern": V,
    "dropout.coadaptation": U, "dropout.rates": V, "dropout.before_fc": C, "fc.global": H, "fc.nonlinear": H,
    "dropout.channels": H, "dropout.scale": H, "dropout.eval": H, "dropout.overfitting": C, "dropout.placement": V,
    "dropout.second": F, "dropout.faster": C,
    "fc.input": H, "fc.params": H, "fc.formula": H, "fc.1280": C, "fc.share": H, "fc.narrow": C, "fc.wide": U,
    "act.relu": H, "act.log_probs": H, "act.nll": H,
}


@pytest.fixture(scope="module")
def results():
    return {c.key: (c, v) for c, v in claims.run_all()}


def test_ledger_is_complete_and_keys_unique():
    keys = [c.key for c in claims.CLAIMS]
    assert len(keys) == len(set(keys)) >= 20
    assert set(keys) == set(EXPECTED)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_verdict_is_unchanged(results, key):
    claim, verdict = results[key]
    assert verdict.verdict == EXPECTED[key], (
        f"claim {key!r} ({claim.claim}) is now {verdict.verdict!r}, was {EXPECTED[key]!r}: {verdict.evidence}"
    )
    assert verdict.evidence.strip()


def test_every_claim_points_to_a_lesson_that_exists():
    for c in claims.CLAIMS:
        assert (ROOT / "notebooks" / f"{c.lesson}.ipynb").is_file(), f"{c.key}: lesson {c.lesson} missing"


def test_each_note_section_is_covered():
    sections = {c.section for c in claims.CLAIMS}
    assert sections >= {
        "神经网络模型示例", "nn.Module", "super()", "卷积层1", "卷积层2",
        "最大池化", "Dropout正则化", "全连接层", "激活与输出",
    }


def test_evidence_is_deterministic(results):
    again = {c.key: v.evidence for c, v in claims.run_all()}
    assert again == {k: v.evidence for k, (_, v) in results.items()}


def test_format_ledger_and_verdict_validation(results):
    text = claims.format_ledger([results["conv2.46"]])
    assert "不成立" in text and "[06_conv2](06_conv2.ipynb)" in text
    assert "06_conv2 |" in claims.format_ledger([results["conv2.46"]], links=False)
    with pytest.raises(ValueError, match="verdict='maybe'"):
        claims.Verdict("maybe", "x")


def test_implied_claims_are_marked(results):
    assert [c.key for c in claims.CLAIMS if c.implied] == ["dropout.second"]
    assert "笔记的代码隐含" in claims.format_ledger([results["dropout.second"]])
