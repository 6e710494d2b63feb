"""A bounded per-step loss history: every step is kept until `capacity` points, then neighbours are averaged.

When the buffer fills, pairs of points merge into one (their mean, at the first step of the pair) and each new point
covers twice as many steps, so a run of any length is drawn from at most `capacity` points and memory stays fixed.
"""
from __future__ import annotations

import numpy as np


class LossHistory:
    def __init__(self, capacity: int = 20_000):
        self.capacity = capacity - capacity % 2
        self.steps = np.zeros(self.capacity, dtype=np.int64)   # first step each point covers
        self.losses = np.zeros(self.capacity, dtype=np.float64)
        self.n = 0           # points stored
        self.stride = 1      # steps per stored point
        self._acc = 0.0      # running sum of the point being filled
        self._acc_n = 0
        self._acc_step = 0

    def extend(self, start_step: int, losses: np.ndarray) -> None:
        """Record the losses of steps start_step, start_step + 1, …"""
        losses = np.asarray(losses, dtype=np.float64)
        i = 0
        while i < len(losses):
            m = min((len(losses) - i) // self.stride, self.capacity - self.n) if self._acc_n == 0 else 0
            if m:  # whole points that fit: in bulk
                self.steps[self.n : self.n + m] = start_step + i + np.arange(m) * self.stride
                self.losses[self.n : self.n + m] = losses[i : i + m * self.stride].reshape(m, self.stride).mean(1)
                self.n += m
                i += m * self.stride
                continue
            if self._acc_n == 0:
                self._acc_step = start_step + i
            take = min(self.stride - self._acc_n, len(losses) - i)
            self._acc += float(losses[i : i + take].sum())
            self._acc_n += take
            i += take
            if self._acc_n == self.stride:
                self._push(self._acc_step, self._acc / self.stride)
                self._acc, self._acc_n = 0.0, 0

    def _push(self, step: int, loss: float) -> None:
        if self.n == self.capacity:  # halve the resolution: merge neighbours
            half = self.capacity // 2
            self.steps[:half] = self.steps[0 : self.capacity : 2]
            self.losses[:half] = 0.5 * (self.losses[0 : self.capacity : 2] + self.losses[1 : self.capacity : 2])
            self.n = half
            self.stride *= 2
            # the point being pushed was averaged over the old stride; it starts the new, wider one
            self._acc, self._acc_n, self._acc_step = loss * (self.stride // 2), self.stride // 2, step
            return
        self.steps[self.n] = step
        self.losses[self.n] = loss
        self.n += 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Read-only copies (steps, losses), including the partly filled last point."""
        steps, losses = self.steps[: self.n].copy(), self.losses[: self.n].copy()
        if self._acc_n:
            steps = np.append(steps, self._acc_step)
            losses = np.append(losses, self._acc / self._acc_n)
        steps.flags.writeable = False
        losses.flags.writeable = False
        return steps, losses
