import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Document, Node } from "yaml";
import type { SourcePosition } from "./schedule-spec.js";

/** Where to point for a path: at the value, or at the key that holds it. */
export type LocateTarget = "value" | "key";

/**
 * Maps document paths (as zod reports them) to 1-based lines and columns,
 * using the node ranges of the yaml package's parse. JSON is parsed with the
 * same parser (JSON is YAML 1.2 flow syntax) for positions only.
 */
export class SourceLocator {
  readonly #document: Document.Parsed;
  readonly #lines: LineCounter;

  constructor(text: string) {
    this.#lines = new LineCounter();
    this.#document = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false });
  }

  /** The parsed document (for YAML, also the source of the data). */
  get document(): Document.Parsed {
    return this.#document;
  }

  /** The 1-based position of a 0-based character offset. */
  position(offset: number): SourcePosition {
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * The position of the node at `path`, or of the deepest existing node on the
   * way (a missing key points at the object that lacks it). With `"key"`, a
   * path ending in a mapping key points at the key itself.
   */
  locate(path: readonly PropertyKey[], target: LocateTarget = "value"): SourcePosition {
    return this.position(this.#offset(path, target));
  }

  /** Whether the document has a node at `path`. */
  has(path: readonly PropertyKey[]): boolean {
    return this.#walk(path).complete;
  }

  /**
   * The position of character `index` of the string scalar at `path`, for
   * errors inside a value (a cron expression's column). Quotes are skipped;
   * escapes before the index in a double-quoted string are not accounted for.
   */
  locateInString(path: readonly PropertyKey[], index: number): SourcePosition {
    const node = this.#walk(path).node;
    if (!isScalar(node) || !node.range || typeof node.value !== "string") return this.locate(path);
    const quoted = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE";
    return this.position(node.range[0] + (quoted ? 1 : 0) + index);
  }

  #offset(path: readonly PropertyKey[], target: LocateTarget): number {
    const { node, keyNode, complete } = this.#walk(path);
    const chosen = complete && target === "key" && keyNode ? keyNode : node;
    return chosen?.range?.[0] ?? 0;
  }

  #walk(path: readonly PropertyKey[]): {
    node: Node | null;
    keyNode: Node | null;
    complete: boolean;
  } {
    let node: Node | null = this.#document.contents;
    let keyNode: Node | null = null;
    for (const segment of path) {
      let next: Node | null = null;
      let nextKey: Node | null = null;
      if (isMap(node)) {
        for (const item of node.items) {
          if (isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment)) {
            nextKey = item.key;
            // `key:` with nothing after it has no value node; point at the key.
            next = (item.value as Node | null) ?? item.key;
          }
        }
      } else if (isSeq(node) && typeof segment === "number") {
        next = (node.items[segment] as Node | undefined) ?? null;
      }
      if (!next) return { node, keyNode, complete: false };
      node = next;
      keyNode = nextKey;
    }
    return { node, keyNode, complete: true };
  }
}
