"""A LightGBM booster as flat node arrays, with a pure-NumPy scorer and TreeSHAP.

The arrays come from LightGBM's own text format (thresholds printed with 17 digits, so
the comparisons are exact). Node ``i`` of the whole ensemble has ``feature``,
``threshold``, ``flags`` (bit 1: missing goes left; bits 2-3: missing type 0 none,
1 zero, 2 NaN) and children ``left``/``right``: ``>= 0`` an internal node, ``< 0`` the
leaf ``~child``. This is what the compiled scorer (``compiled.py``) bakes into C, and the
fallback when no C compiler is available.

Contributions follow LightGBM's ``pred_contrib``: exact TreeSHAP with the training
counts as cover, one value per feature plus the expected value last; they sum to the raw
score (log-odds).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fraudwatch.errors import FraudwatchError

__all__ = ["TreeEnsemble", "UnsupportedModel"]

K_ZERO = 1e-35  # LightGBM's kZeroThreshold


class UnsupportedModel(FraudwatchError):
    """A booster feature the scorer does not implement (categorical splits, linear trees, ...)."""


@dataclass(frozen=True)
class TreeEnsemble:
    feature_names: list[str]
    roots: np.ndarray  # int32 per tree: root node, or ~leaf for a one-leaf tree
    feature: np.ndarray  # int32 per node
    threshold: np.ndarray  # float64 per node
    flags: np.ndarray  # uint8 per node
    left: np.ndarray  # int32 per node
    right: np.ndarray
    node_count: np.ndarray  # float64 training count per node
    leaf_value: np.ndarray  # float64 per leaf
    leaf_count: np.ndarray
    expected: np.ndarray  # float64 per tree: count-weighted mean leaf value
    max_depth: int
    sigmoid: float
    digest: str

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    # ------------------------------------------------------------ parsing
    @classmethod
    def from_model_string(cls, text: str) -> TreeEnsemble:
        header, trees = _split_model_text(text)
        objective = header.get("objective", "")
        if not objective.startswith("binary"):
            raise UnsupportedModel(f"objective {objective!r}: only binary models are supported")
        if header.get("average_output") is not None:
            raise UnsupportedModel("random-forest boosting (average_output) is not supported")
        if int(header.get("num_tree_per_iteration", "1")) != 1:
            raise UnsupportedModel("multi-class models are not supported")
        sigmoid = 1.0
        for part in objective.split():
            if part.startswith("sigmoid:"):
                sigmoid = float(part.split(":", 1)[1])
        names = header["feature_names"].split()
        lists: list[list[Any]] = [[] for _ in range(10)]
        roots, feat, thr, flags, left, right, ncount, lval, lcount, expected = lists
        depth = 0
        for tree in trees:
            if int(tree.get("num_cat", "0")) > 0:
                raise UnsupportedModel("categorical splits are not supported; encode the feature as a number")
            if int(tree.get("is_linear", "0")):
                raise UnsupportedModel("linear trees are not supported")
            n_leaves = int(tree["num_leaves"])
            values = [float(v) for v in tree["leaf_value"].split()]
            base_node, base_leaf = len(feat), len(lval)
            if n_leaves == 1:
                roots.append(~base_leaf)
                lval.append(values[0])
                lcount.append(0.0)
                expected.append(values[0])
                continue
            counts = [float(v) for v in tree["leaf_count"].split()]
            inner_counts = [float(v) for v in tree["internal_count"].split()]
            dtypes = [int(v) for v in tree["decision_type"].split()]
            if any(d & 1 for d in dtypes):
                raise UnsupportedModel("categorical splits are not supported")

            def glob(child: int, base_node: int = base_node, base_leaf: int = base_leaf) -> int:
                return base_node + child if child >= 0 else ~(base_leaf + ~child)

            roots.append(base_node)
            feat += [int(v) for v in tree["split_feature"].split()]
            thr += [float(v) for v in tree["threshold"].split()]
            flags += [d & 0b1110 for d in dtypes]
            left += [glob(int(v)) for v in tree["left_child"].split()]
            right += [glob(int(v)) for v in tree["right_child"].split()]
            ncount += inner_counts
            lval += values
            lcount += counts
            expected.append(sum(c * v for c, v in zip(counts, values, strict=False)) / inner_counts[0])
            depth = max(
                depth,
                _depth([int(v) for v in tree["left_child"].split()], [int(v) for v in tree["right_child"].split()]),
            )
        return cls(
            feature_names=names,
            roots=np.array(roots, dtype=np.int32),
            feature=np.array(feat, dtype=np.int32),
            threshold=np.array(thr, dtype=np.float64),
            flags=np.array(flags, dtype=np.uint8),
            left=np.array(left, dtype=np.int32),
            right=np.array(right, dtype=np.int32),
            node_count=np.array(ncount, dtype=np.float64),
            leaf_value=np.array(lval, dtype=np.float64),
            leaf_count=np.array(lcount, dtype=np.float64),
            expected=np.array(expected, dtype=np.float64),
            max_depth=depth,
            sigmoid=sigmoid,
            digest=hashlib.sha256(text.encode()).hexdigest(),
        )

    # ------------------------------------------------------------ NumPy scoring
    def raw_batch(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (log-odds) of the rows of ``X``, vectorised over rows."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        rows = np.arange(len(X))
        out = np.zeros(len(X))
        for root in self.roots:
            node = np.full(len(X), root, dtype=np.int64)
            active = node >= 0
            while active.any():
                idx = node[active]
                f = X[rows[active], self.feature[idx]]
                go = _go_left(f, self.threshold[idx], self.flags[idx])
                node[active] = np.where(go, self.left[idx], self.right[idx])
                active = node >= 0
            out += self.leaf_value[~node]
        return out

    def __post_init__(self) -> None:
        # plain Python lists for the per-node loop of single rows: far faster than NumPy scalars
        lists = (
            self.feature.tolist(),
            self.threshold.tolist(),
            self.flags.tolist(),
            self.left.tolist(),
            self.right.tolist(),
        )
        object.__setattr__(self, "_lists", lists)
        object.__setattr__(self, "_leaf_values", self.leaf_value.tolist())

    def _leaf(self, x: Any, node: int) -> int:
        feature, threshold, flags, left, right = self._lists  # type: ignore[attr-defined]  # set in __post_init__
        while node >= 0:
            node = left[node] if _go_left_scalar(x[feature[node]], threshold[node], flags[node]) else right[node]
        return ~node

    def raw(self, x: Any) -> float:
        """Raw score of one row (a sequence of floats, NaN for missing)."""
        values: list[float] = self._leaf_values  # type: ignore[attr-defined]
        return math.fsum(values[self._leaf(x, r)] for r in self.roots.tolist())

    def contrib(self, x: Any) -> np.ndarray:
        """TreeSHAP contributions of one row: one per feature, then the expected value."""
        phi = np.zeros(self.n_features + 1)
        for t, root in enumerate(self.roots):
            phi[-1] += self.expected[t]
            if root >= 0:
                _tree_shap(self, x, phi, int(root), [], 1.0, 1.0, -1)
        return phi


def _go_left(f: np.ndarray, threshold: np.ndarray, flags: np.ndarray) -> np.ndarray:
    missing_type = (flags >> 2) & 3
    nan = np.isnan(f)
    f = np.where(nan & (missing_type != 2), 0.0, f)
    is_missing = ((missing_type == 1) & (np.abs(f) <= K_ZERO)) | ((missing_type == 2) & nan)
    return np.where(is_missing, (flags & 2) != 0, f <= threshold)


def _go_left_scalar(f: float, threshold: float, flags: int) -> bool:
    missing_type = (flags >> 2) & 3
    if f != f:
        if missing_type == 2:
            return bool(flags & 2)
        f = 0.0
    if missing_type == 1 and -K_ZERO <= f <= K_ZERO:
        return bool(flags & 2)
    return f <= threshold


def _depth(left: list[int], right: list[int]) -> int:
    best, stack = 0, [(0, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        for child in (left[node], right[node]):
            if child >= 0:
                stack.append((child, d + 1))
    return best


# ---------------------------------------------------------------- TreeSHAP (Lundberg et al., as in LightGBM)
def _count(m: TreeEnsemble, node: int) -> float:
    return float(m.node_count[node] if node >= 0 else m.leaf_count[~node])


def _extend(path: list[Any], zero: float, one: float, feature: int) -> None:
    depth = len(path)
    path.append([feature, zero, one, 1.0 if depth == 0 else 0.0])
    for i in range(depth - 1, -1, -1):
        path[i + 1][3] += one * path[i][3] * (i + 1) / (depth + 1)
        path[i][3] = zero * path[i][3] * (depth - i) / (depth + 1)


def _unwind(path: list[Any], index: int) -> None:
    depth = len(path) - 1
    one, zero = path[index][2], path[index][1]
    next_one = path[depth][3]
    for i in range(depth - 1, -1, -1):
        if one != 0:
            tmp = path[i][3]
            path[i][3] = next_one * (depth + 1) / ((i + 1) * one)
            next_one = tmp - path[i][3] * zero * (depth - i) / (depth + 1)
        else:
            path[i][3] = path[i][3] * (depth + 1) / (zero * (depth - i))
    for i in range(index, depth):
        path[i][0:3] = path[i + 1][0:3]
    path.pop()


def _unwound_sum(path: list[Any], index: int) -> float:
    depth = len(path) - 1
    one, zero = path[index][2], path[index][1]
    next_one = path[depth][3]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        if one != 0:
            tmp = next_one * (depth + 1) / ((i + 1) * one)
            total += tmp
            next_one = path[i][3] - tmp * zero * (depth - i) / (depth + 1)
        else:
            total += path[i][3] / zero / ((depth - i) / (depth + 1))
    return total


def _tree_shap(
    m: TreeEnsemble, x: Any, phi: Any, node: int, parent: list[Any], zero: float, one: float, feature: int
) -> None:
    path = [list(e) for e in parent]
    _extend(path, zero, one, feature)
    if node < 0:
        value = m.leaf_value[~node]
        for i in range(1, len(path)):
            w = _unwound_sum(path, i)
            phi[path[i][0]] += w * (path[i][2] - path[i][1]) * value
        return
    split = int(m.feature[node])
    hot = int(m.left[node]) if _go_left_scalar(x[split], m.threshold[node], int(m.flags[node])) else int(m.right[node])
    cold = int(m.right[node]) if hot == m.left[node] else int(m.left[node])
    w = m.node_count[node]
    in_zero = in_one = 1.0
    for k in range(len(path)):
        if path[k][0] == split:
            in_zero, in_one = path[k][1], path[k][2]
            _unwind(path, k)
            break
    _tree_shap(m, x, phi, hot, path, _count(m, hot) / w * in_zero, in_one, split)
    _tree_shap(m, x, phi, cold, path, _count(m, cold) / w * in_zero, 0.0, split)


def _split_model_text(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    current = header
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Tree="):
            current = {}
            trees.append(current)
        elif line == "end of trees":
            break
        elif "=" in line:
            key, value = line.split("=", 1)
            current[key] = value
        elif line in ("average_output",):
            current[line] = ""
    if "feature_names" not in header:
        raise UnsupportedModel("not a LightGBM model text (no feature_names)")
    return header, trees
