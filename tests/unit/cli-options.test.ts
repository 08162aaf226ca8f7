// The CLI's one number parser, the --threads policy and the error printer: what each accepts,
// refuses (naming the flag) and warns about, without spawning the CLI (tests/e2e does that).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommanderError } from 'commander';
import { ChameleonError } from '../../src/util/errors.js';
import { maxThreads, parseChoice, parseNumber, parseThreads, reportError } from '../../src/cli/options.js';

test('parseNumber takes plain decimals and refuses NaN, infinities, hex, blanks and overflow, naming the flag', () => {
  assert.equal(parseNumber('--t', '0.7'), 0.7);
  assert.equal(parseNumber('--t', '-2.5e-3'), -2.5e-3);
  assert.equal(parseNumber('--t', '.5'), 0.5);
  assert.equal(parseNumber('--n', '12', { int: true }), 12);
  for (const bad of ['nan', 'NaN', 'inf', 'Infinity', '-Infinity', '1e400', '0x10', '', ' ', '1,5', '3abc', '1e']) {
    assert.throws(() => parseNumber('--temperature', bad), (e: unknown) => e instanceof ChameleonError && e.message.startsWith('--temperature must be a number'), `'${bad}'`);
  }
  assert.throws(() => parseNumber('--n', '1.5', { int: true }), /--n must be an integer, got '1.5'/);
  assert.throws(() => parseNumber('--n', '1e20', { int: true }), /--n must be an integer/);
});

test('parseNumber enforces inclusive and exclusive bounds', () => {
  assert.equal(parseNumber('--n', '1', { int: true, min: 1, max: 8 }), 1);
  assert.equal(parseNumber('--n', '8', { int: true, min: 1, max: 8 }), 8);
  assert.throws(() => parseNumber('--n', '0', { int: true, min: 1, max: 8 }), /--n must be an integer >= 1 and <= 8, got '0'/);
  assert.throws(() => parseNumber('--n', '9', { int: true, min: 1, max: 8 }), /<= 8/);
  assert.throws(() => parseNumber('--lr', '0', { min: 0, minExclusive: true }), /--lr must be a number > 0, got '0'/);
  assert.equal(parseNumber('--lr', '1e-9', { min: 0, minExclusive: true }), 1e-9);
});

test('parseThreads refuses above 4x the cores, warns above the cores, and is silent up to them', () => {
  const warnings: string[] = [];
  const warn = (l: string): number => warnings.push(l);
  assert.equal(maxThreads(4), 16);
  assert.equal(parseThreads('4', 4, warn), 4);
  assert.deepEqual(warnings, []);
  assert.equal(parseThreads('16', 4, warn), 16);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /--threads 16 is more than this machine's 4 cores/);
  assert.throws(() => parseThreads('17', 4, warn), /--threads must be an integer >= 1 and <= 16, got '17'/);
  assert.throws(() => parseThreads('10000', 4, warn), /--threads/);
  assert.throws(() => parseThreads('0', 4, warn), /--threads/);
});

test('parseChoice lists the choices and names the flag', () => {
  assert.equal(parseChoice('--mode', 'image', ['text', 'image', 'interleaved']), 'image');
  assert.throws(() => parseChoice('--mode', 'video', ['text', 'image', 'interleaved']), /^ChameleonError: --mode must be text, image or interleaved, got 'video'$/);
});

test('reportError: usage errors are one prefixed line with exit 2, help and version exit 0, bugs exit 1', () => {
  const lines: string[] = [];
  const w = (s: string): number => lines.push(s);
  assert.equal(reportError(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"), w), 2);
  assert.equal(reportError(new ChameleonError('bad\nthing'), w), 2);
  assert.deepEqual(lines, ["chameleon: unknown option '--x'\n", 'chameleon: bad; thing\n']);
  assert.equal(reportError(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), w), 0);
  assert.equal(reportError(new CommanderError(0, 'commander.version', '0.1.0'), w), 0);
  assert.equal(lines.length, 2, 'help and version print nothing more');
  assert.equal(reportError(new TypeError('oops'), w), 1);
  assert.match(lines[2], /^chameleon: internal error/);
});
