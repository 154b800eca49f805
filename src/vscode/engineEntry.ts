// Entry of the second bundle, dist/engine.js: the core engine the VS Code features need (sandbox, verifier,
// model client, solve loop, dataset, parsing, self-play). The thin dist/extension.js never imports this
// file directly; src/vscode/engine.ts require()s it on first use, so activation does not pay for loading
// web-tree-sitter, the sandbox or the model client. This file must not import vscode.
export { createProcessSandbox } from '../core/sandbox/processSandbox';
export { createVerifier } from '../core/verify/verifier';
export { createModelClient } from '../core/model/client';
export { ModelError } from '../core/model/errors';
export { runDoctor } from '../core/model/doctor';
export { solve } from '../core/solve/solve';
export { lazySandbox, solveAndRecord } from '../core/engine';
export { evaluateStrategies, formatStrategyTable, recommendedBudget } from '../core/solve/strategies';
export { sharedDataset, checkDatasetDir } from '../core/dataset/store';
export { recordFromOutcome } from '../core/dataset/record';
export { ExportCancelled, exportDataset } from '../core/dataset/export';
export { datasetStats } from '../core/dataset/stats';
export { createParser, defaultParser } from '../core/parse/loader';
export { dedent, findFunctions, isTooLarge } from '../core/parse/functions';
export {
  buildTaskDetails,
  buildTaskForFunction,
  isSolvableUnit,
  isSupportedLanguage,
  unitAt,
} from '../core/parse/taskFromCode';
export { findUserTestsMany } from '../core/parse/tests';
export { cacheKey, isStale, cacheForm } from '../core/parse/cacheKey';
export { ghostEdit, replacementFor } from '../core/parse/replacement';
export { selfPlay } from '../core/selfplay/loop';
export { loadSeedFile } from '../core/selfplay/puzzle';
export { shippedSeeds } from '../core/selfplay/seeds';
export { planResume } from '../core/engine';
export { formatReport } from '../core/selfplay/report';
