// What the Node load generators (publisher.mjs, receivers.mjs) share: the wall clock, their
// command line (argparse's conventions, so the Python orchestrator sees one behaviour) and
// their result file.

import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

// Wall clock with sub-millisecond resolution (Date.now() has 1 ms).
export const now = () => (performance.timeOrigin + performance.now()) / 1000;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The command line: `options` maps each long option to 'string' or 'boolean'. Exits 0 after
 * printing `usage` for --help and 2 for what parseArgs refuses. Returns the values and a
 * Cli whose number() and done() collect problems, so all of them are reported at once.
 */
export function parseCli(argv, usage, options) {
  const prog = usage.match(/bench\/(\S+)/)?.[1] ?? 'bench';
  const fail = (message) => {
    console.error(`${usage}\n${prog}: error: ${message}`);
    process.exit(2);
  };
  // Like argparse, take a negative number as an option's value (`--rate -1` is then refused
  // for its value, not as a missing argument).
  const joined = [];
  for (const arg of argv) {
    const last = joined.length - 1;
    const option = (joined[last] ?? '').slice(2);
    if (/^-[\d.]/.test(arg) && options[option] === 'string') joined[last] += `=${arg}`;
    else joined.push(arg);
  }
  const spec = { help: { type: 'boolean', short: 'h' } };
  for (const [name, type] of Object.entries(options)) spec[name] = { type };
  let values;
  try {
    ({ values } = parseArgs({ args: joined, options: spec }));
  } catch (err) {
    fail(err.message);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const problems = [];
  const cli = {
    problems,
    /** Report the required options that are missing. */
    require(...names) {
      const missing = names.filter((n) => values[n] === undefined);
      if (missing.length) {
        const list = missing.map((n) => `--${n}`).join(', ');
        problems.push(`the following arguments are required: ${list}`);
      }
    },
    /** An option's number (its default when not given), or undefined if missing or invalid. */
    number(name, integer, fallback) {
      const text = values[name] ?? fallback;
      if (text === undefined) return undefined;
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
        problems.push(`argument --${name}: invalid ${integer ? 'int' : 'float'} value: '${text}'`);
        return undefined;
      }
      return value;
    },
    /** Exit 2 with every problem noted, if any. */
    done() {
      if (problems.length) fail(problems.join('; '));
    },
  };
  return { values, cli };
}

/** Same as bench/procio.py: the file exists once the event happened; it holds our pid. */
export function markReady(path) {
  if (path !== null) writeFileSync(path, String(process.pid));
}

/** Atomically, so the orchestrator never reads a half-written result. */
export function writeJson(path, data) {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(data));
  renameSync(tmp, path);
}
