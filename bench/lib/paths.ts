import { existsSync } from 'node:fs';
import path from 'node:path';

let root: string | undefined;

/** The repository's root (the folder holding package.json), whether this runs from bench/ or dist/bench/. */
export function repoRoot(): string {
  if (root) return root;
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  root = dir;
  return root;
}

/** A file of the compiled project (`npm run build`), e.g. `distPath('src/main.js')`. */
export function distPath(relative: string): string {
  return path.join(repoRoot(), 'dist', relative);
}
