"""Solutions to every exercise, for instructors.

Each answer is written the way a learner would reach it (a formula or a short
experiment), not copied from the checker. `make test` runs every one through
`companion.check`, so a solution that stops being right fails the build.
"""

SOLUTIONS = {
    # ── 00_overview ──
    "00.shape_after_pool": (1, 64, 12, 12),
    "00.fc1_share": round(100 * (9216 * 128 + 128) / 1_199_882, 1),
    "00.params_fc1_256": 320 + 18496 + (9216 * 256 + 256) + (256 * 10 + 10),
    # ── 01_nn_module ──
    "01.plain_list_params": 10 * 2 + 2,  # 只有 out 被登记；list 里的三层不算
    "01.myblock_params": (64 * 3 * 3 * 3 + 64) + (64 + 64),  # conv 权重+偏置，BN 的 weight+bias
    "01.bn_state_dict_len": len(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]),
    # ── 02_super ──
    "02.diamond_mro_len": len(["Child", "Left", "Right", "Base", "object"]),
    "02.fixed_module_index": ["DigitRecognizerFixed", "DigitRecognizer", "Module", "object"].index("Module"),
    # ── 03_conv1 ──
    "03.out_k5_s2_p1": (28 + 2 * 1 - 5) // 2 + 1,
    "03.out_dilation2": 28 - 2 * (3 - 1),
    "03.params_rgb": 32 * 3 * 3 * 3 + 32,
    "03.same_padding_k7": (7 - 1) // 2,
    # ── 04_conv2 ──
    "04.params_k5": 64 * 32 * 5 * 5 + 64,
    "04.rf_three_convs": 3 + 2 + 2,
    "04.macs_32px": (32 - 2 - 2) ** 2 * 64 * (32 * 3 * 3),
    # ── 05_pooling ──
    "05.avg_top_left": (1 + 2 + 5 + 6) / 4,
    "05.out_k3_s2": (24 - 3) // 2 + 1,
    "05.ceil_mode_25": -(-(25 - 2) // 2) + 1,
    "05.fc1_params_pool3": 64 * (24 // 3) ** 2 * 128 + 128,
    # ── 06_dropout ──
    "06.scale_p02": 1 / (1 - 0.2),
    "06.eval_sum": 2 * sum(range(1, 37)),
    "06.pool_after_elem_drop": 4 / (1 - 0.25),
    # ── 07_linear ──
    "07.params_fc1_512": 9216 * 512 + 512,
    "07.in_features_32": 64 * ((32 - 2 - 2) // 2) ** 2,
    "07.params_direct": 9216 * 10 + 10,
    # ── 08_activation ──
    "08.ce_uniform": round(-__import__("math").log(1 / 10), 4),  # 每类概率 1/10，损失 = −ln(1/10)
    "08.relu_zeros": len([-3.0, -2.0, -1.0, 0.0]),  # 负数和 0 都变成 0
    "08.underflow_gap": __import__("math").ceil(-__import__("math").log(2.0**-149 / 2)),  # exp(−g) < 最小次正规数的一半
    # ── 09_training ──
    # ── 10_claims ──
    "10.floor_case": (27 - 4) // 2 + 1,
    "10.classifier_with_bias": 9216 * 10 + 10,
}
