#!/usr/bin/env python3
"""A command-experiment task written in Python (jobs/command_demo.toml, docs/your-experiment.md).

Noisy gradient descent on f(x) = x^2 / 2 from x = 1: x <- x - lr * (x + noise * z), z ~ N(0, 1)
drawn from the task's seed (standard library only, so any python3 runs it). Without noise
x_k = (1 - lr)^k, so final_loss = (1 - lr)^(2 steps) / 2 (a closed form the tests check); with
noise the loss settles at a floor of about lr * noise^2 / (2 (2 - lr)) (the stationary variance of the AR(1) recursion, halved).

mpisweep gives the parameters (JSON on stdin and in MPISWEEP_PARAMS) and the seed; try it by hand:
    MPISWEEP_PARAMS='{"lr": 0.1, "steps": 50, "noise": 0.1}' MPISWEEP_SEED=1 \
        PYTHONPATH=python python3 examples/python_task/task.py
"""
import random

from mpisweep import task

p = task.params()
lr, steps, noise = float(p["lr"]), int(p["steps"]), float(p.get("noise", 0.0))
rng = random.Random(task.seed())  # results depend on (parameters, seed) alone

x = 1.0
loss = [0.5 * x * x]
for k in range(steps):
    x -= lr * (x + noise * rng.gauss(0.0, 1.0))
    loss.append(0.5 * x * x)

# The first step whose loss is below 1e-3 (steps + 1: never).
steps_to_tol = next((k for k, v in enumerate(loss) if v < 1e-3), steps + 1)
task.report(metrics={"final_loss": loss[-1], "steps_to_tol": steps_to_tol}, series={"loss": loss})
