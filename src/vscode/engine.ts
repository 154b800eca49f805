// The VS Code layer's door to the core engine. Activation must stay cheap, so the engine (web-tree-sitter's
// glue, the sandbox, the verifier, the model client, solve, dataset, self-play) lives in a second bundle,
// dist/engine.js, that is require()d the first time any of these functions runs. Each export has exactly
// the type of the core function it stands for, so the features call them as if they imported core directly.
import type * as EngineModule from './engineEntry';
import type { CodeParser, CodeParserOptions } from '../core/parse/loader';
import { log } from './log';

type Engine = typeof EngineModule;

let loaded: Engine | undefined;

/** The engine module, loaded (synchronously, once) on first call. */
export function engine(): Engine {
  if (!loaded) {
    const started = performance.now();
    // From source (tsx) this is the TypeScript entry; in the bundle esbuild.mjs points it at ./engine.js,
    // the second bundle next to dist/extension.js.
    loaded = require('./engineEntry') as Engine;
    log.info(`Crucible engine loaded in ${(performance.now() - started).toFixed(1)} ms`);
  }
  return loaded;
}

/** True once the engine has been loaded (tests and the activation log use it). */
export function engineLoaded(): boolean {
  return loaded !== undefined;
}

type AnyFunction = (...args: never[]) => unknown;
type FunctionKeys = { [K in keyof Engine]: Engine[K] extends AnyFunction ? K : never }[keyof Engine];

/** A function that loads the engine and calls its `name` export. */
function lazy<K extends FunctionKeys>(name: K): Engine[K] {
  const call = (...args: unknown[]): unknown => (engine()[name] as unknown as (...a: unknown[]) => unknown)(...args);
  return call as unknown as Engine[K];
}

/**
 * An error class of the engine. `x instanceof` it is false while the engine is not loaded (no engine code
 * can have thrown it then); `new` and static members load the engine.
 */
function lazyClass<K extends 'ModelError' | 'ExportCancelled'>(name: K): Engine[K] {
  const target = function () {} as unknown as object;
  return new Proxy(target, {
    construct: (_t, args) => Reflect.construct(engine()[name], args) as object,
    get: (_t, prop) =>
      prop === Symbol.hasInstance
        ? (value: unknown) => loaded !== undefined && value instanceof loaded[name]
        : Reflect.get(engine()[name], prop),
  }) as Engine[K];
}

/** A CodeParser that creates the real one (and so loads the engine) on first use. */
function lazyParser(make: () => CodeParser): CodeParser {
  let real: CodeParser | undefined;
  const get = (): CodeParser => (real ??= make());
  return {
    get location() {
      return get().location;
    },
    grammar: (name) => get().grammar(name),
    withTree: (language, code, use, options) => get().withTree(language, code, use, options),
    dispose() {
      real?.dispose();
    },
  };
}

export function createParser(options: CodeParserOptions = {}): CodeParser {
  return lazyParser(() => engine().createParser(options));
}

let sharedParser: CodeParser | undefined;
export function defaultParser(): CodeParser {
  return (sharedParser ??= lazyParser(() => engine().defaultParser()));
}

export type ModelError = InstanceType<Engine['ModelError']>;
export const ModelError = lazyClass('ModelError');
export type ExportCancelled = InstanceType<Engine['ExportCancelled']>;
export const ExportCancelled = lazyClass('ExportCancelled');

export const createProcessSandbox = lazy('createProcessSandbox');
export const createVerifier = lazy('createVerifier');
export const createModelClient = lazy('createModelClient');
export const runDoctor = lazy('runDoctor');
export const solve = lazy('solve');
export const lazySandbox = lazy('lazySandbox');
export const solveAndRecord = lazy('solveAndRecord');
export const evaluateStrategies = lazy('evaluateStrategies');
export const formatStrategyTable = lazy('formatStrategyTable');
export const recommendedBudget = lazy('recommendedBudget');
export const sharedDataset = lazy('sharedDataset');
export const checkDatasetDir = lazy('checkDatasetDir');
export const recordFromOutcome = lazy('recordFromOutcome');
export const exportDataset = lazy('exportDataset');
export const datasetStats = lazy('datasetStats');
export const dedent = lazy('dedent');
export const findFunctions = lazy('findFunctions');
export const isTooLarge = lazy('isTooLarge');
export const buildTaskDetails = lazy('buildTaskDetails');
export const buildTaskForFunction = lazy('buildTaskForFunction');
export const isSolvableUnit = lazy('isSolvableUnit');
export const isSupportedLanguage = lazy('isSupportedLanguage');
export const unitAt = lazy('unitAt');
export const findUserTestsMany = lazy('findUserTestsMany');
export const cacheKey = lazy('cacheKey');
export const isStale = lazy('isStale');
export const cacheForm = lazy('cacheForm');
export const ghostEdit = lazy('ghostEdit');
export const replacementFor = lazy('replacementFor');
export const selfPlay = lazy('selfPlay');
export const loadSeedFile = lazy('loadSeedFile');
export const shippedSeeds = lazy('shippedSeeds');
export const planResume = lazy('planResume');
export const formatReport = lazy('formatReport');
