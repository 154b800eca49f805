// TypeScript and ES modules to CommonJS, through esbuild's transform API (native where installed, esbuild-wasm in
// the packaged extension). The JavaScript runtimes take only CommonJS; nothing of the source runs here.

import type { TranspileOptions, TranspileResult } from './types';

type EsbuildTransform = (
  code: string,
  options: { loader: 'ts'; format: 'cjs'; target: string; sourcefile: string; sourcemap?: 'inline' },
) => Promise<{ code: string }>;
let esbuildTransform: Promise<EsbuildTransform | string> | undefined;

function loadEsbuild(): Promise<EsbuildTransform | string> {
  if (!esbuildTransform) {
    // Computed specifiers keep bundlers from inlining esbuild (its JS API must stay next to its binary).
    // The native package is used where it is installed (development, the CLI from a checkout); the packaged
    // extension ships the portable esbuild-wasm instead, so no platform-specific binary goes into the .vsix.
    const load = (name: string) =>
      import(name).then((m: { transform?: EsbuildTransform; default?: { transform?: EsbuildTransform } }) => {
        const transform = m.transform ?? m.default?.transform;
        if (!transform) throw new Error(`${name} has no transform()`);
        return transform;
      });
    const native = ['es', 'build'].join('');
    const portable = [native, 'wasm'].join('-');
    esbuildTransform = load(native)
      .catch(() => load(portable))
      .catch(
        (e: Error) =>
          `TypeScript needs esbuild (or esbuild-wasm) to transpile: ${e.message}. Reinstall the extension or run \`npm ci\`.`,
      );
  }
  return esbuildTransform;
}

/**
 * Transpile TypeScript to CommonJS JavaScript. Returns the code, or the compiler's message for a syntax error.
 * With `sourceMap`, an inline source map is appended (the sandbox runs such code with --enable-source-maps).
 */
export async function transpileTypeScript(source: string, options: TranspileOptions = {}): Promise<TranspileResult> {
  const transform = await loadEsbuild();
  if (typeof transform === 'string') return { error: transform, sandboxError: true };
  try {
    const out = await transform(source, {
      loader: 'ts',
      format: 'cjs',
      target: 'node20',
      sourcefile: 'main.ts',
      ...(options.sourceMap ? { sourcemap: 'inline' as const } : {}),
    });
    return { code: out.code };
  } catch (e) {
    const errors = (
      e as { errors?: { text: string; location?: { line: number; column: number; lineText: string } | null }[] }
    ).errors;
    if (errors?.length) {
      const text = errors
        .map((er) =>
          er.location
            ? `main.ts:${er.location.line}:${er.location.column + 1}: error: ${er.text}\n    ${er.location.lineText}`
            : `main.ts: error: ${er.text}`,
        )
        .join('\n');
      return { error: text, sandboxError: false };
    }
    return { error: (e as Error).message, sandboxError: false };
  }
}
