// What the editor features and "Solve and Verify" know about the workspace's code, in one place: the
// functions of each document (parsed once per version), the workspace's test files (an open file always as
// its editor buffer holds it, saved or not), the tests found for each function, and the one parser they all
// use. Both "Solve and Verify" and the inline features build their Tasks from here, so they see the same tests.
import * as vscode from 'vscode';
import type { CodeParser } from '../core/parse/loader';
import type { FunctionInfo } from '../core/parse/functions';
import type { TaskDetails } from '../core/parse/taskFromCode';
import type { SourceFile } from '../core/parse/tests';
import type { Language } from '../core/types';
import type { TestedFunction } from './codeLens';
import {
  buildTaskForFunction,
  cacheKey,
  defaultParser,
  findFunctions,
  findUserTestsMany,
  isSolvableUnit,
  isSupportedLanguage,
  isTooLarge,
} from './engine';
import { log } from './log';

const TEST_GLOBS: { [L in Language]: string } = {
  python: '**/{test_*.py,*_test.py,tests/**/*.py}',
  javascript: '**/*.{test,spec}.{js,mjs,cjs}',
  typescript: '**/*.{test,spec}.ts',
};
/** A path that names a test file (the globs above, as one pattern). */
const TEST_FILE = /(^|\/)(test_[^/]*\.py|[^/]*_test\.py|tests\/.*\.py|[^/]*\.(test|spec)\.[cm]?[jt]s)$/;
const TEST_EXCLUDE = '**/{node_modules,.git,.venv,venv,dist}/**';
const MAX_TEST_FILES = 40;
const MAX_TEST_FILE_BYTES = 200_000;
/** How long the list of test files (and the text of those not open) is reused before the workspace is searched again. */
const TEST_FILES_TTL_MS = 30_000;
/** Edits must settle this long before a document's tests are derived again. */
const EDIT_DEBOUNCE_MS = 400;

/** A test file found in the workspace; `text` is its content on disk when it was found (undefined: unreadable or too large). */
interface TestFile {
  uri: string;
  path: string;
  text: string | undefined;
}

function sleep(ms: number, token?: vscode.CancellationToken): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    token?.onCancellationRequested(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The workspace's test files for a language, read from disk. */
async function findTestFiles(language: Language): Promise<TestFile[]> {
  const uris = await vscode.workspace.findFiles(TEST_GLOBS[language], TEST_EXCLUDE, MAX_TEST_FILES);
  const out: TestFile[] = [];
  for (const uri of uris) {
    let text: string | undefined;
    try {
      const bytes = await vscode.workspace.fs.readFile(uri);
      if (bytes.byteLength <= MAX_TEST_FILE_BYTES) text = new TextDecoder().decode(bytes);
    } catch {
      // An unreadable file is simply not a test source (unless it is open: then its buffer is).
    }
    out.push({ uri: uri.toString(), path: vscode.workspace.asRelativePath(uri), text });
  }
  return out;
}

export class DocumentIndex implements vscode.Disposable {
  /** The one parser of the VS Code features (the engine's shared parser, loaded on first use). */
  readonly parser: CodeParser = defaultParser();
  private readonly parsed = new Map<string, { version: number; fns: Promise<FunctionInfo[]> }>();
  private readonly tested = new Map<string, { version: number; result: Promise<TestedFunction[]> }>();
  private readonly lastEdit = new Map<string, number>();
  private readonly testFileLists = new Map<Language, { at: number; files: Promise<TestFile[]> }>();
  private readonly testsChanged = new vscode.EventEmitter<void>();
  /** Fires when a test file was saved: tests derived before are stale. */
  readonly onDidChangeTests = this.testsChanged.event;
  private readonly disposables: vscode.Disposable[];

  constructor() {
    this.disposables = [
      this.testsChanged,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length) this.lastEdit.set(e.document.uri.toString(), Date.now());
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        const uri = doc.uri.toString();
        this.parsed.delete(`all|${uri}`);
        this.parsed.delete(`healthy|${uri}`);
        this.tested.delete(uri);
        this.lastEdit.delete(uri);
      }),
      vscode.workspace.onDidSaveTextDocument((doc) => {
        if (!TEST_FILE.test(doc.uri.path)) return;
        // A test file changed: re-read the workspace tests and derive every document's tests again.
        this.testFileLists.clear();
        this.tested.clear();
        this.testsChanged.fire();
      }),
      vscode.workspace.onDidCreateFiles(() => this.testFileLists.clear()),
      vscode.workspace.onDidDeleteFiles(() => this.testFileLists.clear()),
    ];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  /** Functions of a document; [] for unsupported languages, huge files or parser trouble (logged, no toast). */
  functionsOf(doc: vscode.TextDocument, broken: boolean): Promise<FunctionInfo[]> {
    const uri = doc.uri.toString();
    if (!isSupportedLanguage(doc.languageId)) return Promise.resolve([]);
    const slot = `${broken ? 'all' : 'healthy'}|${uri}`;
    const hit = this.parsed.get(slot);
    if (hit && hit.version === doc.version) return hit.fns;
    const text = doc.getText();
    const fns = isTooLarge(text)
      ? Promise.resolve<FunctionInfo[]>([])
      : findFunctions(text, doc.languageId as Language, this.parser, { includeBroken: broken }).catch(
          (err: unknown) => {
            log.warn(`Crucible: could not parse ${doc.uri.fsPath || uri}: ${(err as Error)?.message ?? String(err)}`);
            return [];
          },
        );
    if (isTooLarge(text)) log.debug(`Crucible: ${uri} is too large for editor features`);
    this.parsed.set(slot, { version: doc.version, fns });
    return fns;
  }

  /**
   * Test files of the workspace that may exercise code in `language`, except `exclude` (the file being
   * solved): an open file as its editor holds it now, any other as it was on disk when last listed.
   */
  async testFiles(language: Language, exclude: vscode.Uri): Promise<SourceFile[]> {
    if (!vscode.workspace.workspaceFolders?.length) return [];
    let entry = this.testFileLists.get(language);
    if (!entry || Date.now() - entry.at > TEST_FILES_TTL_MS) {
      entry = { at: Date.now(), files: findTestFiles(language).catch(() => []) };
      this.testFileLists.set(language, entry);
    }
    const out: SourceFile[] = [];
    for (const file of await entry.files) {
      if (file.uri === exclude.toString()) continue;
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === file.uri);
      const text = open ? open.getText() : file.text;
      if (text !== undefined && text.length <= MAX_TEST_FILE_BYTES) out.push({ path: file.path, text });
    }
    return out;
  }

  /** The Task for one function of a document, with the tests found in it and in the workspace's test files. */
  async taskFor(doc: vscode.TextDocument, fn: FunctionInfo, hint?: string): Promise<TaskDetails> {
    const language = doc.languageId as Language;
    const otherFiles = await this.testFiles(language, doc.uri);
    return buildTaskForFunction(
      {
        code: doc.getText(),
        language,
        path: vscode.workspace.asRelativePath(doc.uri),
        otherFiles,
        parser: this.parser,
        ...(hint ? { hint } : {}),
      },
      fn,
    );
  }

  /** Solvable functions of the document that have user tests; cached per document version, after edits settle. */
  async testedFunctions(doc: vscode.TextDocument, token: vscode.CancellationToken): Promise<TestedFunction[]> {
    if (!isSupportedLanguage(doc.languageId)) return [];
    const uri = doc.uri.toString();
    // Debounce: let a burst of edits settle before re-deriving tests.
    const since = Date.now() - (this.lastEdit.get(uri) ?? 0);
    if (since < EDIT_DEBOUNCE_MS) await sleep(EDIT_DEBOUNCE_MS - since, token);
    if (token.isCancellationRequested) return [];
    const hit = this.tested.get(uri);
    if (hit && hit.version === doc.version) return hit.result;
    const result = this.findTested(doc);
    this.tested.set(uri, { version: doc.version, result });
    return result;
  }

  /** Forgets a document's tested functions (its code changed in a way the version does not tell, e.g. an accepted refinement). */
  forgetTests(uri: string): void {
    this.tested.delete(uri);
  }

  private async findTested(doc: vscode.TextDocument): Promise<TestedFunction[]> {
    const fns = await this.functionsOf(doc, false);
    const units = fns.filter((fn) => isSolvableUnit(fn, fns));
    const out: TestedFunction[] = [];
    if (!units.length) return out;
    const language = doc.languageId as Language;
    try {
      const otherFiles = await this.testFiles(language, doc.uri);
      const found = await findUserTestsMany({
        code: doc.getText(),
        language,
        fns: units,
        otherFiles,
        path: vscode.workspace.asRelativePath(doc.uri),
        parser: this.parser,
      });
      for (const fn of units) {
        const tests = found.get(fn.qualifiedName);
        if (!tests || tests.origin !== 'user' || !tests.count) continue;
        out.push({
          fn,
          key: cacheKey(fn.text, tests.tests, language),
          testCount: tests.count,
          testSources: tests.sources,
        });
      }
    } catch (err) {
      log.debug(
        `Crucible: could not collect tests of ${doc.uri.toString()}: ${(err as Error)?.message ?? String(err)}`,
      );
    }
    return out;
  }
}
