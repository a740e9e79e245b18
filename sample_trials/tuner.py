"""The search spaces and objectives of the shipped samples, written as a user's tuning script.

``hopt-inspect lpdf --space sample_trials/tuner.py:heart_space`` imports this file, the way
the user's own tuner would be imported. ``make_samples.py`` runs ``fmin`` on these.
"""

from __future__ import annotations

import math

import numpy as np
from hyperopt import STATUS_FAIL, STATUS_OK, hp

# -- The blog post's toy problem: the "heart" surface over a 4 x 4 box.
heart_space = {
    "learning_rate": hp.uniform("learning_rate", -2, 2),
    "size_of_hidden_layer": hp.uniform("size_of_hidden_layer", -2, 2),
}


def heart(x: float, y: float) -> float:
    """The blog's error surface. Its minimum over the box is at the corners, not at (0, 0)."""
    return -((x**2 + y**2 - 1) ** 3 - x**2 * y**3)


def heart_objective(params: dict) -> dict:
    loss = heart(params["learning_rate"], params["size_of_hidden_layer"])
    return {"loss": loss, "status": STATUS_OK}


# -- The blog post's "more realistic" Q-learning space (10 labels, mixed kinds).
qlearn_space = {
    "learning_rate": hp.loguniform("learning_rate", np.log(1e-5), np.log(1)),
    "use_double_q_learning": hp.choice("use_double_q_learning", [True, False]),
    "layer1_size": hp.quniform("layer1_size", 10, 100, 1),
    "layer2_size": hp.quniform("layer2_size", 10, 100, 1),
    "layer3_size": hp.quniform("layer3_size", 10, 100, 1),
    "future_discount_max": hp.uniform("future_discount_max", 0.5, 0.99),
    "future_discount_increment": hp.loguniform(
        "future_discount_increment", np.log(0.001), np.log(0.1)
    ),
    "recall_memory_size": hp.quniform("recall_memory_size", 1, 100, 1),
    "recall_memory_num_experiences_per_recall": hp.quniform(
        "recall_memory_num_experiences_per_recall", 10, 2000, 1
    ),
    "num_epochs": hp.quniform("num_epochs", 1, 10, 1),
}


def qlearn_objective(params: dict) -> dict:
    """A synthetic 'episodes to solve' loss with a known shape.

    Optimum inside the range for the learning rate (~3e-3), the discount (~0.95) and the
    layer sizes; more epochs always help (best at the upper bound); double Q-learning helps.
    """
    lr = params["learning_rate"]
    loss = 2.0 * (math.log10(lr) + 2.5) ** 2
    loss += 30.0 * (params["future_discount_max"] - 0.95) ** 2
    loss += 0.5 * (math.log10(params["future_discount_increment"]) + 2.0) ** 2
    for name, target in (("layer1_size", 64), ("layer2_size", 48), ("layer3_size", 24)):
        loss += ((params[name] - target) / 40.0) ** 2
    loss += 0.3 * (params["recall_memory_size"] / 100.0 - 0.5) ** 2
    loss += 0.2 * abs(math.log(params["recall_memory_num_experiences_per_recall"] / 500.0))
    loss += 0.8 / params["num_epochs"]
    loss += 0.0 if params["use_double_q_learning"] else 0.4
    return {"loss": loss, "status": STATUS_OK, "episodes": int(100 + 50 * loss)}


# -- A study where things go wrong: failures, exceptions, NaN and inf, odd result keys.
failures_space = {
    "x": hp.uniform("x", -5, 5),
    "optimizer": hp.choice("optimizer", ["adam", "sgd", "rmsprop"]),
    "dropout": hp.quniform("dropout", 0.0, 0.5, 0.05),
}


def failures_objective(params: dict) -> dict:
    from custommod import EvalRecord

    x = params["x"]
    if params["optimizer"] == "rmsprop" and x > 3:
        raise FloatingPointError("rmsprop diverged (loss exploded)")
    if x < -4:
        return {"status": STATUS_FAIL, "failure": "out of memory at batch 12"}
    loss = (x - 1.0) ** 2 + params["dropout"]
    return {
        "loss": loss,
        "status": STATUS_OK,
        "accuracy": 1.0 / (1.0 + loss),
        "model": EvalRecord(epochs=3, note="kept for inspection"),
        "history": [loss * 1.5, loss * 1.2, loss],
    }
