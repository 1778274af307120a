"""A plain numpy multilayer perceptron: the software reference of the benchmarks.

ReLU hidden layers, linear output, softmax cross-entropy, Adam, mini batches: the same shape and
training loop as the spintronic network, without devices. Used to compare accuracy (a software
MLP of the same shape) and speed (seconds per epoch, samples per second).

Examples
--------
>>> import numpy as np
>>> mlp = NumpyMLP((4, 8, 3), seed=0)
>>> mlp.forward(np.ones((2, 4))).shape
(2, 3)
"""
from __future__ import annotations

import time

import numpy as np

from rfemu.rng import as_generator


class NumpyMLP:
    """A ReLU MLP with biases (He-uniform initialisation, PyTorch's default bounds).

    Parameters
    ----------
    sizes : tuple of int
        (inputs, hidden..., outputs).
    seed : None, int or Generator
    """

    def __init__(self, sizes, seed=None):
        rng = as_generator(seed)
        self.sizes = tuple(int(s) for s in sizes)
        self.weights, self.biases = [], []
        for n_in, n_out in zip(self.sizes, self.sizes[1:]):
            bound = 1.0 / np.sqrt(n_in)
            self.weights.append(rng.uniform(-bound, bound, (n_in, n_out)))
            self.biases.append(rng.uniform(-bound, bound, n_out))

    def forward(self, x, keep=False):
        """Logits (B, K); with ``keep`` also the activations of every layer."""
        a = np.asarray(x, dtype=float)
        acts = [a]
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            a = a @ w + b
            if i < len(self.weights) - 1:
                a = np.maximum(a, 0.0)
            acts.append(a)
        return (a, acts) if keep else a

    def gradients(self, x, y):
        """Mean cross-entropy and its gradients (weights, biases) on a batch."""
        logits, acts = self.forward(x, keep=True)
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        n = len(y)
        loss = float(-np.mean(np.log(np.maximum(p[np.arange(n), y], 1e-300))))
        g = p
        g[np.arange(n), y] -= 1.0
        g /= n
        gw, gb = [None] * len(self.weights), [None] * len(self.weights)
        for i in range(len(self.weights) - 1, -1, -1):
            gw[i] = acts[i].T @ g
            gb[i] = g.sum(axis=0)
            if i:
                g = (g @ self.weights[i].T) * (acts[i] > 0)
        return loss, gw, gb

    def fit(self, x, y, epochs=100, batch_size=256, learning_rate=1e-3, seed=None,
            beta1=0.9, beta2=0.999, eps=1e-8):
        """Adam on mini batches; returns the seconds of each epoch."""
        rng = as_generator(seed)
        params = self.weights + self.biases
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        t = 0
        seconds = []
        for _ in range(epochs):
            t0 = time.perf_counter()
            order = rng.permutation(len(y))
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                _, gw, gb = self.gradients(x[idx], y[idx])
                t += 1
                for p, g, mm, vv in zip(params, gw + gb, m, v):
                    mm *= beta1
                    mm += (1 - beta1) * g
                    vv *= beta2
                    vv += (1 - beta2) * g * g
                    p -= learning_rate * (mm / (1 - beta1 ** t)) / (np.sqrt(vv / (1 - beta2 ** t)) + eps)
            seconds.append(time.perf_counter() - t0)
        return seconds

    def predict(self, x):
        return np.argmax(self.forward(x), axis=1)

    def accuracy(self, x, y) -> float:
        return float(np.mean(self.predict(x) == np.asarray(y)))
