/** Maps key paths of a parsed configuration back to lines and columns of its YAML source. */

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";

export interface SourcePosition {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/**
 * Finds where `path` is written: the value at the end of the path, or its key when
 * `target` is "key" (used for unknown keys). When the path leaves the document, for
 * example at a missing key, it returns the deepest node that exists, preferring the key
 * of that node's mapping entry so that "redis:" is shown for a missing backends.redis.endpoint.
 */
export function locatePath(
  document: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  target: "value" | "key" = "value",
): SourcePosition {
  let node: unknown = document.contents;
  let entryKey: Node | undefined;
  let complete = true;

  for (const segment of path) {
    if (isAlias(node)) {
      node = node.resolve(document);
    }

    const next = childOf(node, segment);
    if (next === undefined) {
      complete = false;
      break;
    }
    node = next.value;
    entryKey = next.key;
  }

  const preferKey = target === "key" || !complete || !hasRange(node);
  const chosen = preferKey && entryKey !== undefined ? entryKey : node;
  const offset = hasRange(chosen) ? chosen.range[0] : 0;
  return positionAt(lineCounter, offset);
}

/** Converts a character offset in the source into a 1-based line and column. */
export function positionAt(lineCounter: LineCounter, offset: number): SourcePosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** Returns the child at `segment` and, for a mapping entry, the key node that names it. */
function childOf(node: unknown, segment: PropertyKey): { value: unknown; key: Node | undefined } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
    return pair === undefined ? undefined : { value: pair.value, key: pair.key as Node };
  }
  if (isSeq(node) && typeof segment === "number" && segment < node.items.length) {
    return { value: node.items[segment], key: undefined };
  }
  return undefined;
}

function hasRange(node: unknown): node is { range: [number, number, number] } {
  return typeof node === "object" && node !== null && "range" in node && Array.isArray(node.range);
}
