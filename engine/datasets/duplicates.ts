import type { DatasetItem, DuplicateGroup } from './dataset.js';
import { compareText } from './ordering.js';

/**
 * Groups of items with identical bytes, sorted by first path. Kept in the dataset (removing them is the
 * analyst's call) but flagged: a copy in both train and test inflates accuracy, and copies with different
 * labels are label noise.
 */
export function findDuplicates(items: readonly DatasetItem[]): DuplicateGroup[] {
  const byHash = new Map<string, DatasetItem[]>();
  for (const item of items) {
    const group = byHash.get(item.sha256);
    if (group) group.push(item);
    else byHash.set(item.sha256, [item]);
  }
  const groups: DuplicateGroup[] = [];
  for (const [sha256, group] of byHash) {
    if (group.length < 2) continue;
    group.sort((a, b) => compareText(a.relativePath, b.relativePath));
    groups.push({
      sha256,
      paths: group.map((item) => item.relativePath),
      crossSplit: new Set(group.map((item) => item.split)).size > 1,
      labelsDiffer: new Set(group.map((item) => item.label)).size > 1,
    });
  }
  return groups.sort((a, b) => compareText(a.paths[0]!, b.paths[0]!));
}
