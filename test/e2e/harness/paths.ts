// Where the end-to-end suite finds its tools and puts its evidence. `.ci/setup.sh` installs the tools
// at the same places; environment variables override them on a developer's machine.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';

export const repoRoot = resolve(__dirname, '..', '..', '..');

/** The packaged extension the suite installs (built by `npm run package`). */
export const vsixPath = process.env.CRUCIBLE_VSIX
  ? resolve(process.env.CRUCIBLE_VSIX)
  : join(repoRoot, 'dist', 'crucible.vsix');

/** Screenshots, logs and measurements; CI keeps this folder. */
export const resultsDir = join(repoRoot, 'test-results', 'e2e');

export function codeServerBin(): string {
  if (process.env.CRUCIBLE_CODE_SERVER) return resolve(process.env.CRUCIBLE_CODE_SERVER);
  const home = process.env.CRUCIBLE_E2E_HOME ?? join(homedir(), '.cache', 'crucible-e2e');
  return join(home, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
}

export function chromiumBin(): string {
  return process.env.CRUCIBLE_CHROMIUM ?? '/usr/bin/chromium';
}

/** Why the suite cannot run here, or undefined when everything it needs is installed. */
export function missingTools(): string | undefined {
  const missing: string[] = [];
  if (!existsSync(codeServerBin())) missing.push(`code-server ${CODE_SERVER_VERSION} (expected at ${codeServerBin()})`);
  if (!existsSync(chromiumBin())) missing.push(`Chromium (expected at ${chromiumBin()})`);
  if (!missing.length) return undefined;
  return `${missing.join(' and ')} not found. Install them with \`bash .ci/setup.sh\` (Debian 12), or point CRUCIBLE_CODE_SERVER / CRUCIBLE_CHROMIUM at your own.`;
}
