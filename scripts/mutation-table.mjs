// Writes one folder's mutation score into BENCHMARKS.md's "Mutation testing"
// table (between its markers), from Stryker's JSON report (mutation-testing-
// report-schema): node scripts/mutation-table.mjs FOLDER REPORT.json SECONDS
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const [folder, reportPath, seconds] = process.argv.slice(2);
const TARGET = { names: 90, decode: 90, policy: 85, flow: 85, mqtt: 85, cli: 85, evidence: 85, http: 85 };
const report = JSON.parse(readFileSync(reportPath, 'utf8'));
const n = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, CompileError: 0, RuntimeError: 0 };
for (const file of Object.values(report.files)) for (const m of file.mutants) n[m.status] = (n[m.status] ?? 0) + 1;
const detected = n.Killed + n.Timeout;
const valid = detected + n.Survived + n.NoCoverage;
const score = valid === 0 ? 100 : (100 * detected) / valid;
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const target = TARGET[folder.split('/')[0]];
const label = folder.endsWith('.ts') ? folder : `${folder}/`;
// MUTATION_TESTS (vitest.mutation.config.ts) narrowed the tests: say which, the score is a lower bound.
const only = (process.env.MUTATION_TESTS ?? '').split(',').filter(Boolean);
const tests = only.length ? ` (tests: ${only.map((t) => t.replace(/^test\//, '')).join(', ')})` : '';
const row =
  `| \`${label}\` | **${score.toFixed(1)} %** | ${target ? `${target} %` : '—'} | ${n.Killed} | ${n.Timeout} | ` +
  `${n.Survived} | ${n.NoCoverage} | ${n.Ignored} | ${n.CompileError} | ${Math.round(Number(seconds) / 60)} min${tests} | ` +
  `${commit}, ${new Date().toISOString().slice(0, 10)} |`;

const START = '<!-- mutation:start -->';
const END = '<!-- mutation:end -->';
const HEAD = [
  '| folder | score | target | killed | timeout | survived | no coverage | ignored (static / disabled) | compile errors | run | commit, date |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];
let doc = readFileSync('BENCHMARKS.md', 'utf8');
if (!doc.includes(START)) {
  doc +=
    '\n## Mutation testing (issue 19)\n\n' +
    'Score = (killed + timeout) / (killed + timeout + survived + no coverage), per folder of `agent/src`, ' +
    'from `scripts/mutation FOLDER` (StrykerJS, vitest runner, TypeScript checker, per-test coverage, ' +
    'concurrency 1); "run" is the wall time of that run (incremental runs reuse earlier results). ' +
    'Reports: `reports/mutation/FOLDER/index.html`.\n\n' +
    `${START}\n${HEAD.join('\n')}\n${END}\n`;
}
const [before, rest] = doc.split(START);
const [table, after] = rest.split(END);
const rows = table
  .trim()
  .split('\n')
  .slice(2)
  .filter((l) => l.startsWith('|') && !l.startsWith(`| \`${label}\``));
rows.push(row);
rows.sort();
doc = `${before}${START}\n${[...HEAD, ...rows].join('\n')}\n${END}${after}`;
writeFileSync('BENCHMARKS.md', doc);
console.log(row);
