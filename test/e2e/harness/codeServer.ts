// One code-server (VS Code 1.100 in the browser, with a real Node extension host) in throw-away folders:
// its own user data, extensions, workspace and dataset folders under one temp root.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeServerBin } from './paths';

export interface CodeServerDirs {
  root: string;
  extensions: string;
  userData: string;
  workspace: string;
  dataset: string;
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

function run(bin: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${bin} ${args.join(' ')} took more than ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export class CodeServer {
  readonly dirs: CodeServerDirs;
  url = '';
  private child: ChildProcess | undefined;
  private logStream: WriteStream | undefined;
  readonly logFile: string;
  private exited: Promise<void> = Promise.resolve();

  constructor() {
    const root = mkdtempSync(join(tmpdir(), 'crucible-e2e-'));
    this.dirs = {
      root,
      extensions: join(root, 'extensions'),
      userData: join(root, 'user-data'),
      workspace: join(root, 'workspace'),
      dataset: join(root, 'dataset'),
    };
    for (const dir of Object.values(this.dirs)) mkdirSync(dir, { recursive: true });
    mkdirSync(join(this.dirs.userData, 'User'), { recursive: true });
    mkdirSync(join(this.dirs.userData, 'Machine'), { recursive: true });
    this.logFile = join(root, 'code-server.log');
  }

  /** Installs a packaged extension the way a person does: `code-server --install-extension file.vsix`. */
  async installExtension(vsix: string): Promise<string> {
    const { code, output } = await run(
      codeServerBin(),
      [
        '--install-extension',
        vsix,
        '--extensions-dir',
        this.dirs.extensions,
        '--user-data-dir',
        this.dirs.userData,
        '--force',
      ],
      120_000,
    );
    if (code !== 0 || !/successfully installed/i.test(output)) {
      throw new Error(`code-server could not install ${vsix} (exit ${code}):\n${output}`);
    }
    return output;
  }

  get userSettingsFile(): string {
    return join(this.dirs.userData, 'User', 'settings.json');
  }

  /** Settings of scope "machine" live here when the extension host runs on the server, as in code-server. */
  get machineSettingsFile(): string {
    return join(this.dirs.userData, 'Machine', 'settings.json');
  }

  /** Writes the same settings as user and remote-machine settings, so every scope sees them. */
  writeSettings(settings: { [key: string]: unknown }): void {
    writeJsonAtomic(this.userSettingsFile, settings);
    writeJsonAtomic(this.machineSettingsFile, settings);
  }

  /** True when both settings files hold exactly `settings`. */
  settingsAre(settings: { [key: string]: unknown }): boolean {
    const want = JSON.stringify(settings);
    return [this.userSettingsFile, this.machineSettingsFile].every((f) => {
      try {
        return JSON.stringify(JSON.parse(readFileSync(f, 'utf8'))) === want;
      } catch {
        return false;
      }
    });
  }

  writeWorkspaceSettings(settings: { [key: string]: unknown }): void {
    mkdirSync(join(this.dirs.workspace, '.vscode'), { recursive: true });
    writeJsonAtomic(join(this.dirs.workspace, '.vscode', 'settings.json'), settings);
  }

  async start(timeoutMs = 60_000): Promise<string> {
    this.logStream = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(
      codeServerBin(),
      [
        '--auth',
        'none',
        '--bind-addr',
        '127.0.0.1:0',
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--config',
        join(this.dirs.root, 'config.yaml'),
        '--extensions-dir',
        this.dirs.extensions,
        '--user-data-dir',
        this.dirs.userData,
        this.dirs.workspace,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let seen = '';
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`code-server did not start within ${timeoutMs} ms. Its output:\n${seen}`)),
        timeoutMs,
      );
      const onData = (d: Buffer): void => {
        const text = d.toString();
        this.logStream?.write(text);
        if (this.url) return;
        seen += text;
        const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`code-server exited (code ${code}) before listening. Its output:\n${seen}`));
      });
    });
    return this.url;
  }

  /** The address that opens the workspace folder in the browser. */
  workspaceUrl(): string {
    return `${this.url}/?folder=${encodeURIComponent(this.dirs.workspace)}`;
  }

  /** Copies code-server's own log and VS Code's logs (extension host, the Crucible output channel) to `dest`. */
  saveLogs(dest: string): void {
    mkdirSync(dest, { recursive: true });
    if (existsSync(this.logFile)) cpSync(this.logFile, join(dest, 'code-server.log'));
    const logs = join(this.dirs.userData, 'logs');
    if (existsSync(logs)) cpSync(logs, join(dest, 'vscode-logs'), { recursive: true });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child?.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, 5000);
      await this.exited;
      clearTimeout(killer);
    }
    this.logStream?.end();
  }

  removeFolders(): void {
    rmSync(this.dirs.root, { recursive: true, force: true });
  }
}
