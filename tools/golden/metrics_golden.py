#!/usr/bin/env python3
"""Reference values for test/metrics (metrics against scikit-learn, resizing against OpenCV).

Run once with Debian's packages (apt-get install python3-sklearn python3-opencv):
    /usr/bin/python3 tools/golden/metrics_golden.py
It writes test/metrics/fixtures/{metrics,resize}-golden.json. The inputs are not stored: they are
regenerated from seeds by a 32-bit LCG implemented identically here and in
test/metrics/golden-data.ts, so the fixtures stay small and CI needs no Python.
"""
import json
import math
import os

import numpy as np
import cv2
from scipy import ndimage
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'metrics', 'fixtures')


class Lcg:
    """state = state * 1664525 + 1013904223 (mod 2^32); next() = top 24 bits / 2^24 (exact in float32)."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFF

    def next(self):
        self.s = (self.s * 1664525 + 1013904223) & 0xFFFFFFFF
        return (self.s >> 8) / 16777216.0


# ---- generators (mirrored in test/metrics/golden-data.ts; keep the call order identical) ----

def gen_ties(seed, n):
    g = Lcg(seed)
    s = np.zeros(n, np.float32); y = np.zeros(n, np.uint8)
    for i in range(n):
        lab = 1 if g.next() < 0.3 else 0
        s[i] = math.floor((g.next() * 0.8 + lab * 0.2) * 8) / 8
        y[i] = lab
    return s, y


def gen_imbalance(seed, n):
    g = Lcg(seed)
    s = np.zeros(n, np.float32); y = np.zeros(n, np.uint8)
    for i in range(n):
        lab = 1 if g.next() < 0.004 else 0
        s[i] = g.next() + lab * 0.5 * g.next()
        y[i] = lab
    return s, y


def gen_blocks(seed, n):
    g = Lcg(seed)
    s = np.zeros(n, np.float32); y = np.zeros(n, np.uint8)
    for i in range(n):
        block = i // 1000
        u = g.next()
        v = 0.5 if block % 3 == 0 else u
        s[i] = v
        y[i] = 1 if g.next() < (0.5 if v > 0.6 else 0.1) else 0
    return s, y


def gen_constant(seed, n):
    g = Lcg(seed)
    s = np.full(n, 0.25, np.float32); y = np.zeros(n, np.uint8)
    for i in range(n):
        y[i] = 1 if g.next() < 0.2 else 0
    return s, y


def gen_images(seed, count, w, h, levels):
    """count maps of w x h with rectangles (and a diagonal chain) as ground truth; scores quantised."""
    g = Lcg(seed)
    masks = np.zeros((count, h, w), np.uint8)
    maps = np.zeros((count, h, w), np.float32)
    for k in range(count):
        rects = math.floor(g.next() * 4)
        for _ in range(rects):
            x0 = math.floor(g.next() * (w - 10)); y0 = math.floor(g.next() * (h - 10))
            rw = 1 + math.floor(g.next() * (w // 6)); rh = 1 + math.floor(g.next() * (h // 6))
            masks[k, y0:y0 + rh, x0:x0 + rw] = 1
        if rects > 0:
            cx = math.floor(g.next() * (w - 12)); cy = math.floor(g.next() * (h - 12))
            for d in range(10):
                masks[k, cy + d, cx + d] = 1
        for y in range(h):
            for x in range(w):
                m = masks[k, y, x]
                maps[k, y, x] = math.floor((g.next() * 0.6 + m * 0.4 * g.next()) * levels) / levels
    return maps, masks


# ---- reference metric definitions ----

def f1_max(y, s):
    p, r, _ = precision_recall_curve(y, s)
    a = 2 * p * r; b = p + r
    return float(np.max(np.divide(a, b, out=np.zeros_like(a), where=b != 0)))


def ranking(y, s):
    return {'auroc': float(roc_auc_score(y, s)), 'ap': float(average_precision_score(y, s)), 'f1_max': f1_max(y, s)}


def regions(masks):
    labels = np.zeros(masks.shape, np.int64)
    offset = 0
    for k in range(masks.shape[0]):
        lab, n = ndimage.label(masks[k], structure=np.ones((3, 3)))
        labels[k] = np.where(lab > 0, lab + offset, 0)
        offset += n
    return labels, offset


def aupro_grid(maps, masks, limit=0.3, steps=200):
    """The SAA+/APRIL-GAN definition (see src/metrics/aupro.ts), with each region's own pixels."""
    s = maps.astype(np.float64).ravel()
    lab, n = regions(masks)
    lab = lab.ravel()
    neg = lab == 0
    mx, mn = s.max(), s.min()
    delta = (mx - mn) / steps
    fprs, pros = [], []
    area = np.bincount(lab, minlength=n + 1)[1:]
    for k in range(steps):
        t = mx - k * delta
        b = s > t
        fprs.append(np.logical_and(b, neg).sum() / neg.sum())
        hit = np.bincount(lab[b], minlength=n + 1)[1:]
        pros.append(np.mean(hit / area))
    fprs = np.array(fprs); pros = np.array(pros)
    idx = fprs <= limit
    f = fprs[idx]; p = pros[idx]
    if f.max() == f.min():
        return float(p[-1])
    f = (f - f.min()) / (f.max() - f.min())
    return float(np.trapz(p, f))


def aupro_exact(maps, masks, limit=0.3):
    s = maps.astype(np.float64).ravel()
    lab, n = regions(masks)
    lab = lab.ravel()
    area = np.bincount(lab, minlength=n + 1).astype(np.float64)
    w = np.where(lab > 0, 1.0 / (n * area[lab]), 0.0)
    order = np.argsort(-s, kind='stable')
    s_sorted = s[order]
    fp = np.cumsum(lab[order] == 0).astype(np.float64)
    pro = np.cumsum(w[order])
    last = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s) - 1]  # last index of each distinct score
    fpr = np.r_[0.0, fp[last] / (lab == 0).sum()]
    pro = np.r_[0.0, pro[last]]
    i = np.searchsorted(fpr, limit, side='right')  # fpr[:i] <= limit
    x = fpr[:i]; y = pro[:i]
    if i < len(fpr) and x[-1] < limit:
        yl = y[-1] + (pro[i] - y[-1]) * (limit - x[-1]) / (fpr[i] - x[-1])
        x = np.r_[x, limit]; y = np.r_[y, yl]
    return float(np.trapz(y, x) / limit)


def main():
    cases = []
    for name, fn, seed, n in [('ties', gen_ties, 11, 3000), ('imbalance', gen_imbalance, 12, 100000),
                              ('constant_blocks', gen_blocks, 13, 20000), ('constant', gen_constant, 14, 1000)]:
        s, y = fn(seed, n)
        cases.append({'name': name, 'generator': name, 'seed': seed, 'n': n, 'expected': ranking(y, s)})
    for name, seed, count, w, h, levels in [('images_small', 21, 8, 40, 30, 16), ('images_1m', 22, 25, 200, 200, 4096)]:
        maps, masks = gen_images(seed, count, w, h, levels)
        y = masks.ravel(); s = maps.ravel()
        exp = ranking(y, s)
        exp['aupro_grid'] = aupro_grid(maps, masks)
        exp['aupro_exact'] = aupro_exact(maps, masks)
        img_y = masks.reshape(count, -1).max(axis=1)
        img_s = maps.reshape(count, -1).max(axis=1)
        exp['image'] = ranking(img_y, img_s) if 0 < img_y.sum() < count else None
        exp['regions'] = int(regions(masks)[1])
        cases.append({'name': name, 'generator': 'images', 'seed': seed, 'count': count, 'width': w, 'height': h,
                      'levels': levels, 'expected': exp})
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'metrics-golden.json'), 'w') as f:
        json.dump({'generated_by': 'tools/golden/metrics_golden.py', 'sklearn': __import__('sklearn').__version__,
                   'cases': cases}, f, indent=1)

    rcases = []
    for seed, (w, h, W, H) in enumerate([(7, 5, 41, 37), (64, 48, 10, 8), (20, 20, 33, 17), (50, 40, 400, 400), (9, 9, 9, 30)]):
        g = Lcg(100 + seed)
        src = np.array([g.next() for _ in range(w * h)], np.float32).reshape(h, w)
        out = {}
        for key, mode in [('cubic', cv2.INTER_CUBIC), ('nearest', cv2.INTER_NEAREST), ('linear', cv2.INTER_LINEAR)]:
            r = cv2.resize(src, (W, H), interpolation=mode).ravel().astype(np.float64)
            if W * H > 5000:  # large outputs: a fixed sample of positions plus the sum
                g2 = Lcg(7)
                idx = [math.floor(g2.next() * W * H) for _ in range(500)]
                out[key] = {'sum': float(r.sum()), 'sample_index': idx, 'sample': [float(r[i]) for i in idx]}
            else:
                out[key] = {'values': [float(v) for v in r]}
        rcases.append({'seed': 100 + seed, 'w': w, 'h': h, 'W': W, 'H': H, **out})
    with open(os.path.join(OUT, 'resize-golden.json'), 'w') as f:
        json.dump({'generated_by': 'tools/golden/metrics_golden.py', 'opencv': cv2.__version__, 'cases': rcases}, f)


if __name__ == '__main__':
    main()
