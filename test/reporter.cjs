// Mocha's spec reporter plus one closing line, "unit: N passed, N failed, N skipped", that CI reads.
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;

class CrucibleReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = this.stats;
      const label = process.env.CRUCIBLE_SUITE_LABEL || 'unit';
      process.stdout.write(`\n${label}: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
    });
  }
}
module.exports = CrucibleReporter;
