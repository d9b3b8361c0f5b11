#!/usr/bin/python3
"""Golden cases for the operations of the training recipes (engine/train/recipe.h).

Writes, next to this script, in the layouts of README.md:
  layers/global_avg_pool/                    GlobalAvgPool2d forward/backward
  layers/softmax_crossentropy_soft_smooth/   soft-target softmax-CE, label smoothing 0.1
  layers/softmax_crossentropy_soft_mixup/    soft-target softmax-CE, mixup pairs + smoothing 0.1
  layers/adamw_t1/, layers/adamw_t7/         AdamW (decoupled weight decay) at step t
  layers/onecycle_lr_pct30/, .._pct25/       PyTorch OneCycleLR learning-rate sequences
  layers/augment/                            masks + circular time shift + mixup of a batch
  net_gap_small_64/                          the `robust` architecture (GAP head, no dense
                                             layers, BN momentum 0.9) at 64x64: one training
                                             step with label smoothing and one AdamW step at
                                             step t of a one-cycle schedule
  net_gap_bnrelu_small_32/                   the same head with block conv-bn-relu at 32x32,
                                             AdamW t=1 (zero moments), constant lr
and measured_errors_recipe.json (every check below, per tensor).

References come from PyTorch (CPU, float64). Every case is then
  * recomputed by an independent NumPy implementation (float64) and compared;
  * checked by central finite differences in float64 (where there is a gradient);
  * recomputed in float32 three ways to measure what a float32 engine can reach:
    torch f32 (PyTorch in float32), numpy f32 (the NumPy implementation in float32,
    BLAS / pairwise sums), naive f32 (every reduction one sequential float32
    accumulator, emulated with np.cumsum).
Run: /usr/bin/python3 make_recipe_cases.py   (PyTorch 1.13 CPU, NumPy 1.24; ~15 s; deterministic:
a rerun rewrites the same bytes)
"""

import json
import math
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
LAYERS = os.path.join(HERE, "layers")
MEASURED = {"layers": {}, "networks": {}}


# ---- files ------------------------------------------------------------------------------

class CaseWriter:
    """Writes .npy files of one case folder and keeps the manifest."""

    def __init__(self, folder):
        self.folder = folder
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)
        self.files = {}

    def save(self, rel, array, dtype=np.float64):
        a = np.asarray(array, dtype=dtype)
        path = os.path.join(self.folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.save(path, a)
        self.files[rel] = {"shape": list(a.shape), "dtype": str(a.dtype)}

    def finish(self, json_name, meta):
        meta = dict(meta)
        meta["files"] = self.files
        with open(os.path.join(self.folder, json_name), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        # Reload every file: shape/dtype as the manifest says, finite values.
        for rel, info in self.files.items():
            a = np.load(os.path.join(self.folder, rel))
            assert list(a.shape) == info["shape"] and str(a.dtype) == info["dtype"], rel
            if a.dtype.kind == "f":
                assert np.all(np.isfinite(a)), rel


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def n64(t):
    return t.detach().numpy().astype(np.float64)


def maxrel(a, ref):
    a = np.asarray(a, np.float64)
    ref = np.asarray(ref, np.float64)
    scale = np.abs(ref).max() if ref.size else 0.0
    diff = np.abs(a - ref).max() if ref.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def l2rel(a, ref):
    a = np.asarray(a, np.float64)
    ref = np.asarray(ref, np.float64)
    n = np.linalg.norm(ref)
    return float(np.linalg.norm(a - ref) / n) if n > 0 else float(np.linalg.norm(a - ref))


def worst(d):
    return max(d.values()) if d else 0.0


def f32(a):
    """float32 values, as a float32 engine loads the float64 files."""
    return np.asarray(a, dtype=np.float64).astype(np.float32)


# ---- sums: pairwise (NumPy) or one sequential float32 accumulator ("naive") ------------

def rsum(a, axes, naive):
    """Sum over `axes` (tuple); naive: one sequential accumulator in a's dtype."""
    if not naive:
        return a.sum(axis=axes)
    keep = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, keep + list(axes))
    flat = moved.reshape([a.shape[i] for i in keep] + [-1])
    return np.cumsum(flat, axis=-1, dtype=a.dtype)[..., -1]


def matmul(a, b, naive):
    """a (M, K) @ b (K, N); naive: acc += a*b sequentially over K."""
    if not naive:
        return a @ b
    return np.cumsum(a[:, :, None] * b[None, :, :], axis=1, dtype=a.dtype)[:, -1, :]


def central_fd(f, x, direction, h):
    return (f(x + h * direction) - f(x - h * direction)) / (2 * h)


# ======================================================================================
# Single-layer cases
# ======================================================================================

def case_global_avg_pool():
    name = "global_avg_pool"
    rng = np.random.default_rng(201)
    N, C, H, W = 2, 4, 17, 19
    # Channel offsets 3 +- 1: a float32 sum of 323 values near 3 shows accumulation error.
    x = rng.normal(size=(N, C, H, W)) + 3.0 + rng.uniform(-1, 1, size=(1, C, 1, 1))
    dy = rng.normal(size=(N, C))
    xt = t64(x).requires_grad_(True)
    y = xt.mean(dim=(2, 3))
    (y * t64(dy)).sum().backward()
    Y, DX = n64(y), n64(xt.grad)

    w = CaseWriter(os.path.join(LAYERS, name))
    w.save("x.npy", x)
    w.save("dy.npy", dy)
    w.save("y.npy", Y)
    w.save("dx.npy", DX)
    w.finish("layer.json", {
        "name": name, "type": "global_avg_pool", "spec": {"N": N, "C": C, "H": H, "W": W},
        "seed": 201, "dtype": "float64",
        "formula": "y[n,c] = mean_{h,w} x[n,c,h,w] = sum_{h,w} x[n,c,h,w] / (H*W); dx[n,c,h,w] = dy[n,c] / (H*W). No parameters.",
        "contents": "x [N,C,H,W]; y [N,C]; dy [N,C] random upstream gradient; dx = d<dy,y>/dx",
        "torch": "y = x.mean(dim=(2,3))",
        "tolerance": {"float32_max_rel": 1e-5, "float64_max_rel": 1e-10}})

    # Independent: math.fsum per plane; dx by broadcasting.
    y_ind = np.array([[math.fsum(x[n, c].ravel()) / (H * W) for c in range(C)] for n in range(N)])
    dx_ind = np.broadcast_to(dy[:, :, None, None] / (H * W), x.shape)
    m = {"numpy_float64_independent_vs_stored_max": max(maxrel(y_ind, Y), maxrel(dx_ind, DX))}
    # Finite differences of <dy, y(x)> along a random direction.
    d = rng.normal(size=x.shape)
    fd = central_fd(lambda v: float((v.mean(axis=(2, 3)) * dy).sum()), x, d, 1e-6)
    m["finite_differences_rel_err"] = abs(fd - (DX * d).sum()) / abs((DX * d).sum())
    # float32 variants.
    x32 = torch.tensor(f32(x), requires_grad=True)
    y32 = x32.mean(dim=(2, 3))
    (y32 * torch.tensor(f32(dy))).sum().backward()
    m["float32_torch_vs_ref"] = {"y": maxrel(n64(y32), Y), "dx": maxrel(n64(x32.grad), DX)}
    y_naive = rsum(f32(x), (2, 3), True) / np.float32(H * W)
    dx_naive = np.broadcast_to(f32(dy)[:, :, None, None] / np.float32(H * W), x.shape)
    m["float32_naive_seq_vs_ref"] = {"y": maxrel(y_naive, Y), "dx": maxrel(dx_naive, DX)}
    MEASURED["layers"][name] = m


def soft_targets_np(labels_a, labels_b, lam, smoothing, K):
    N = len(labels_a)
    t = np.zeros((N, K))
    for n in range(N):
        t[n, labels_a[n]] += lam[n]
        t[n, labels_b[n]] += 1.0 - lam[n]
    return (1.0 - smoothing) * t + smoothing / K


def soft_ce_np(z, target, dtype=np.float64, naive=False):
    """probs, mean loss, dlogits of softmax-CE with target distributions, in `dtype`."""
    z = z.astype(dtype)
    target = target.astype(dtype)
    N = z.shape[0]
    zmax = z.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = rsum(e, (1,), naive)[:, None]
    lse = np.log(s) + zmax
    probs = e / s
    per_row = rsum(target * (lse - z), (1,), naive)
    loss = rsum(per_row, (0,), naive) / dtype(N)
    dlogits = (probs - target) / dtype(N)
    return probs, loss, dlogits


def case_softmax_soft(name, seed, N, K, smoothing, mixup):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=(N, K))
    labels_a = rng.integers(0, K, size=N)
    if mixup:
        labels_b = rng.integers(0, K, size=N)
        labels_b[0] = labels_a[0]  # a pair of the same class
        # lambda in [0.5, 1] and exactly representable in float32 (the engine takes float)
        lam = f32(rng.uniform(0.5, 1.0, size=N)).astype(np.float64)
        lam[1], lam[2] = 1.0, 0.5
    else:
        labels_b, lam = labels_a.copy(), np.ones(N)
    zt = t64(z).requires_grad_(True)
    if mixup:
        target = t64(soft_targets_np(labels_a, labels_b, lam, smoothing, K))
        loss = F.cross_entropy(zt, target)  # probability targets: -sum_k t_k log softmax(z)_k, mean over rows
    else:
        loss = F.cross_entropy(zt, torch.tensor(labels_a), label_smoothing=smoothing)
    loss.backward()
    probs = n64(torch.softmax(zt.detach(), dim=1))
    L, DX = float(loss.item()), n64(zt.grad)

    w = CaseWriter(os.path.join(LAYERS, name))
    w.save("x.npy", z)
    w.save("labels_a.npy", labels_a, np.int64)
    if mixup:
        w.save("labels_b.npy", labels_b, np.int64)
        w.save("lambda.npy", lam)
    w.save("dy.npy", np.float64(1.0))
    w.save("y.npy", probs)
    w.save("loss.npy", np.float64(L))
    w.save("dx.npy", DX)
    torch_call = ("F.cross_entropy(logits, target_probs) with target_probs as in the formula (smoothing applied to the mixed one-hots)"
                  if mixup else f"F.cross_entropy(logits, labels_a, label_smoothing={smoothing})")
    w.finish("layer.json", {
        "name": name, "type": "softmax_crossentropy_soft",
        "spec": {"N": N, "classes": K, "label_smoothing": smoothing, "mixup": mixup},
        "seed": seed, "dtype": "float64",
        "formula": ("target[n,k] = (1-s)*(lambda[n]*[k==a[n]] + (1-lambda[n])*[k==b[n]]) + s/K with s = label_smoothing; "
                    "probs = softmax(logits) row-wise; loss = mean_n(logsumexp(logits[n]) - sum_k target[n,k]*logits[n,k]); "
                    "dlogits = (probs - target)/N. Without labels_b.npy / lambda.npy: b = a, lambda = 1 (smoothing only)."),
        "contents": ("x = logits [N,K]; labels_a int64 [N]" + ("; labels_b int64 [N] (mixup partner's label); lambda [N] "
                     "(weight of labels_a, in [0.5,1], exactly representable in float32)" if mixup else "") +
                     "; y = probs; loss (scalar); dy = 1.0; dx = d(loss)/d(logits)"),
        "torch": torch_call,
        "tolerance": {"float32_max_rel": 1e-5, "float64_max_rel": 1e-10}})

    target = soft_targets_np(labels_a, labels_b, lam, smoothing, K)
    p_i, l_i, dx_i = soft_ce_np(z, target)
    m = {"numpy_float64_independent_vs_stored_max": max(maxrel(p_i, probs), maxrel([l_i], [L]), maxrel(dx_i, DX))}
    # A second, independent form of the mixup loss: by linearity in the target,
    # lambda*CE_s(a) + (1-lambda)*CE_s(b) row by row (torch's own label smoothing).
    per_a = F.cross_entropy(t64(z), torch.tensor(labels_a), label_smoothing=smoothing, reduction="none")
    per_b = F.cross_entropy(t64(z), torch.tensor(labels_b), label_smoothing=smoothing, reduction="none")
    lin = float((t64(lam) * per_a + (1 - t64(lam)) * per_b).mean())
    m["loss_vs_linear_combination_of_smoothed_ce"] = abs(lin - L) / abs(L)
    # Finite differences of the loss, every logit.
    fd = np.zeros_like(z)
    for i in range(z.size):
        e = np.zeros(z.size)
        e[i] = 1.0
        fd.ravel()[i] = central_fd(lambda v: soft_ce_np(v, target)[1], z, e.reshape(z.shape), 1e-6)
    m["finite_differences_rel_err"] = maxrel(fd, DX)
    # float32.
    z32 = torch.tensor(f32(z), requires_grad=True)
    if mixup:
        l32 = F.cross_entropy(z32, torch.tensor(f32(target)))
    else:
        l32 = F.cross_entropy(z32, torch.tensor(labels_a), label_smoothing=smoothing)
    l32.backward()
    m["float32_torch_vs_ref"] = {"y": maxrel(n64(torch.softmax(z32.detach(), 1)), probs), "loss": maxrel([l32.item()], [L]),
                                 "dx": maxrel(n64(z32.grad), DX)}
    p_n, l_n, dx_n = soft_ce_np(f32(z), f32(target), np.float32, naive=True)
    m["float32_naive_seq_vs_ref"] = {"y": maxrel(p_n, probs), "loss": maxrel([l_n], [L]), "dx": maxrel(dx_n, DX)}
    MEASURED["layers"][name] = m


def adamw_np(w, g, m, v, lr, b1, b2, eps, wd, t, dtype=np.float64):
    """The engine's AdamW (Keras Adam with decoupled decay first), in `dtype`."""
    w, g, m, v = (np.asarray(a, dtype) for a in (w, g, m, v))
    c = lambda s: dtype(s)
    alpha = c(lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t))
    if wd != 0:
        w = w - w * c(lr * wd)
    m = m + (g - m) * c(1 - b1)
    v = v + (g * g - v) * c(1 - b2)
    w = w - alpha * m / (np.sqrt(v) + c(eps))
    return w, m, v


def adamw_torch(w, g, m, v, lr, b1, b2, eps, wd, t, dtype=torch.float64):
    """torch.optim.AdamW, one step at step t: state step t-1, eps/sqrt(1 - b2^t)."""
    p = torch.nn.Parameter(torch.tensor(np.asarray(w), dtype=dtype))
    p.grad = torch.tensor(np.asarray(g), dtype=dtype)
    opt = torch.optim.AdamW([p], lr=lr, betas=(b1, b2), eps=eps / math.sqrt(1 - b2 ** t), weight_decay=wd, foreach=False)
    st = opt.state[p]
    st["step"] = torch.tensor(float(t - 1))
    st["exp_avg"] = torch.tensor(np.asarray(m), dtype=dtype)
    st["exp_avg_sq"] = torch.tensor(np.asarray(v), dtype=dtype)
    opt.step()
    return n64(p), n64(st["exp_avg"]), n64(st["exp_avg_sq"])


def case_adamw(name, seed, t, lr, wd):
    rng = np.random.default_rng(seed)
    shape = (7, 5)
    b1, b2, eps = 0.9, 0.999, 1e-7
    w0 = rng.normal(scale=0.5, size=shape)
    g = rng.normal(scale=1e-2, size=shape)
    g[0, 0] = 0.0
    g[1, 2], g[3, 4], g[5, 1] = 1e-7, -3e-6, 2e-5  # tiny entries: epsilon matters
    if t == 1:
        m0, v0 = np.zeros(shape), np.zeros(shape)
    else:
        m0 = rng.normal(scale=5e-3, size=shape)
        v0 = (rng.normal(scale=1e-2, size=shape)) ** 2 + 1e-6 * rng.uniform(size=shape)
        v0[2, 3] = 0.0  # a never-seen element
    W, M, V = adamw_torch(w0, g, m0, v0, lr, b1, b2, eps, wd, t)

    wr = CaseWriter(os.path.join(LAYERS, name))
    for k, a in (("w", w0), ("g", g), ("m", m0), ("v", v0), ("w_new", W), ("m_new", M), ("v_new", V)):
        wr.save(k + ".npy", a)
    wr.finish("layer.json", {
        "name": name, "type": "adamw", "spec": {"shape": list(shape), "t": t}, "seed": seed, "dtype": "float64",
        "formula": ("AdamW (Keras 3 AdamW; decoupled weight decay first, then Keras Adam): w = w - w*(lr*weight_decay); "
                    "alpha = lr*sqrt(1-beta2^t)/(1-beta1^t); m = m + (g-m)*(1-beta1); v = v + (g*g-v)*(1-beta2); "
                    "w = w - alpha*m/(sqrt(v)+epsilon). lr is the rate of THIS step (a schedule's value)."),
        "adam": {"learning_rate": lr, "beta_1": b1, "beta_2": b2, "epsilon": eps, "weight_decay": wd, "t": t},
        "torch": ("torch.optim.AdamW(lr, betas, eps=epsilon/sqrt(1-beta2^t), weight_decay) with state step=t-1, "
                  "exp_avg=m, exp_avg_sq=v: one step() (the same update: torch adds its eps to sqrt(v)/sqrt(1-beta2^t))"),
        "note": "g has one exact zero and tiny (1e-7..2e-5) entries" + ("" if t == 1 else "; v has one exact zero"),
        "contents": "inputs w, g, m, v (state BEFORE the step) and t in layer.json; outputs w_new, m_new, v_new",
        "tolerance": {"float32_max_rel": 1e-5, "float64_max_rel": 1e-10}})

    Wi, Mi, Vi = adamw_np(w0, g, m0, v0, lr, b1, b2, eps, wd, t)
    m = {"numpy_float64_independent_vs_stored_max": max(maxrel(Wi, W), maxrel(Mi, M), maxrel(Vi, V)),
         "step_rel_err_independent": maxrel(Wi - w0, W - w0)}
    Wt, Mt, Vt = adamw_torch(f32(w0), f32(g), f32(m0), f32(v0), lr, b1, b2, eps, wd, t, torch.float32)
    m["float32_torch_vs_ref"] = {"w_new": maxrel(Wt, W), "m_new": maxrel(Mt, M), "v_new": maxrel(Vt, V)}
    Wn, Mn, Vn = adamw_np(f32(w0), f32(g), f32(m0), f32(v0), lr, b1, b2, eps, wd, t, np.float32)
    m["float32_naive_seq_vs_ref"] = {"w_new": maxrel(Wn, W), "m_new": maxrel(Mn, M), "v_new": maxrel(Vn, V)}
    MEASURED["layers"][name] = m


def onecycle_torch(max_lr, total, pct, div, final_div):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=max_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total, pct_start=pct,
                                                anneal_strategy="cos", cycle_momentum=False, div_factor=div,
                                                final_div_factor=final_div, three_phase=False)
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])  # the rate step s uses
        opt.step()
        sched.step()
    return np.array(lrs)


def onecycle_np(max_lr, total, pct, div, final_div):
    """Written from PyTorch's documentation, not its code: cosine up, cosine down."""
    initial = max_lr / div
    final = initial / final_div
    peak = pct * total - 1  # the step index where max_lr is reached (may be fractional)
    out = []
    for s in range(total):
        if s <= peak:
            frac, a, b = s / peak, initial, max_lr
        else:
            frac, a, b = (s - peak) / (total - 1 - peak), max_lr, final
        out.append(b + (a - b) * (1 + math.cos(math.pi * frac)) / 2)
    return np.array(out)


def case_onecycle(name, max_lr, total, pct, div, final_div):
    lrs = onecycle_torch(max_lr, total, pct, div, final_div)
    w = CaseWriter(os.path.join(LAYERS, name))
    w.save("lr.npy", lrs)
    w.finish("layer.json", {
        "name": name, "type": "onecycle_lr", "dtype": "float64",
        "spec": {"total_steps": total},
        "schedule": {"max_lr": max_lr, "total_steps": total, "pct_start": pct, "div_factor": div,
                     "final_div_factor": final_div, "anneal_strategy": "cos", "three_phase": False,
                     "cycle_momentum": False},
        "formula": ("lr[s] = the learning rate used by optimizer step s (0-based), s = 0..total_steps-1. initial = max_lr/div_factor, "
                    "final = initial/final_div_factor, e1 = pct_start*total_steps - 1, e2 = total_steps - 1; "
                    "s <= e1: lr = max_lr + (initial-max_lr)/2*(1+cos(pi*s/e1)); else lr = final + (max_lr-final)/2*(1+cos(pi*(s-e1)/(e2-e1)))."),
        "torch": ("torch.optim.lr_scheduler.OneCycleLR(SGD, max_lr, total_steps, pct_start, anneal_strategy='cos', "
                  "cycle_momentum=False, div_factor, final_div_factor, three_phase=False); lr[s] = param_groups[0]['lr'] "
                  "before the (s+1)-th optimizer.step()"),
        "contents": "lr [total_steps]",
        "tolerance": {"float64_per_element_rel": 1e-12,
                      "note": "compared element by element (|a-r|/|r|): the rates span 4-6 decades"}})
    ind = onecycle_np(max_lr, total, pct, div, final_div)
    per_elem = float(np.max(np.abs(ind - lrs) / np.abs(lrs)))
    lr32 = lrs.astype(np.float32).astype(np.float64)
    MEASURED["layers"][name] = {"numpy_float64_independent_vs_stored_max": maxrel(ind, lrs),
                                "numpy_float64_independent_per_element_rel": per_elem,
                                "float32_rounding_per_element_rel": float(np.max(np.abs(lr32 - lrs) / lrs)),
                                "lr_min": float(lrs.min()), "lr_max": float(lrs.max()),
                                "argmax": int(lrs.argmax())}


def warp_rows_torch(a, scale):
    """Band h reads source band h*scale, linearly interpolated; the top band repeats beyond."""
    H = a.shape[0]
    if scale == 1.0:
        return a
    row = torch.arange(H, dtype=torch.float64) * scale
    r0 = torch.clamp(torch.floor(row).long(), max=H - 1)
    r1 = torch.clamp(r0 + 1, max=H - 1)
    frac = torch.where(r0 >= H - 1, torch.zeros_like(row), row - r0.double())[:, None].to(a.dtype)
    return a[r0] * (1 - frac) + a[r1] * frac


def augment_torch(x, plan):
    """out[n] = lam*A_n + (1-lam)*A_partner, A_k = masked(warp(roll(x_k, shift_k along W)))."""
    xt = torch.tensor(x)
    N, _, H, W = x.shape
    A = []
    for n in range(N):
        a = torch.roll(xt[n, 0], shifts=int(plan["shift"][n]), dims=1)  # a[h, w] = x[h, (w - shift) mod W]
        a = warp_rows_torch(a, plan.get("band_scale", [1.0] * N)[n])
        keep = torch.ones(H, W, dtype=torch.bool)
        for s, wd in zip(plan["time_start"][n], plan["time_width"][n]):
            keep[:, s:s + wd] = False
        for s, wd in zip(plan["freq_start"][n], plan["freq_width"][n]):
            keep[s:s + wd, :] = False
        A.append(torch.where(keep, a, torch.zeros((), dtype=a.dtype)))
    out = torch.stack([plan["lambda"][n] * A[n] + (1 - plan["lambda"][n]) * A[plan["partner"][n]]
                       if plan["lambda"][n] != 1.0 else A[n] for n in range(N)])
    return out[:, None].numpy()


def augment_loops(x, plan, dtype=np.float64):
    """Pixel by pixel, as the header comment of engine/cpu/augment.h says (in `dtype`)."""
    N, _, H, W = x.shape
    x = x.astype(dtype)

    def A(k, h, w):
        for m in range(4):
            if plan["time_start"][k][m] <= w < plan["time_start"][k][m] + plan["time_width"][k][m]:
                return dtype(0)
            if plan["freq_start"][k][m] <= h < plan["freq_start"][k][m] + plan["freq_width"][k][m]:
                return dtype(0)
        c = (w - plan["shift"][k]) % W
        scale = plan.get("band_scale", [1.0] * N)[k]
        if scale == 1.0:
            return x[k, 0, h, c]
        row = dtype(h) * dtype(scale)
        r0 = int(np.floor(row))
        if r0 >= H - 1:
            return x[k, 0, H - 1, c]
        frac = row - dtype(r0)
        return x[k, 0, r0, c] * (dtype(1) - frac) + x[k, 0, r0 + 1, c] * frac

    out = np.zeros(x.shape, dtype)
    for n in range(N):
        lam = dtype(plan["lambda"][n])
        p = plan["partner"][n]
        for h in range(H):
            for w in range(W):
                out[n, 0, h, w] = A(n, h, w) if lam == 1 else lam * A(n, h, w) + (dtype(1) - lam) * A(p, h, w)
    return out


def case_augment():
    name = "augment"
    rng = np.random.default_rng(207)
    N, H, W = 4, 12, 16
    x = f32(rng.normal(size=(N, 1, H, W))).astype(np.float64)  # float32-exact: the op is float32
    lam = [float(np.float32(0.7)), 1.0, 0.5, float(np.float32(0.55))]
    plan = {
        # sample 0: shift 3, one time mask [2,5), one frequency mask at the top edge [0,2), mixed with 2
        # sample 1: nothing: its own image (lambda 1, itself as partner)
        # sample 2: shift W-1, two overlapping time masks reaching the right edge, two frequency masks, mixed with 0
        # sample 3: shift 8, an unused width-0 time mask, four frequency masks (one reaching the bottom edge), mixed with 1
        "shift": [3, 0, W - 1, 8],
        "time_start": [[2, 0, 0, 0], [0, 0, 0, 0], [10, 12, 0, 0], [7, 0, 0, 0]],
        "time_width": [[3, 0, 0, 0], [0, 0, 0, 0], [4, 4, 0, 0], [0, 0, 0, 0]],
        "freq_start": [[0, 0, 0, 0], [0, 0, 0, 0], [5, 11, 0, 0], [1, 3, 6, 10]],
        "freq_width": [[2, 0, 0, 0], [0, 0, 0, 0], [3, 1, 0, 0], [1, 2, 1, 2]],
        "partner": [2, 1, 0, 1],
        "lambda": lam,
    }
    Y = augment_torch(x, plan)
    w = CaseWriter(os.path.join(LAYERS, name))
    w.save("x.npy", x)
    for k in ("shift", "partner"):
        w.save(f"plan/{k}.npy", plan[k], np.int64)
    for k in ("time_start", "time_width", "freq_start", "freq_width"):
        w.save(f"plan/{k}.npy", plan[k], np.int64)
    w.save("plan/lambda.npy", plan["lambda"])
    w.save("y.npy", Y)
    w.finish("layer.json", {
        "name": name, "type": "augment", "spec": {"N": N, "H": H, "W": W, "max_masks": 4}, "seed": 207, "dtype": "float64",
        "formula": ("A_k(h,w) = 0 if h in [freq_start, freq_start+freq_width) or w in [time_start, time_start+time_width) of any of "
                    "sample k's masks, else x[k,0,h,(w - shift_k) mod W]; y[n,0,h,w] = lambda_n*A_n(h,w) + (1-lambda_n)*A_{partner_n}(h,w) "
                    "(lambda_n = 1: A_n(h,w)). H = mel bands (frequency), W = frames (time)."),
        "contents": ("x [N,1,H,W] (float32-exact values); plan/shift [N], plan/partner [N] (row of the batch), "
                     "plan/time_start, time_width, freq_start, freq_width [N,4] (width 0 = unused), plan/lambda [N] "
                     "(float32-exact); y [N,1,H,W]. No backward (the op acts on the data)."),
        "torch": "torch.roll(x[n,0], shifts=shift_n, dims=1), masks by slicing, then the lambda mix",
        "tolerance": {"float32_max_rel": 1e-5, "note": "the op exists in float32 only"}})
    ind = augment_loops(x, plan)
    n32 = augment_loops(x, plan, np.float32)
    t32 = augment_torch(x.astype(np.float32), plan)  # lambda and 1 - lambda are float32-exact
    MEASURED["layers"][name] = {"numpy_float64_independent_vs_stored_max": maxrel(ind, Y),
                                "float32_torch_vs_ref": {"y": maxrel(t32, Y)},
                                "float32_naive_seq_vs_ref": {"y": maxrel(n32, Y)},
                                "masked_pixels": int((Y == 0).sum())}


def case_augment_warp():
    """The frequency warp (plan/band_scale) with shift, masks and mixup."""
    name = "augment_warp"
    rng = np.random.default_rng(212)
    N, H, W = 3, 12, 10
    x = f32(rng.normal(size=(N, 1, H, W))).astype(np.float64)
    scale = [float(np.float32(1 / 1.1)), 1.25, float(np.float32(1 / 0.93))]  # float32-exact, as stored in the plan
    plan = {
        # sample 0: bands stretched (scale < 1), shift 2, one time mask, mixed with 1
        # sample 1: bands squeezed (scale 1.25: bands from 9 up read the top band), one frequency mask
        # sample 2: scale > 1, no mask, its own image
        "shift": [2, 0, 5],
        "time_start": [[4, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        "time_width": [[2, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        "freq_start": [[0, 0, 0, 0], [3, 0, 0, 0], [0, 0, 0, 0]],
        "freq_width": [[0, 0, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0]],
        "partner": [1, 1, 2],
        "lambda": [float(np.float32(0.6)), 1.0, 1.0],
        "band_scale": scale,
    }
    Y = augment_torch(x, plan)
    w = CaseWriter(os.path.join(LAYERS, name))
    w.save("x.npy", x)
    for k in ("shift", "partner", "time_start", "time_width", "freq_start", "freq_width"):
        w.save(f"plan/{k}.npy", plan[k], np.int64)
    w.save("plan/lambda.npy", plan["lambda"])
    w.save("plan/band_scale.npy", plan["band_scale"])
    w.save("y.npy", Y)
    w.finish("layer.json", {
        "name": name, "type": "augment", "spec": {"N": N, "H": H, "W": W, "max_masks": 4}, "seed": 212, "dtype": "float64",
        "formula": ("As the augment case, with X_k(r, c) for x[k,0,h,c]: band r = h*band_scale_k read by linear interpolation "
                    "between bands floor(r) and floor(r)+1, the top band H-1 for r >= H-1."),
        "contents": "as the augment case, plus plan/band_scale [N] (float32-exact)",
        "torch": "rows gathered at floor(h*s) and floor(h*s)+1 and blended, after torch.roll",
        "tolerance": {"float32_max_rel": 1e-5, "note": "the op exists in float32 only; the engine rounds h*s in float32"}})
    ind = augment_loops(x, plan)
    n32 = augment_loops(x, plan, np.float32)
    t32 = augment_torch(x.astype(np.float32), plan)
    MEASURED["layers"][name] = {"numpy_float64_independent_vs_stored_max": maxrel(ind, Y),
                                "float32_torch_vs_ref": {"y": maxrel(t32, Y)},
                                "float32_naive_seq_vs_ref": {"y": maxrel(n32, Y)},
                                "masked_pixels": int((Y == 0).sum())}


# ======================================================================================
# Whole-network cases (the robust architecture)
# ======================================================================================

def block_layers(arch):
    """Layer names in order, as engine/nn/network.cpp builds them."""
    names = []
    for i in range(1, len(arch["conv_channels"]) + 1):
        inner = [f"relu{i}", f"bn{i}"] if arch["block"] == "conv-relu-bn" else [f"bn{i}", f"relu{i}"]
        names += [f"conv{i}"] + inner + [f"pool{i}"]
    return names + ["gap", "out"]


def init_params(arch, rng):
    p = {}
    cin = arch["in_channels"]
    for i, cout in enumerate(arch["conv_channels"], 1):
        lim = math.sqrt(6.0 / (cin * 9 + cout * 9))
        p[f"conv{i}.weight"] = rng.uniform(-lim, lim, size=(cout, cin, 3, 3))
        p[f"conv{i}.bias"] = rng.uniform(-0.1, 0.1, size=cout)
        p[f"bn{i}.gamma"] = rng.uniform(0.5, 1.5, size=cout)
        p[f"bn{i}.beta"] = rng.uniform(-0.5, 0.5, size=cout)
        p[f"bn{i}.moving_mean"] = rng.uniform(0, 1, size=cout)
        p[f"bn{i}.moving_var"] = rng.uniform(0.5, 2, size=cout)
        cin = cout
    lim = math.sqrt(6.0 / (cin + arch["classes"]))
    p["out.weight"] = rng.uniform(-lim, lim, size=(arch["classes"], cin))
    p["out.bias"] = rng.uniform(-0.1, 0.1, size=arch["classes"])
    return p


def trainable(name):
    return not name.endswith("moving_mean") and not name.endswith("moving_var")


# ---- PyTorch (the reference) --------------------------------------------------------------

def torch_forward(arch, P, x, mode, acts=None):
    """P: name -> tensor. Train: BN batch statistics (biased var). acts: dict to fill."""
    eps = arch["bn_eps"]
    h = x
    stats = {}
    for name in block_layers(arch):
        kind = name.rstrip("0123456789")
        if kind == "conv":
            h = F.conv2d(h, P[name + ".weight"], P[name + ".bias"])
        elif kind == "relu":
            h = torch.relu(h)
        elif kind == "bn":
            if mode == "train":
                mu = h.mean(dim=(0, 2, 3))
                var = ((h - mu[None, :, None, None]) ** 2).mean(dim=(0, 2, 3))
                stats[name] = (mu, var)
            else:
                mu, var = P[name + ".moving_mean"], P[name + ".moving_var"]
            h = (h - mu[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + eps)
            h = P[name + ".gamma"][None, :, None, None] * h + P[name + ".beta"][None, :, None, None]
        elif kind == "pool":
            h = F.max_pool2d(h, 2, 2)
        elif kind == "gap":
            h = h.mean(dim=(2, 3))
        elif kind == "out":
            h = F.linear(h, P["out.weight"], P["out.bias"])
        if acts is not None:
            if h.requires_grad:
                h.retain_grad()
            acts["logits" if name == "out" else name + "_out"] = h
    return h, stats


def torch_step(arch, params, x, labels, dtype=torch.float64):
    """Forward (train), loss, backward: returns dict of numpy results."""
    P = {k: torch.tensor(v, dtype=dtype, requires_grad=trainable(k)) for k, v in params.items()}
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    acts = {}
    logits, stats = torch_forward(arch, P, xt, "train", acts)
    loss = F.cross_entropy(logits, torch.tensor(labels), label_smoothing=arch["label_smoothing"])
    loss.backward()
    out = {"logits": n64(logits), "probs": n64(torch.softmax(logits.detach(), 1)), "loss": float(loss.item()),
           "input_grad": n64(xt.grad),
           "grads": {k: n64(t.grad) for k, t in P.items() if trainable(k)},
           "acts": {k: n64(t) for k, t in acts.items()},
           "act_grads": {k: n64(t.grad) for k, t in acts.items() if t.grad is not None},
           "stats": {k: (n64(m), n64(v)) for k, (m, v) in stats.items()}}
    with torch.no_grad():
        Pe = {k: torch.tensor(v, dtype=dtype) for k, v in params.items()}
        ev, _ = torch_forward(arch, Pe, torch.tensor(x, dtype=dtype), "eval")
        out["eval_logits"] = n64(ev)
        out["eval_probs"] = n64(torch.softmax(ev, 1))
    return out


# ---- NumPy (independent; float64 or float32, pairwise or naive sums) ----------------------

def im2col(x):
    N, C, H, W = x.shape
    Ho, Wo = H - 2, W - 2
    cols = np.empty((N, Ho, Wo, C, 3, 3), x.dtype)
    for kh in range(3):
        for kw in range(3):
            cols[:, :, :, :, kh, kw] = x[:, :, kh:kh + Ho, kw:kw + Wo].transpose(0, 2, 3, 1)
    return cols.reshape(N * Ho * Wo, C * 9)


def col2im(dcols, shape):
    N, C, H, W = shape
    Ho, Wo = H - 2, W - 2
    d = dcols.reshape(N, Ho, Wo, C, 3, 3)
    dx = np.zeros(shape, dcols.dtype)
    for kh in range(3):
        for kw in range(3):
            dx[:, :, kh:kh + Ho, kw:kw + Wo] += d[:, :, :, :, kh, kw].transpose(0, 3, 1, 2)
    return dx


def numpy_step(arch, params, x, labels, dtype=np.float64, naive=False):
    """The whole training step by hand: forward, soft-target loss, backward, eval forward."""
    dt = dtype
    P = {k: np.asarray(v, np.float64).astype(dt) for k, v in params.items()}
    eps = dt(arch["bn_eps"])
    names = block_layers(arch)
    cache, acts, stats = {}, {}, {}
    h = np.asarray(x, np.float64).astype(dt)

    def forward(h, mode, record):
        for name in names:
            kind = name.rstrip("0123456789")
            if kind == "conv":
                N, C, H, W = h.shape
                cols = im2col(h)
                Wm = P[name + ".weight"].reshape(P[name + ".weight"].shape[0], -1)
                y = matmul(cols, Wm.T, naive) + P[name + ".bias"][None, :]
                if record:
                    cache[name] = (cols, h.shape)
                h = y.reshape(N, H - 2, W - 2, -1).transpose(0, 3, 1, 2).copy()
            elif kind == "relu":
                if record:
                    cache[name] = h > 0
                h = np.maximum(h, dt(0))
            elif kind == "bn":
                C = h.shape[1]
                M = h.shape[0] * h.shape[2] * h.shape[3]
                if mode == "train":
                    mu = rsum(h, (0, 2, 3), naive) / dt(M)
                    var = rsum((h - mu[None, :, None, None]) ** 2, (0, 2, 3), naive) / dt(M)
                    if record:
                        stats[name] = (mu, var)
                else:
                    mu, var = P[name + ".moving_mean"], P[name + ".moving_var"]
                inv = dt(1) / np.sqrt(var + eps)
                xhat = (h - mu[None, :, None, None]) * inv[None, :, None, None]
                if record:
                    cache[name] = (xhat, inv, M)
                h = P[name + ".gamma"][None, :, None, None] * xhat + P[name + ".beta"][None, :, None, None]
            elif kind == "pool":
                N, C, H, W = h.shape
                Ho, Wo = H // 2, W // 2
                win = np.stack([h[:, :, 0:2 * Ho:2, 0:2 * Wo:2], h[:, :, 0:2 * Ho:2, 1:2 * Wo:2],
                                h[:, :, 1:2 * Ho:2, 0:2 * Wo:2], h[:, :, 1:2 * Ho:2, 1:2 * Wo:2]], axis=-1)
                arg = np.argmax(win, axis=-1)  # first maximum in row-major window order
                if record:
                    cache[name] = (arg, h.shape)
                h = np.take_along_axis(win, arg[..., None], -1)[..., 0]
            elif kind == "gap":
                hw = h.shape[2] * h.shape[3]
                if record:
                    cache[name] = h.shape
                h = rsum(h, (2, 3), naive) / dt(hw)
            elif kind == "out":
                if record:
                    cache[name] = h
                h = matmul(h, P["out.weight"].T, naive) + P["out.bias"][None, :]
            if record:
                acts["logits" if name == "out" else name + "_out"] = h
        return h

    logits = forward(h, "train", True)
    N, K = logits.shape
    lab = np.asarray(labels)
    target = soft_targets_np(lab, lab, np.ones(N), arch["label_smoothing"], K)
    probs, loss, dh = soft_ce_np(logits, target, dt, naive)
    grads, act_grads = {}, {"logits": dh}
    for name in reversed(names):
        kind = name.rstrip("0123456789")
        if kind == "out":
            xin = cache[name]
            grads["out.weight"] = matmul(dh.T, xin, naive)
            grads["out.bias"] = rsum(dh, (0,), naive)
            dh = matmul(dh, P["out.weight"], naive)
        elif kind == "gap":
            shape = cache[name]
            dh = np.broadcast_to((dh / dt(shape[2] * shape[3]))[:, :, None, None], shape).copy()
        elif kind == "pool":
            arg, shape = cache[name]
            N_, C_, H_, W_ = shape
            Ho, Wo = H_ // 2, W_ // 2
            dx = np.zeros(shape, dt)
            for k, (r, c) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
                dx[:, :, r:2 * Ho:2, c:2 * Wo:2] += np.where(arg == k, dh, dt(0))
            dh = dx
        elif kind == "bn":
            xhat, inv, M = cache[name]
            dbeta = rsum(dh, (0, 2, 3), naive)
            dgamma = rsum(dh * xhat, (0, 2, 3), naive)
            grads[name + ".beta"], grads[name + ".gamma"] = dbeta, dgamma
            g = P[name + ".gamma"]
            dh = (g * inv)[None, :, None, None] * (dh - (dbeta / dt(M))[None, :, None, None]
                                                   - xhat * (dgamma / dt(M))[None, :, None, None])
        elif kind == "relu":
            dh = np.where(cache[name], dh, dt(0))
        elif kind == "conv":
            cols, shape = cache[name]
            Cout = P[name + ".weight"].shape[0]
            dmat = dh.transpose(0, 2, 3, 1).reshape(-1, Cout)
            grads[name + ".weight"] = matmul(dmat.T, cols, naive).reshape(P[name + ".weight"].shape)
            grads[name + ".bias"] = rsum(dmat, (0,), naive)
            dh = col2im(matmul(dmat, P[name + ".weight"].reshape(Cout, -1), naive), shape)
        act_grads[name + "_out" if name != "out" else "logits_in"] = dh
    # act_grads[name_out] must be d/d(output of name): shift by one layer.
    out_grads = {"logits": act_grads["logits"]}
    for prev, nxt in zip(names[:-1], names[1:]):
        out_grads[prev + "_out"] = act_grads[nxt + "_out" if nxt != "out" else "logits_in"]
    eval_logits = forward(np.asarray(x, np.float64).astype(dt), "eval", False)
    ez = eval_logits - eval_logits.max(axis=1, keepdims=True)
    eval_probs = np.exp(ez) / rsum(np.exp(ez), (1,), naive)[:, None]
    return {"logits": logits, "probs": probs, "loss": loss, "input_grad": dh, "grads": grads, "acts": acts,
            "act_grads": out_grads, "stats": stats, "eval_logits": eval_logits, "eval_probs": eval_probs}


def moving_after(arch, params, stats, dtype=np.float64):
    mom = dtype(arch["bn_momentum"])
    out = {}
    for name, (mu, var) in stats.items():
        out[name + ".moving_mean"] = np.asarray(params[name + ".moving_mean"], dtype) * mom + np.asarray(mu, dtype) * (dtype(1) - mom)
        out[name + ".moving_var"] = np.asarray(params[name + ".moving_var"], dtype) * mom + np.asarray(var, dtype) * (dtype(1) - mom)
    return out


def conditioning(arch, acts):
    """Near-kink counts of the float64 reference per block (README 'Non-smooth points')."""
    out = {}
    for i in range(1, len(arch["conv_channels"]) + 1):
        pre = acts[f"conv{i}_out"] if arch["block"] == "conv-relu-bn" else acts[f"bn{i}_out"]
        pool_in = acts[f"bn{i}_out"] if arch["block"] == "conv-relu-bn" else acts[f"relu{i}_out"]
        N, C, H, W = pool_in.shape
        Ho, Wo = H // 2, W // 2
        win = np.stack([pool_in[:, :, 0:2 * Ho:2, 0:2 * Wo:2], pool_in[:, :, 0:2 * Ho:2, 1:2 * Wo:2],
                        pool_in[:, :, 1:2 * Ho:2, 0:2 * Wo:2], pool_in[:, :, 1:2 * Ho:2, 1:2 * Wo:2]], axis=-1)
        s = np.sort(win, axis=-1)
        gap = s[..., 3] - s[..., 2]
        d = {"relu_inputs": int(pre.size), "pool_windows": int(gap.size), "pool_windows_exact_tie": int((gap == 0).sum())}
        for tau in (1e-6, 1e-5, 1e-4):
            d[f"relu_in_abs_below_{tau:g}_of_max"] = int((np.abs(pre) < tau * np.abs(pre).max()).sum())
            d[f"pool_top2_gap_below_{tau:g}_of_max"] = int(((gap > 0) & (gap < tau * np.abs(pool_in).max())).sum())
        out[f"block{i}"] = d
    return out


def flips(arch, acts, ref_acts):
    """ReLU decisions and pool winners that differ from the float64 reference, per block."""
    relu, pool = [], []
    for i in range(1, len(arch["conv_channels"]) + 1):
        key = f"conv{i}_out" if arch["block"] == "conv-relu-bn" else f"bn{i}_out"
        relu.append(int(((acts[key] > 0) != (ref_acts[key] > 0)).sum()))
        pin = f"bn{i}_out" if arch["block"] == "conv-relu-bn" else f"relu{i}_out"

        def winners(a):
            N, C, H, W = a.shape
            Ho, Wo = H // 2, W // 2
            win = np.stack([a[:, :, 0:2 * Ho:2, 0:2 * Wo:2], a[:, :, 0:2 * Ho:2, 1:2 * Wo:2],
                            a[:, :, 1:2 * Ho:2, 0:2 * Wo:2], a[:, :, 1:2 * Ho:2, 1:2 * Wo:2]], axis=-1)
            s = np.sort(win, axis=-1)
            return np.argmax(win, axis=-1), s[..., 3] == s[..., 2]
        w, tied = winners(acts[pin])
        wr, tied_r = winners(ref_acts[pin])
        pool.append(int(((w != wr) & ~tied_r).sum()))
    return {"relu": relu, "pool": pool}


def make_net_case(name, seed, arch, batch, adam, stored_acts, stored_act_grads, description):
    rng = np.random.default_rng(seed)
    params = init_params(arch, rng)
    x = rng.normal(size=(batch, arch["in_channels"], arch["height"], arch["width"]))
    labels = rng.integers(0, arch["classes"], size=batch)
    ref = torch_step(arch, params, x, labels)
    names = block_layers(arch)
    # conv-bn-relu: BN right after the conv removes any per-channel shift, so d(loss)/d(conv bias)
    # is exactly 0; PyTorch returns rounding noise (~1e-17), stored as the exact 0.
    zero_grads = [f"conv{i}.bias" for i in range(1, len(arch["conv_channels"]) + 1)] if arch["block"] == "conv-bn-relu" else []
    gmax = max(np.abs(g).max() for g in ref["grads"].values())
    for k in zero_grads:
        assert np.abs(ref["grads"][k]).max() < 1e-14 * gmax, (k, np.abs(ref["grads"][k]).max())
        ref["grads"][k] = np.zeros_like(ref["grads"][k])

    # The optimizer step: AdamW at step t of the schedule, moments at t-1 (t > 1).
    t = adam["t"]
    lr_t = adam["lr_t"]
    mom = {}
    if t > 1:
        for k, g in ref["grads"].items():
            scale = float(np.sqrt(np.mean(g ** 2)))
            mom[k] = (0.5 * scale * rng.normal(size=g.shape), (scale * rng.uniform(0.5, 1.5, size=g.shape)) ** 2)
    after = {}
    for k, g in ref["grads"].items():
        m0, v0 = mom.get(k, (np.zeros_like(g), np.zeros_like(g)))
        after[k] = adamw_torch(params[k], g, m0, v0, lr_t, adam["beta_1"], adam["beta_2"], adam["epsilon"],
                               adam["weight_decay"], t)[0]
    after.update(moving_after(arch, params, ref["stats"]))

    w = CaseWriter(os.path.join(HERE, name))
    for k, v in params.items():
        w.save(f"params/{k}.npy", v)
    w.save("input.npy", x)
    w.save("labels.npy", labels, np.int64)
    w.save("logits.npy", ref["logits"])
    w.save("probs.npy", ref["probs"])
    w.save("loss.npy", np.float64(ref["loss"]))
    for k, v in ref["grads"].items():
        w.save(f"grads/{k}.npy", v)
    w.save("input_grad.npy", ref["input_grad"])
    for k, v in after.items():
        w.save(f"after_step/{k}.npy", v)
    for k, (m0, v0) in mom.items():
        w.save(f"adam_state/m/{k}.npy", m0)
        w.save(f"adam_state/v/{k}.npy", v0)
    w.save("eval_logits.npy", ref["eval_logits"])
    w.save("eval_probs.npy", ref["eval_probs"])
    for k in stored_acts:
        if k.endswith("_batch_mean") or k.endswith("_batch_var"):
            bn = k.split("_batch_")[0]
            w.save(f"activations/{k}.npy", ref["stats"][bn][0 if k.endswith("mean") else 1])
        else:
            w.save(f"activations/{k}.npy", ref["acts"][k])
    for k in stored_act_grads:
        w.save(f"activation_grads/{k}.npy", ref["act_grads"][k])

    cond = conditioning(arch, ref["acts"])
    order = ("conv -> +bias -> ReLU -> BatchNorm -> MaxPool" if arch["block"] == "conv-relu-bn"
             else "conv -> +bias -> BatchNorm -> ReLU -> MaxPool")
    adam_json = {"learning_rate": adam["max_lr"], "beta_1": adam["beta_1"], "beta_2": adam["beta_2"],
                 "epsilon": adam["epsilon"], "weight_decay": adam["weight_decay"], "t": t, "lr_t": lr_t}
    if adam.get("schedule"):
        adam_json["schedule"] = adam["schedule"]
    adam_json["state"] = ("adam_state/m, adam_state/v: the moments after step t-1 (drawn: m ~ 0.5*rms(g)*N(0,1), "
                          "v ~ (rms(g)*U(0.5,1.5))^2 per tensor)" if t > 1 else "t = 1: zero moments (no adam_state/)")
    adam_json["formula"] = ("AdamW at step t with the rate lr_t of that step (schedule.lr_at(t-1)): w = w - w*(lr_t*weight_decay); "
                            "alpha = lr_t*sqrt(1-beta2^t)/(1-beta1^t); m = m + (g-m)*(1-beta1); v = v + (g*g-v)*(1-beta2); "
                            "w = w - alpha*m/(sqrt(v)+epsilon)")
    adam_json["torch"] = ("torch.optim.AdamW(lr=lr_t, betas, eps=epsilon/sqrt(1-beta2^t), weight_decay) with state "
                          "step=t-1, exp_avg=m, exp_avg_sq=v")
    meta = {
        "name": name, "description": description,
        "input_shape": list(x.shape), "layout": "NCHW", "batch_size": batch,
        "conv_channels": arch["conv_channels"],
        "conv": {"kernel": [3, 3], "stride": 1, "padding": "valid", "bias": True, "order": order},
        "block": arch["block"], "head": "gap",
        "pool": {"size": [2, 2], "stride": 2, "rounding": "floor",
                 "tie_break": "first max in row-major window order"},
        "gap": "y[n,c] = mean_{h,w} pool_last[n,c,h,w] (activation gap_out)",
        "flatten_features": arch["conv_channels"][-1],
        "dense_units": [], "classes": arch["classes"],
        "dropout_rate": 0.5, "dropout_note": "unused: no dense layers before the output layer, so no dropout layers",
        "batchnorm": {"epsilon": arch["bn_eps"], "momentum": arch["bn_momentum"], "reduce_axes": [0, 2, 3],
                      "variance": "biased (divide by N*H*W) for normalisation AND moving_var update",
                      "moving_update": f"moving = moving*{arch['bn_momentum']} + batch*(1-{arch['bn_momentum']})"},
        "loss": {"type": "softmax_crossentropy_soft", "label_smoothing": arch["label_smoothing"],
                 "formula": "target = (1-s)*onehot(label) + s/K; loss = mean_n(logsumexp(z[n]) - sum_k target[n,k]*z[n,k]); "
                            "dlogits = (probs - target)/N",
                 "torch": f"F.cross_entropy(logits, labels, label_smoothing={arch['label_smoothing']})"},
        "adam": adam_json,
        "seed": seed,
        "init": {"conv/dense weight": "Glorot uniform", "conv/dense bias": "U(-0.1,0.1)", "bn.gamma": "U(0.5,1.5)",
                 "bn.beta": "U(-0.5,0.5)", "bn.moving_mean": "U(0,1)", "bn.moving_var": "U(0.5,2)",
                 "input": "N(0,1)", "labels": "uniform int in [0,classes)",
                 "generator": "numpy default_rng(seed) (PCG64)"},
        "dtype": "float64", "compute_dtype": "float64",
        "layer_order": names,
        "conditioning": cond,
        "conditioning_note": ("float64 reference, per block: ReLU inputs (conv out for conv-relu-bn, bn out for conv-bn-relu) "
                              "whose |value| is below tau*max, and non-tied max-pool windows whose top-2 gap is below tau*max|pool input|."),
        "param_shapes": {k: list(v.shape) for k, v in params.items()},
        "activations": ("activations/: a subset of the layer outputs (<layer>_out, logits) and every bn{i}_batch_mean / "
                        "bn{i}_batch_var (biased); the first blocks' large maps are not stored to keep the case small"),
        "activation_grads": ("activation_grads/: d(loss)/d(<layer>_out) for outputs whose gradient does not depend on the "
                             "max-pool tie rule (not the pool's input nor, for conv-relu-bn, the ReLU output)"),
        "eval": "eval_logits/eval_probs: inference mode, BN with the ORIGINAL params/bn*.moving_*",
        "after_step": "every trainable after ONE AdamW step (see adam) + BN moving stats updated from this batch",
    }
    if zero_grads:
        meta["zero_gradients"] = (f"grads/{{{','.join(zero_grads)}}} are exactly 0 (BN follows the conv and removes the bias); "
                                  "max-norm relative errors against them are absolute errors (0/0 counts as exact)")
    w.finish("net.json", meta)

    # ---- checks ----
    m = {"files_bytes": sum(os.path.getsize(os.path.join(w.folder, rel)) for rel in w.files)}
    ind = numpy_step(arch, params, x, labels)
    errs = {}
    for k in ("logits", "probs", "input_grad", "eval_logits", "eval_probs"):
        errs[k] = maxrel(ind[k], ref[k])
    errs["loss"] = maxrel([ind["loss"]], [ref["loss"]])
    for k in ref["grads"]:
        errs["grads/" + k] = maxrel(ind["grads"][k], ref["grads"][k])
    for k in ref["acts"]:
        errs["activations/" + k] = maxrel(ind["acts"][k], ref["acts"][k])
    for k in stored_act_grads:
        errs["activation_grads/" + k] = maxrel(ind["act_grads"][k], ref["act_grads"][k])
    ind_after = moving_after(arch, params, ind["stats"])
    for k, g in ref["grads"].items():
        m0, v0 = mom.get(k, (np.zeros_like(g), np.zeros_like(g)))
        ind_after[k] = adamw_np(params[k], ind["grads"][k], m0, v0, lr_t, adam["beta_1"], adam["beta_2"], adam["epsilon"],
                                adam["weight_decay"], t)[0]
    for k in after:
        errs["after_step/" + k] = maxrel(ind_after[k], after[k])
    m["numpy_float64_independent_vs_stored_max"] = worst(errs)
    m["numpy_float64_independent_worst"] = max(errs, key=errs.get)
    m["probs_rowsum_maxdev"] = float(np.abs(ref["probs"].sum(1) - 1).max())
    m["conditioning"] = cond

    # Finite differences of the loss (float64, train mode) along a random direction per tensor,
    # and at each tensor's largest-gradient entry; best of three steps.
    def loss_at(pdict, xin):
        with torch.no_grad():
            P = {k: torch.tensor(v) for k, v in pdict.items()}
            z, _ = torch_forward(arch, P, torch.tensor(xin), "train")
            return float(F.cross_entropy(z, torch.tensor(labels), label_smoothing=arch["label_smoothing"]))
    fd = {}
    for k in zero_grads:  # the loss does not depend on these at all
        d = rng.normal(size=params[k].shape)
        fd[k] = {"zero_gradient_fd_abs": abs(central_fd(lambda v: loss_at({**params, k: v}, x), params[k], d, 1e-6))}
    for k in [k for k in ref["grads"] if k not in zero_grads] + ["input"]:
        g = ref["input_grad"] if k == "input" else ref["grads"][k]
        base = x if k == "input" else params[k]
        d = rng.normal(size=g.shape)
        e = np.zeros(g.shape)
        e.ravel()[np.argmax(np.abs(g))] = 1.0
        best_dir, best_ent = np.inf, np.inf
        for h in (1e-6, 1e-7, 1e-8):
            def f(v):
                return loss_at(params, v) if k == "input" else loss_at({**params, k: v}, x)
            an = float((g * d).sum())
            best_dir = min(best_dir, abs(central_fd(f, base, d, h) - an) / abs(an))
            an_e = float((g * e).sum())
            best_ent = min(best_ent, abs(central_fd(f, base, e, h) - an_e) / abs(an_e))
        fd[k] = {"direction_rel_err": best_dir, "max_entry_rel_err": best_ent}
    m["finite_differences"] = fd
    m["finite_differences_worst"] = {"direction": max(v.get("direction_rel_err", 0) for v in fd.values()),
                                     "max_entry": max(v.get("max_entry_rel_err", 0) for v in fd.values())}

    # ---- float32 variants: errors grouped like the README's network table ----
    def groups(res, after_res):
        gr, gl2 = {}, {}

        def put(group, key, a, r):
            gr.setdefault(group, {})[key] = maxrel(a, r)
            gl2.setdefault(group, {})[key] = l2rel(a, r)
        for k, a in res["acts"].items():
            if k == "logits":
                continue
            put("activations", k, a, ref["acts"][k])
        for bn, (mu, var) in res["stats"].items():
            put("batch_stats", bn + "_batch_mean", mu, ref["stats"][bn][0])
            put("batch_stats", bn + "_batch_var", var, ref["stats"][bn][1])
        put("logits_probs", "logits", res["logits"], ref["logits"])
        put("logits_probs", "probs", res["probs"], ref["probs"])
        put("eval", "eval_logits", res["eval_logits"], ref["eval_logits"])
        put("eval", "eval_probs", res["eval_probs"], ref["eval_probs"])
        put("loss", "loss", [res["loss"]], [ref["loss"]])
        for k in ref["grads"]:
            put("grads", k, res["grads"][k], ref["grads"][k])
        put("input_grad", "input_grad", res["input_grad"], ref["input_grad"])
        for k in stored_act_grads:
            put("activation_grads", k, res["act_grads"][k], ref["act_grads"][k])
        for k in after:
            if not trainable(k):
                put("moving_stats", k, after_res[k], after[k])
        # AdamW: plain after_step error (informative) and the end-to-end criterion: the float32
        # step against the float64 AdamW update evaluated at the float32 run's OWN gradient.
        crit, plain = {}, {}
        for k in ref["grads"]:
            m0, v0 = mom.get(k, (np.zeros_like(ref["grads"][k]), np.zeros_like(ref["grads"][k])))
            w32 = after_res[k]
            plain[k] = maxrel(w32, after[k])
            w0 = f32(params[k]).astype(np.float64)
            exp = adamw_np(w0, np.asarray(res["grads"][k], np.float64), f32(m0).astype(np.float64),
                           f32(v0).astype(np.float64), lr_t, adam["beta_1"], adam["beta_2"], adam["epsilon"],
                           adam["weight_decay"], t)[0]
            step = np.abs(exp - w0).max()
            rhs = 1e-6 * step + 4 * 2.0 ** -24 * np.abs(w0) + 1e-6 * lr_t
            crit[k] = float((np.abs(w32 - exp) / rhs).max())
        gr["after_step_plain_informative"] = plain
        gr["after_step_criterion_lhs_over_rhs"] = crit
        if t == 1 and not mom:
            # README.md "Comparing after_step", criterion 2 (t = 1, zero moments).
            c = adam["epsilon"] / math.sqrt(1 - adam["beta_2"])
            readme = {}
            for k in ref["grads"]:
                w0 = f32(params[k]).astype(np.float64)
                dw, dw_ref = after_res[k] - w0, after[k] - params[k]
                rhs = (lr_t * np.minimum(2.0, np.abs(np.asarray(res["grads"][k], np.float64) - ref["grads"][k]) / c)
                       + 4 * 2.0 ** -24 * np.abs(w0) + 1e-6 * lr_t)
                readme[k] = float((np.abs(dw - dw_ref) / rhs).max())
            gr["after_step_readme_criterion_lhs_over_rhs"] = readme
        return gr, gl2

    def f32_after(res, adam_fn):
        out = moving_after(arch, {k: f32(v) for k, v in params.items()},
                           {k: (np.asarray(a, np.float32), np.asarray(b, np.float32)) for k, (a, b) in res["stats"].items()},
                           np.float32)
        for k in ref["grads"]:
            m0, v0 = mom.get(k, (np.zeros_like(ref["grads"][k]), np.zeros_like(ref["grads"][k])))
            out[k] = adam_fn(f32(params[k]), np.asarray(res["grads"][k], np.float32), f32(m0), f32(v0))
        return out

    variants = {}
    tres = torch_step(arch, {k: f32(v) for k, v in params.items()}, f32(x), labels, torch.float32)
    tafter = f32_after(tres, lambda w0, g, m0, v0: adamw_torch(w0, g, m0, v0, lr_t, adam["beta_1"], adam["beta_2"],
                                                               adam["epsilon"], adam["weight_decay"], t, torch.float32)[0])
    variants["torch_f32"] = (tres, tafter)
    for label, naive in (("numpy_f32", False), ("naive_f32", True)):
        res = numpy_step(arch, params, f32(x), labels, np.float32, naive)
        res["loss"] = float(res["loss"])
        nafter = f32_after(res, lambda w0, g, m0, v0: adamw_np(w0, g, m0, v0, lr_t, adam["beta_1"], adam["beta_2"],
                                                               adam["epsilon"], adam["weight_decay"], t, np.float32)[0])
        variants[label] = (res, nafter)
    m["float32"] = {}
    for label, (res, aft) in variants.items():
        gr, gl2 = groups(res, aft)
        m["float32"][label] = {"per_tensor": gr, "worst": {g: worst(v) for g, v in gr.items()},
                               "per_tensor_l2": gl2, "worst_l2": {g: worst(v) for g, v in gl2.items()},
                               "flips": flips(arch, res["acts"], ref["acts"])}
    # Optimizer in isolation: float32 AdamW on float32(params) with float32(reference grads).
    iso = {}
    for k, g in ref["grads"].items():
        m0, v0 = mom.get(k, (np.zeros_like(g), np.zeros_like(g)))
        iso[k] = maxrel(adamw_np(f32(params[k]), f32(g), f32(m0), f32(v0), lr_t, adam["beta_1"], adam["beta_2"],
                                 adam["epsilon"], adam["weight_decay"], t, np.float32)[0], after[k])
    m["adamw_isolated_float32_max_rel"] = worst(iso)
    MEASURED["networks"][name] = m

    # Tolerances for a float32 engine, stated in net.json beside the data: 10x the worse of
    # torch f32 / numpy f32, rounded up to 1, 2 or 5 x 10^k (the README's rule).
    def round_up(v):
        e = math.floor(math.log10(v))
        for mant in (1, 2, 5, 10):
            if mant * 10.0 ** e >= v * (1 - 1e-12):
                return float(f"{mant * 10.0 ** e:.0e}")
    tw = m["float32"]["torch_f32"]["worst"]
    nw = m["float32"]["numpy_f32"]["worst"]
    tol = {g: round_up(10 * max(tw[g], nw[g])) for g in ("activations", "batch_stats", "logits_probs", "eval", "loss",
                                                          "grads", "input_grad", "activation_grads", "moving_stats")}
    tol["adam_isolated"] = round_up(10 * m["adamw_isolated_float32_max_rel"])
    with open(os.path.join(w.folder, "net.json")) as f:
        meta = json.load(f)
    meta["float32_tolerances"] = {
        "max_rel": tol,
        "rule": ("max-norm relative error (max|a-ref|/max|ref|; an all-zero ref makes it absolute), 10x the worse of the "
                 "torch f32 / numpy f32 re-computations (measured_errors_recipe.json), rounded up to 1/2/5 x 10^k"),
        "after_step": ("t = 1, zero moments: README criterion 2 (lhs/rhs <= 1). t > 1: every trainable element of the float32 "
                       "engine's after_step must equal the float64 AdamW update evaluated at the engine's OWN float32 gradient "
                       "(and float32 w, m, v) within 1e-6*max|step of the tensor| + 4*2^-24*|w| + 1e-6*lr_t (lhs/rhs <= 1); "
                       "the gradient itself is held to the grads tolerance"),
        "groups": {"activations": "activations/<layer>_out", "batch_stats": "activations/bn*_batch_*",
                   "logits_probs": "logits, probs", "eval": "eval_logits, eval_probs", "loss": "loss",
                   "grads": "grads/*", "input_grad": "input_grad", "activation_grads": "activation_grads/*",
                   "moving_stats": "after_step/bn*.moving_*", "adam_isolated": "after_step trainables from float32 "
                   "AdamW on float32(params) with float32(reference grads) (and float32 adam_state)"}}
    with open(os.path.join(w.folder, "net.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


def main():
    case_global_avg_pool()
    case_softmax_soft("softmax_crossentropy_soft_smooth", 202, N=6, K=6, smoothing=0.1, mixup=False)
    case_softmax_soft("softmax_crossentropy_soft_mixup", 203, N=8, K=6, smoothing=0.1, mixup=True)
    case_adamw("adamw_t1", 204, t=1, lr=2e-3, wd=0.05)
    case_adamw("adamw_t7", 205, t=7, lr=7.5e-4, wd=0.01)
    case_onecycle("onecycle_lr_pct30", max_lr=2e-3, total=300, pct=0.3, div=25.0, final_div=1e4)
    case_onecycle("onecycle_lr_pct25", max_lr=1e-3, total=251, pct=0.25, div=10.0, final_div=100.0)
    case_augment()
    case_augment_warp()

    # The robust recipe's architecture at 64x64: onecycle over 60 epochs x 10 steps, step t = 250.
    sched = {"kind": "onecycle", "total_steps": 600, "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4}
    t = 250
    lr_t = float(onecycle_torch(2e-3, 600, 0.3, 25.0, 1e4)[t - 1])
    robust = {"in_channels": 1, "height": 64, "width": 64, "conv_channels": [4, 8, 16, 32], "classes": 6,
              "block": "conv-relu-bn", "bn_eps": 1e-3, "bn_momentum": 0.9, "label_smoothing": 0.1}
    make_net_case(
        "net_gap_small_64", 1301, robust, batch=2,
        adam={"max_lr": 2e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "weight_decay": 1e-2, "t": t,
              "lr_t": lr_t, "schedule": sched},
        stored_acts=["conv4_out", "relu4_out", "bn4_out", "pool4_out", "gap_out", "logits"] +
                    [f"bn{i}_batch_{s}" for i in range(1, 5) for s in ("mean", "var")],
        stored_act_grads=["logits", "gap_out", "pool4_out", "conv4_out"],
        description=("The robust recipe's network (engine/train/recipe.h) at reduced size: 4x [conv3x3-valid -> ReLU -> "
                     "BN(momentum 0.9) -> maxpool] -> global average pooling -> dense (logits), no hidden dense layers; "
                     "softmax-CE with label smoothing 0.1; one AdamW step (weight decay 1e-2) at step t=250 of a one-cycle "
                     "schedule (max_lr 2e-3, 600 steps, pct_start 0.3)."))
    small = {"in_channels": 1, "height": 32, "width": 32, "conv_channels": [4, 8, 8], "classes": 5,
             "block": "conv-bn-relu", "bn_eps": 1e-3, "bn_momentum": 0.9, "label_smoothing": 0.1}
    make_net_case(
        "net_gap_bnrelu_small_32", 1302, small, batch=3,
        adam={"max_lr": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "weight_decay": 1e-2, "t": 1,
              "lr_t": 1e-3},
        stored_acts=["conv3_out", "bn3_out", "relu3_out", "pool3_out", "gap_out", "logits"] +
                    [f"bn{i}_batch_{s}" for i in range(1, 4) for s in ("mean", "var")],
        stored_act_grads=["logits", "gap_out", "pool3_out", "bn3_out", "conv3_out"],
        description=("GAP head with block order conv-bn-relu: 3x [conv3x3-valid -> BN(momentum 0.9) -> ReLU -> maxpool] -> "
                     "global average pooling -> dense (logits); label smoothing 0.1; one AdamW step (weight decay 1e-2) "
                     "at t=1 from zero moments, constant lr 1e-3."))

    with open(os.path.join(HERE, "measured_errors_recipe.json"), "w") as f:
        json.dump(MEASURED, f, indent=1, default=float)
        f.write("\n")
    # Summary for the README.
    for name, m in MEASURED["layers"].items():
        print(f"{name}: f64 indep {m['numpy_float64_independent_vs_stored_max']:.1e} "
              f"FD {m.get('finite_differences_rel_err', float('nan')):.1e} "
              f"torch f32 {worst(m.get('float32_torch_vs_ref', {})):.1e} naive f32 {worst(m.get('float32_naive_seq_vs_ref', {})):.1e}")
    for name, m in MEASURED["networks"].items():
        print(name, "bytes", m["files_bytes"], "f64 indep", m["numpy_float64_independent_vs_stored_max"],
              m["numpy_float64_independent_worst"], "FD", m["finite_differences_worst"],
              "adam iso", m["adamw_isolated_float32_max_rel"])
        for label, v in m["float32"].items():
            print("  ", label, {g: f"{e:.1e}" for g, e in v["worst"].items()}, v["flips"])


if __name__ == "__main__":
    main()
