// Writes a run's mutation scores into BENCHMARKS.md's "Mutation testing"
// table (between its markers), from Stryker's JSON report (mutation-testing-
// report-schema): node scripts/mutation-table.mjs TARGET REPORT.json SECONDS.
// TARGET is a folder (one row), a file, or files joined by commas (a row per
// file). Below it, a summary per folder: the folder's own row where there is
// one, else the sum of its files' rows, with the files not yet run named.
// `node scripts/mutation-table.mjs --summary` only rewrites the summary.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const [target, reportPath, seconds] = process.argv.slice(2);
const TARGET = { names: 90, decode: 90, policy: 85, flow: 85, mqtt: 85, cli: 85, evidence: 85, http: 85 };
const summaryOnly = target === '--summary';
const report = summaryOnly ? { files: {} } : JSON.parse(readFileSync(reportPath, 'utf8'));
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
// MUTATION_TESTS (vitest.mutation.config.ts) narrowed the tests: say which, the score is a lower bound.
const only = (process.env.MUTATION_TESTS ?? '').split(',').filter(Boolean);
const tests = only.length ? ` (tests: ${only.map((t) => t.replace(/^test\//, '')).join(', ')})` : '';
const run = `${Math.round(Number(seconds) / 60)} min${tests}`;
const date = new Date().toISOString().slice(0, 10);

function count(mutants) {
  const n = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, CompileError: 0, RuntimeError: 0 };
  for (const m of mutants) n[m.status] = (n[m.status] ?? 0) + 1;
  return n;
}
function score(n) {
  const detected = n.Killed + n.Timeout;
  const valid = detected + n.Survived + n.NoCoverage;
  return valid === 0 ? 100 : (100 * detected) / valid;
}
function row(label, n) {
  const goal = TARGET[label.split('/')[0]];
  return (
    `| \`${label}\` | **${score(n).toFixed(1)} %** | ${goal ? `${goal} %` : '—'} | ${n.Killed} | ${n.Timeout} | ` +
    `${n.Survived} | ${n.NoCoverage} | ${n.Ignored} | ${n.CompileError} | ${run} | ${commit}, ${date} |`
  );
}

/** Rows of this run: the folder's, or one per file. */
const made = new Map();
if (summaryOnly) {
  // nothing measured: the rows stay as they are
} else if (target.includes(',') || target.endsWith('.ts')) {
  for (const f of target.split(',')) {
    const key = Object.keys(report.files).find((k) => k.endsWith(`agent/src/${f}`));
    made.set(f, row(f, count(key ? report.files[key].mutants : [])));
  }
} else {
  made.set(`${target}/`, row(`${target}/`, count(Object.values(report.files).flatMap((f) => f.mutants))));
}

const START = '<!-- mutation:start -->';
const END = '<!-- mutation:end -->';
const SUM_START = '<!-- mutation-folders:start -->';
const SUM_END = '<!-- mutation-folders:end -->';
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
const [table, afterTable] = rest.split(END);
const labelOf = (l) => /^\| `([^`]+)`/.exec(l)?.[1];
const rows = table
  .trim()
  .split('\n')
  .slice(2)
  .filter((l) => l.startsWith('|') && !made.has(labelOf(l)));
rows.push(...made.values());
rows.sort();

/** Files of types and re-exports only give Stryker nothing to mutate: not "not run". */
function hasCode(path) {
  const text = readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
  return /\b(function|class|const|let|var|if|return)\b/.test(text.replace(/^export \{[^}]*\} from .*$/gm, ''));
}

// The summary per folder with a target.
const cells = (l) => l.split('|').map((c) => c.trim());
const summary = ['| folder | score | target | from | not run yet |', '|---|---|---|---|---|'];
for (const [folder, goal] of Object.entries(TARGET)) {
  const own = rows.find((l) => labelOf(l) === `${folder}/`);
  const files = rows.filter((l) => labelOf(l)?.startsWith(`${folder}/`) && labelOf(l) !== `${folder}/`);
  const sources = readdirSync(`agent/src/${folder}`).filter(
    (f) => f.endsWith('.ts') && hasCode(`agent/src/${folder}/${f}`),
  );
  let n;
  let from;
  let missing = [];
  if (own !== undefined) {
    const c = cells(own);
    n = { Killed: +c[4], Timeout: +c[5], Survived: +c[6], NoCoverage: +c[7] };
    from = 'the folder row';
  } else if (files.length > 0) {
    n = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
    for (const l of files) {
      const c = cells(l);
      n.Killed += +c[4];
      n.Timeout += +c[5];
      n.Survived += +c[6];
      n.NoCoverage += +c[7];
    }
    from = `${files.length} file rows`;
    const have = new Set(files.map((l) => labelOf(l).slice(folder.length + 1)));
    missing = sources.filter((f) => !have.has(f));
  } else {
    summary.push(`| \`${folder}/\` | — | ${goal} % | — | all ${sources.length} files |`);
    continue;
  }
  const s = score(n);
  const met = missing.length === 0 && s >= goal ? ' (met)' : '';
  summary.push(
    `| \`${folder}/\` | **${s.toFixed(1)} %**${met} | ${goal} % | ${from} | ${missing.length ? missing.map((f) => `\`${f}\``).join(', ') : '—'} |`,
  );
}

let after = afterTable;
const block = `${SUM_START}\n${summary.join('\n')}\n${SUM_END}`;
if (after.includes(SUM_START)) {
  const [a, r] = after.split(SUM_START);
  after = `${a}${block}${r.split(SUM_END)[1]}`;
} else {
  after = `\n\nPer folder (a folder's own row where there is one, else the sum of its files' rows):\n\n${block}${after}`;
}
doc = `${before}${START}\n${[...HEAD, ...rows].join('\n')}\n${END}${after}`;
writeFileSync('BENCHMARKS.md', doc);
for (const r of made.values()) console.log(r);
