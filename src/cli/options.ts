// How every `chameleon` command declares its options: one number parser (integers and floats, with
// ranges, errors that name the flag), the shared --backend/--threads/--json options with the thread
// policy (refuse above 4× the cores, warn above the cores), and the program-wide error handling that
// turns commander's usage errors into one `chameleon: …` line with exit code 2. No command logic here.

import { availableParallelism } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { ChameleonError } from '../util/errors.js';

/** Exit code of every error the user can fix (bad flags, bad files, bad values). */
const USAGE_EXIT = 2;

export interface NumberSpec {
  /** Whole numbers only. */
  int?: boolean;
  /** Inclusive bounds (default: any finite number). */
  min?: number;
  max?: number;
  /** The lower bound itself is not allowed (e.g. a temperature must be > 0). */
  minExclusive?: boolean;
}

// A plain decimal number: no hex, no "Infinity"/"NaN", no empty string (all of which Number() takes).
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function describe(spec: NumberSpec): string {
  const kind = spec.int ? 'an integer' : 'a number';
  const lo = spec.min === undefined ? '' : spec.minExclusive ? `> ${spec.min}` : `>= ${spec.min}`;
  const hi = spec.max === undefined ? '' : `<= ${spec.max}`;
  const range = [lo, hi].filter(Boolean).join(' and ');
  return range ? `${kind} ${range}` : kind;
}

/** Parses the value of `flag` as a number meeting spec; a ChameleonError names the flag otherwise. */
export function parseNumber(flag: string, raw: string, spec: NumberSpec = {}): number {
  const want = describe(spec);
  const s = raw.trim();
  const n = DECIMAL.test(s) ? Number(s) : NaN;
  if (Number.isNaN(n)) throw new ChameleonError(`${flag} must be ${want}, got '${raw}'`);
  if (!Number.isFinite(n)) throw new ChameleonError(`${flag} must be ${want}, got '${raw}' (too large to be a number)`);
  if (spec.int && !Number.isSafeInteger(n)) throw new ChameleonError(`${flag} must be ${want}, got '${raw}'`);
  const low = spec.min !== undefined && (spec.minExclusive ? n <= spec.min : n < spec.min);
  const high = spec.max !== undefined && n > spec.max;
  if (low || high) throw new ChameleonError(`${flag} must be ${want}, got '${raw}'`);
  return n;
}

/** The long flag of an option spec: '--max-new-tokens <n>' -> '--max-new-tokens'. */
function longFlag(flags: string): string {
  return /--[\w-]+/.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0];
}

/** A commander Option whose value goes through parseNumber (optionally with a default). */
export function numberOption(flags: string, description: string, spec: NumberSpec, defaultValue?: number): Option {
  const flag = longFlag(flags);
  const o = new Option(flags, description).argParser((v: string) => parseNumber(flag, v, spec));
  return defaultValue === undefined ? o : o.default(defaultValue);
}

/** Parses a value that must be one of `choices`; the error names the flag and lists them. */
export function parseChoice<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  const list = choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}` : choices[0];
  throw new ChameleonError(`${flag} must be ${list}, got '${raw}'`);
}

/** A commander Option restricted to `choices` (with parseChoice's message, not commander's). */
export function choiceOption<T extends string>(flags: string, description: string, choices: readonly T[], defaultValue?: T): Option {
  const flag = longFlag(flags);
  const o = new Option(flags, `${description} (${choices.join(' | ')})`).argParser((v: string) => parseChoice(flag, v, choices));
  return defaultValue === undefined ? o : o.default(defaultValue);
}

/** The most worker threads `--threads` accepts: beyond 4× the cores threads only time-share (each costs ~9 MiB). */
export function maxThreads(cores = availableParallelism()): number {
  return 4 * cores;
}

/** Validates --threads; warns on stderr above the core count. */
export function parseThreads(raw: string, cores = availableParallelism(), warn: (line: string) => void = (l) => process.stderr.write(l + '\n')): number {
  const n = parseNumber('--threads', raw, { int: true, min: 1, max: maxThreads(cores) });
  if (n > cores) warn(`warning: --threads ${n} is more than this machine's ${cores} cores; the extra threads only share them`);
  return n;
}

export interface EngineFlags {
  backend?: string;
  threads?: number;
}

/** --threads, validated by parseThreads. */
export function threadsOption(): Option {
  return new Option('--threads <n>', `worker threads of the wasm backend (default: all ${availableParallelism()} cores; at most ${maxThreads()})`).argParser((v: string) => parseThreads(v));
}

/** Adds --backend and --threads (every command that computes has both). */
export function engineOptions(cmd: Command): Command {
  return cmd.addOption(choiceOption('--backend <name>', 'compute backend', ['wasm', 'ref'], 'wasm')).addOption(threadsOption());
}

/**
 * Makes commander's own errors (unknown option, missing argument, bad choice) throw instead of
 * exiting, so main() prints them like every other usage error. Call before adding commands:
 * subcommands copy these settings when they are created.
 */
export function configureProgram(program: Command): Command {
  return program.exitOverride().configureOutput({ outputError: () => {} });
}

function oneLine(s: string): string {
  return s.trim().split(/\s*\n\s*/).join('; ');
}

/** Prints err the way the CLI reports failures and returns the exit code. */
export function reportError(err: unknown, write: (s: string) => void = (s) => process.stderr.write(s)): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
    if (err.code === 'commander.help') return USAGE_EXIT; // help shown because a subcommand is missing
    write(`chameleon: ${oneLine(err.message.replace(/^error: /, ''))}\n`);
    return USAGE_EXIT;
  }
  if (err instanceof ChameleonError) {
    write(`chameleon: ${oneLine(err.message)}\n`);
    return USAGE_EXIT;
  }
  write(`chameleon: internal error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
