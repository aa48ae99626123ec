"""companion/claim_measurements.py: the claims settled by experiments."""

from companion import claim_measurements, claims

H, C, F = claims.HOLDS, claims.CONDITION, claims.FAILS


def test_the_training_claims_follow_the_controlled_runs(monkeypatch):
    from companion import experiments

    real = experiments.controlled_runs()
    # the embedded sample's runs: dropout narrows the gap by raising the training loss, and its
    # validation accuracy is not higher, so the claim holds only with a condition
    assert claim_measurements.dropout_overfitting().verdict == C

    def dropout_helps():  # the same runs, but dropout lowered the validation loss and kept the accuracy
        out = []
        for r in real:
            if r.variant == "baseline":
                r = experiments.Run(**{**r.__dict__, "val_loss": 0.01, "train_loss": 0.0, "val_acc": 1.0})
            out.append(r)
        return out

    monkeypatch.setattr(experiments, "controlled_runs", dropout_helps)
    assert claim_measurements.dropout_overfitting().verdict == H

    def dropout_hurts():  # the same runs, but dropout made the train/test gap larger in every seed
        out = []
        for r in real:
            if r.variant == "baseline":
                r = experiments.Run(**{**r.__dict__, "val_loss": r.train_loss + 10.0})
            out.append(r)
        return out

    monkeypatch.setattr(experiments, "controlled_runs", dropout_hurts)
    verdict = claim_measurements.dropout_overfitting()
    assert verdict.verdict == F and "0/3" in verdict.evidence


def test_robustness_claim_uses_lesson_05s_method():
    evidence = claim_measurements.pool_robustness().evidence
    assert evidence.startswith("200 张验证集数字平移 1 像素") and "平均池化" in evidence


def test_a_verdict_needs_every_seed_to_hold():
    assert claim_measurements._verdict(3) == H and claim_measurements._verdict(1) == C
    assert claim_measurements._verdict(0) == F


def test_placement_is_a_convention_and_the_wide_fc1_is_not_measured():
    assert claim_measurements.dropout_placement().verdict == claims.CONVENTION
    assert claim_measurements.fc_wide().verdict == claims.UNTESTED
