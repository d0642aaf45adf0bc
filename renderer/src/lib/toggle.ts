/** The list with `item` added (once) or taken out: what ticking or unticking its checkbox does to a choice. */
export function toggled<T>(list: readonly T[], item: T, on: boolean): T[] {
  return on ? [...new Set([...list, item])] : list.filter((x) => x !== item);
}
