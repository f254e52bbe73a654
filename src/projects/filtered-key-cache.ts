import { createHash } from 'node:crypto';
import type { FilteredKeyDefinition } from './filtered-key';

/** Most filtered keys one API process keeps decrypted. */
export const FILTERED_KEY_CACHE_MAX_ENTRIES = 10_000;
/**
 * Most characters of filtered keys the cache stands for, summed over its entries: each entry weighs
 * its key's length, which bounds the size of its parsed filters (a key of 16 KB, the most a header
 * can hold, costs as much as 500 keys of 32 conditions' worth of short filters).
 */
export const FILTERED_KEY_CACHE_MAX_CHARS = 8 * 1024 * 1024;

/**
 * Decrypted filtered keys (docs/keys.md, "Caching"), so a filtered key is decrypted and parsed once
 * per API process, not on every request. A bounded LRU (a Map in recency order): over
 * `maxEntries` entries or `maxChars` characters of keys, the least recently used go first.
 *
 * Entries are found by `cacheId`, a SHA-256 of the project id, the project's stored master-key
 * ciphertext and the key: the cache holds no key, and the caller reads the ciphertext from the
 * project's row on every request, so once the master key is reset (a new ciphertext) no entry
 * made with the old one can be found again, in this process or any other.
 */
export class FilteredKeyCache {
  private readonly entries = new Map<string, { definition: FilteredKeyDefinition; weight: number }>();
  private chars = 0;
  /** Lookups answered from the cache / that had to decrypt, since the process started. */
  hits = 0;
  misses = 0;

  constructor(
    readonly maxEntries = FILTERED_KEY_CACHE_MAX_ENTRIES,
    readonly maxChars = FILTERED_KEY_CACHE_MAX_CHARS,
  ) {}

  /** The id of a key of a project whose master key is stored as `masterKeyCiphertext`. */
  static cacheId(projectId: string, masterKeyCiphertext: string, apiKey: string): string {
    // Hex is compared case-blind: the SDKs write upper case (PHP lower), and both decrypt alike.
    return createHash('sha256').update(`${projectId}\n${masterKeyCiphertext}\n${apiKey.toLowerCase()}`, 'utf8').digest('base64url');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached definition (now the most recently used), or undefined. Counts a hit or a miss. */
  get(id: string): FilteredKeyDefinition | undefined {
    const entry = this.entries.get(id);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.definition;
  }

  /** Caches a definition; `weight` is its key's length in characters. Evicts the least recently used beyond the bounds. */
  set(id: string, definition: FilteredKeyDefinition, weight: number): void {
    const previous = this.entries.get(id);
    if (previous) {
      this.entries.delete(id);
      this.chars -= previous.weight;
    }
    if (weight > this.maxChars) return;
    this.entries.set(id, { definition, weight });
    this.chars += weight;
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.entries.delete(oldest);
      this.chars -= entry.weight;
    }
  }
}
