// The names of the files in a dataset folder. A leaf: no imports, so the thin extension bundle
// (dist/extension.js) can use these names without pulling in the store, the solver or tree-sitter.

/** The dataset itself: one Record per line. */
export const DATA_FILE = 'records.jsonl';
/** Held by a writer around "catch up, dedupe, append" (and by the dataset view's deletes). */
export const LOCK_FILE = 'records.lock';
