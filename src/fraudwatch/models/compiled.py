"""A tree ensemble compiled to C: raw score and TreeSHAP contributions in microseconds.

The model's node arrays are written as ``static const`` C arrays beside a small fixed
traversal (``_SOURCE``), compiled by ``gcc`` (or ``$CC``) into a shared library cached
by the model's digest under the ``cache_dir`` setting (default ``~/.cache/fraudwatch``), and
called through ctypes with a double array. Single-threaded by design: one event is a
few thousand node visits, far less than a thread hand-off.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from fraudwatch.errors import FraudwatchError, InvalidValue
from fraudwatch.models.base import cache_root
from fraudwatch.models.trees import TreeEnsemble

__all__ = ["CompiledEnsemble", "CompilerMissing", "compile_ensemble", "compiled_dir"]

CODEGEN_VERSION = "2"


class CompilerMissing(FraudwatchError):
    """No C compiler: install gcc, set $CC, or load the model with ``compiled=False``."""


def compiled_dir(root: Path | None = None) -> Path:
    """Where compiled models are kept under the cache root (``settings.cache_dir``)."""
    return cache_root(root) / "compiled-models"


_SOURCE = r"""
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct { int32_t feature; double zero, one, pweight; } PathElement;

static inline int go_left(const Node *nd, double f) {
    int missing = (nd->flags >> 2) & 3;
    if (isnan(f)) {
        if (missing == 2) return nd->flags & 2;
        f = 0.0;
    }
    if (missing == 1 && f >= -1e-35 && f <= 1e-35) return nd->flags & 2;
    return f <= nd->threshold;
}

static inline int32_t leaf_of(const double *x, int32_t node) {
    while (node >= 0) {
        const Node *nd = &NODES[node];
        node = go_left(nd, x[nd->feature]) ? nd->left : nd->right;
    }
    return ~node;
}

int fw_n_features(void) { return N_FEATURES; }

double fw_raw(const double *x) {
    double s = 0.0;
    for (int t = 0; t < N_TREES; ++t) s += LEAF_VALUE[leaf_of(x, ROOTS[t])];
    return s;
}

void fw_raw_batch(const double *x, int64_t n, double *out) {
    for (int64_t i = 0; i < n; ++i) out[i] = fw_raw(x + i * N_FEATURES);
}

static inline double count_of(int32_t node) { return node >= 0 ? NODE_COUNT[node] : LEAF_COUNT[~node]; }

/* The path algebra of TreeSHAP (Lundberg et al., as in LightGBM) with the ratios of
   depths read from tables (RATIO_UP[d][i] = (i+1)/(d+1), RATIO_DOWN[d][i] = (d-i)/(d+1),
   RATIO_SUM[d][i] = (d+1)/(i+1), RATIO_COLD[d][i] = (d+1)/(d-i)): a multiplication where
   the reference divides, in the loops that run leaves x depth^2 times per tree. */
static void extend_path(PathElement *p, int d, double zero, double one, int32_t feature) {
    p[d].feature = feature; p[d].zero = zero; p[d].one = one; p[d].pweight = d == 0 ? 1.0 : 0.0;
    const double *up = RATIO_UP[d], *down = RATIO_DOWN[d];
    for (int i = d - 1; i >= 0; --i) {
        p[i + 1].pweight += one * p[i].pweight * up[i];
        p[i].pweight = zero * p[i].pweight * down[i];
    }
}

static void unwind_path(PathElement *p, int d, int index) {
    const double one = p[index].one, zero = p[index].zero;
    double next_one = p[d].pweight;
    for (int i = d - 1; i >= 0; --i) {
        if (one != 0) {
            const double tmp = p[i].pweight;
            p[i].pweight = next_one * (d + 1) / (double)((i + 1) * one);
            next_one = tmp - p[i].pweight * zero * (d - i) / (double)(d + 1);
        } else {
            p[i].pweight = p[i].pweight * (d + 1) / (double)(zero * (d - i));
        }
    }
    for (int i = index; i < d; ++i) {
        p[i].feature = p[i + 1].feature; p[i].zero = p[i + 1].zero; p[i].one = p[i + 1].one;
    }
}

/* The weight of path element `index` with one != 0 (a split x follows): O(d). */
static double unwound_sum(const PathElement *p, int d, int index) {
    const double zero = p[index].zero, inv_one = 1.0 / p[index].one;
    const double *sum = RATIO_SUM[d], *down = RATIO_DOWN[d];
    double next_one = p[d].pweight, total = 0.0;
    for (int i = d - 1; i >= 0; --i) {
        const double tmp = next_one * sum[i] * inv_one;
        total += tmp;
        next_one = p[i].pweight - tmp * zero * down[i];
    }
    return total;
}

static void tree_shap(const double *x, double *phi, int32_t node, int d, PathElement *parent,
                      double zero, double one, int32_t feature) {
    PathElement *p = parent + d;
    if (d > 0) memcpy(p, parent, d * sizeof(PathElement));
    extend_path(p, d, zero, one, feature);
    if (node < 0) {
        const double value = LEAF_VALUE[~node];
        /* for an element with one == 0 (a split x does not follow) the reference's
           unwound sum is sum_i pweight[i] * (d+1)/(d-i) / zero: the sum is shared by all
           such elements, so it is computed once per leaf instead of once per element */
        double cold = 0.0;
        const double *ratio_cold = RATIO_COLD[d];
        for (int i = 0; i < d; ++i) cold += p[i].pweight * ratio_cold[i];
        for (int i = 1; i <= d; ++i) {
            const double w = p[i].one != 0 ? unwound_sum(p, d, i) : cold / p[i].zero;
            phi[p[i].feature] += w * (p[i].one - p[i].zero) * value;
        }
        return;
    }
    const Node *nd = &NODES[node];
    const int32_t hot = go_left(nd, x[nd->feature]) ? nd->left : nd->right;
    const int32_t cold = hot == nd->left ? nd->right : nd->left;
    const double w = NODE_COUNT[node];
    double in_zero = 1.0, in_one = 1.0;
    int k = 0;
    for (; k <= d; ++k) if (p[k].feature == nd->feature) break;
    if (k != d + 1) { in_zero = p[k].zero; in_one = p[k].one; unwind_path(p, d, k); d -= 1; }
    tree_shap(x, phi, hot, d + 1, p, count_of(hot) / w * in_zero, in_one, nd->feature);
    tree_shap(x, phi, cold, d + 1, p, count_of(cold) / w * in_zero, 0.0, nd->feature);
}

/* phi: N_FEATURES + 1 doubles, the last is the expected value; filled, not accumulated */
void fw_contrib(const double *x, double *phi) {
    PathElement path[(MAX_DEPTH + 2) * (MAX_DEPTH + 3) / 2];
    memset(phi, 0, (N_FEATURES + 1) * sizeof(double));
    for (int t = 0; t < N_TREES; ++t) {
        phi[N_FEATURES] += EXPECTED[t];
        if (ROOTS[t] >= 0) tree_shap(x, phi, ROOTS[t], 0, path, 1.0, 1.0, -1);
    }
}
"""


def _hex(v: float) -> str:
    """An exact C double literal (hex float), infinities included."""
    v = float(v)
    if v != v:
        return "NAN"
    if v in (float("inf"), float("-inf")):
        return "INFINITY" if v > 0 else "-INFINITY"
    return v.hex()


def _array(ctype: str, name: str, values: Any, fmt: Any) -> str:
    body = ",".join(fmt(v) for v in values) or "0"
    return f"static const {ctype} {name}[] = {{{body}}};\n"


def generate_c(model: TreeEnsemble) -> str:
    """C source of ``model``: its arrays as constants, then the traversal code."""
    hexf = _hex
    nodes = ",".join(
        f"{{{_hex(t)},{int(f)},{int(left)},{int(right)},{int(fl)}}}"
        for t, f, left, right, fl in zip(
            model.threshold, model.feature, model.left, model.right, model.flags, strict=False
        )
    )
    return "".join(
        [
            f"/* generated by fraudwatch.models.compiled v{CODEGEN_VERSION} from model {model.digest} */\n",
            f"#define N_FEATURES {model.n_features}\n#define N_TREES {len(model.roots)}\n",
            f"#define MAX_DEPTH {model.max_depth}\n",
            "#include <math.h>\n#include <stdint.h>\n",
            "typedef struct { double threshold; int32_t feature; int32_t left; int32_t right; uint8_t flags; } Node;\n",
            f"static const Node NODES[] = {{{nodes or '{0,0,0,0,0}'}}};\n",
            _array("int32_t", "ROOTS", model.roots, lambda v: str(int(v))),
            _array("double", "LEAF_VALUE", model.leaf_value, hexf),
            _array("double", "LEAF_COUNT", model.leaf_count, hexf),
            _array("double", "NODE_COUNT", model.node_count, hexf),
            _array("double", "EXPECTED", model.expected, hexf),
            _ratio_tables(model.max_depth + 2),
            _SOURCE,
        ]
    )


def _ratio_tables(n: int) -> str:
    """The depth ratios of TreeSHAP's path algebra as ``n x n`` tables (see ``_SOURCE``),
    exact double literals of the divisions the reference does."""

    def table(name: str, ratio: Any) -> str:
        rows = ",".join("{" + ",".join(_hex(ratio(d, i)) for i in range(n)) + "}" for d in range(n))
        return f"static const double {name}[{n}][{n}] = {{{rows}}};\n"

    return "".join(
        [
            table("RATIO_UP", lambda d, i: (i + 1) / (d + 1)),
            table("RATIO_DOWN", lambda d, i: (d - i) / (d + 1)),
            table("RATIO_SUM", lambda d, i: (d + 1) / (i + 1)),
            table("RATIO_COLD", lambda d, i: (d + 1) / (d - i) if i < d else 0.0),
        ]
    )


def compile_ensemble(model: TreeEnsemble, directory: Path | None = None) -> Path:
    """Path of the shared library for ``model``, compiling it once per model digest."""
    directory = directory or compiled_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{model.digest[:32]}-v{CODEGEN_VERSION}.so"
    if target.exists():
        return target
    wanted = os.environ.get("CC")
    cc = shutil.which(wanted) if wanted else shutil.which("gcc") or shutil.which("cc")
    if not cc:
        what = f"$CC={wanted!r} not found" if wanted else "no C compiler found (gcc or cc)"
        raise CompilerMissing(f"{what}: install gcc or set $CC, or load the model with compiled=False (NumPy scorer)")
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        src = Path(tmp) / "model.c"
        src.write_text(generate_c(model))
        out = Path(tmp) / "model.so"
        cmd = [cc, "-O2", "-std=c99", "-shared", "-fPIC", "-o", str(out), str(src), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise FraudwatchError(f"compiling the model failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}")
        os.replace(out, target)  # atomic: concurrent loaders see a whole file or none
    return target


class CompiledEnsemble:
    """ctypes front of a compiled ensemble: ``raw(x)``, ``raw_batch(X)``, ``contrib(x)``.

    ``x`` is written into a preallocated C double array, so a call allocates nothing."""

    def __init__(self, model: TreeEnsemble, directory: Path | None = None):
        self.model = model
        self.path = compile_ensemble(model, directory)
        lib = ctypes.CDLL(str(self.path))
        if lib.fw_n_features() != model.n_features:
            raise FraudwatchError(f"compiled library {self.path} does not match the model")
        self._lib = lib
        n = model.n_features
        self._x = (ctypes.c_double * n)()
        self._phi = (ctypes.c_double * (n + 1))()
        self._raw = lib.fw_raw
        self._raw.restype = ctypes.c_double
        self._raw.argtypes = [ctypes.c_void_p]
        self._contrib = lib.fw_contrib
        self._contrib.restype = None
        self._contrib.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self._batch = lib.fw_raw_batch
        self._batch.restype = None
        self._batch.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
        self._x_addr = ctypes.addressof(self._x)
        self._phi_addr = ctypes.addressof(self._phi)

    @property
    def buffer(self) -> Any:
        """The C input array; fill it, then call ``raw_buffer`` / ``contrib_buffer``."""
        return self._x

    def raw_buffer(self) -> float:
        raw: float = self._raw(self._x_addr)
        return raw

    def contrib_buffer(self) -> list[float]:
        self._contrib(self._x_addr, self._phi_addr)
        return self._phi[:]

    def raw(self, x: Any) -> float:
        self._x[:] = [float(v) for v in x]
        raw: float = self._raw(self._x_addr)
        return raw

    def contrib(self, x: Any) -> np.ndarray:
        self._x[:] = [float(v) for v in x]
        return np.array(self.contrib_buffer())

    def raw_batch(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.model.n_features:
            raise InvalidValue(f"expected an (n, {self.model.n_features}) array, got {X.shape}")
        out = np.empty(len(X))
        self._batch(X.ctypes.data, len(X), out.ctypes.data)
        return out
