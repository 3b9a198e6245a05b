/**
 * Unique names for a list of items that usually have short, distinct names (a file's stem), with
 * longer forms for the items whose short name is shared (the stem plus its extension, a path).
 * Every item starts at its first candidate; while a name is shared, each item sharing it moves to
 * its next candidate (an item at its last candidate keeps it). An item's name therefore depends
 * only on the set of items, not on their order; the last candidates must be unique (e.g. full
 * paths).
 */
export function uniqueNames<T>(items: readonly T[], candidates: (item: T) => readonly string[]): { names: string[]; renamed: number[] } {
  const forms = items.map((it) => candidates(it));
  const level = new Array<number>(items.length).fill(0);
  for (;;) {
    const byName = new Map<string, number[]>();
    forms.forEach((f, i) => {
      const n = f[level[i]];
      const list = byName.get(n);
      if (list) list.push(i);
      else byName.set(n, [i]);
    });
    let moved = false;
    for (const [name, idx] of byName) {
      if (idx.length < 2) continue;
      // Items already at their last (unique) form keep it; the others move on.
      const final = idx.filter((i) => level[i] + 1 >= forms[i].length);
      if (final.length > 1) throw new Error(`uniqueNames: '${name}' is the last form of ${final.length} items`);
      for (const i of idx) {
        if (final.includes(i)) continue;
        level[i]++;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return { names: forms.map((f, i) => f[level[i]]), renamed: level.flatMap((l, i) => (l > 0 ? [i] : [])) };
}
