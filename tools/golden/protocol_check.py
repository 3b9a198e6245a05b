#!/usr/bin/env python3
"""Recomputes an `iapas evaluate` report with OpenCV + scikit-learn, as the reference code would.

    /usr/bin/python3 tools/golden/protocol_check.py <report.json>

Reads the dataset and maps folders recorded in the report (MVTec layout, .npy maps), applies the
protocol (cv2.resize INTER_CUBIC / INTER_NEAREST to the report's resolution, min-max per category,
pooling) and prints, per category, the report's value and the reference value of each metric.
"""
import glob
import json
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from metrics_golden import aupro_exact, aupro_grid, ranking  # noqa: E402


def main(path):
    rep = json.load(open(path))
    o = rep['options']
    res = o['resolution']
    worst = 0.0
    for row in rep['categories']:
        cat = row['category']
        maps, masks = [], []
        for f in sorted(glob.glob(os.path.join(rep['maps'], cat, 'test', '*', '*.npy'))):
            rel = os.path.relpath(f, os.path.join(rep['maps'], cat))[:-4]
            defect, name = rel.split('/')[1:]
            if defect == 'good' and o['normal_images_resolved'] == 'skip':
                continue
            m = np.load(f).astype(np.float32)
            maps.append(cv2.resize(m, (res, res), interpolation=cv2.INTER_CUBIC))
            gt_path = os.path.join(rep['dataset']['root'], cat, 'ground_truth', defect, name + '_mask.png')
            if os.path.exists(gt_path):
                gt = (cv2.imread(gt_path, cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8)
                masks.append(cv2.resize(gt, (res, res), interpolation=cv2.INTER_NEAREST))
            else:
                masks.append(np.zeros((res, res), np.uint8))
        maps = np.stack(maps); masks = np.stack(masks)
        if o['normalize']:
            maps = ((maps.astype(np.float64) - maps.min()) / (maps.max() - maps.min())).astype(np.float32)
        px = ranking(masks.ravel(), maps.ravel())
        img_y = masks.reshape(len(masks), -1).max(axis=1)
        img = ranking(img_y, maps.reshape(len(maps), -1).max(axis=1)) if 0 < img_y.sum() < len(img_y) else {}
        ref = {'pixel_auroc': px['auroc'], 'pixel_ap': px['ap'], 'pixel_f1_max': px['f1_max'],
               'aupro': (aupro_grid if o['aupro'] == 'grid' else aupro_exact)(maps, masks, o['fpr_limit']),
               'image_auroc': img.get('auroc'), 'image_ap': img.get('ap'), 'image_f1_max': img.get('f1_max')}
        for k, v in ref.items():
            mine = row[k]
            d = abs(mine - v) if (mine is not None and v is not None) else 0.0
            worst = max(worst, d)
            print(f'{cat:12s} {k:14s} iapas {mine!s:22s} reference {v!s:22s} diff {d:.2e}')
    print(f'largest difference: {worst:.2e}')


if __name__ == '__main__':
    main(sys.argv[1])
