/**
 * BTAD (beanTech): `<nn>/{train/ok, test/{ok,ko}, ground_truth/ko/<name>.png|.bmp}`. Masks carry the
 * image's own stem (no `_mask` suffix); product 03 stores images and masks as .bmp. Same machinery
 * as the MVTec layout with 'ok' as the normal folder.
 */
import { join } from 'node:path';
import type { Layout } from './layout.js';
import { categoryRoots, loadMvtecLike } from './mvtec.js';
import { isDir } from './walk.js';

export async function isBtadCategory(dir: string): Promise<boolean> {
  return (
    (await isDir(join(dir, 'train', 'ok'))) || (await isDir(join(dir, 'test', 'ok'))) || (await isDir(join(dir, 'test', 'ko')))
  );
}

export const btadLayout: Layout = {
  name: 'btad',
  expects: 'BTAD: <nn>/{train/ok, test/{ok,ko}, ground_truth/ko/<name>.png|.bmp}',
  async detect(root) {
    return (await categoryRoots(root, isBtadCategory)).length > 0;
  },
  load(root, opts) {
    return loadMvtecLike(root, isBtadCategory, {
      ...opts,
      normalDirs: ['ok'],
      maskStems: (s) => [s, `${s}_mask`],
      maskPattern: '<name>.png or <name>.bmp',
    });
  },
};
