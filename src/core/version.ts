// The extension's version, from package.json (esbuild keeps only this field in the bundle).
import { version } from '../../package.json';

export const VERSION: string = version;
