// Which functions have a verification or a refinement going, so a second run of the same function is not
// started and its code lens can say so.

export type RunKind = 'verify' | 'refine';

export class FunctionRuns {
  private readonly runs = new Map<string, RunKind>();

  /** `changed` is called whenever a run starts or ends (the code lens redraws). */
  constructor(private readonly changed: () => void) {}

  get(uri: string, qualifiedName: string): RunKind | undefined {
    return this.runs.get(`${uri}#${qualifiedName}`);
  }

  has(uri: string, qualifiedName: string): boolean {
    return this.runs.has(`${uri}#${qualifiedName}`);
  }

  start(uri: string, qualifiedName: string, kind: RunKind): void {
    this.runs.set(`${uri}#${qualifiedName}`, kind);
    this.changed();
  }

  end(uri: string, qualifiedName: string): void {
    this.runs.delete(`${uri}#${qualifiedName}`);
    this.changed();
  }
}
