import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ago,
  codemodArgumentProblem,
  distinctVersions,
  fileName,
  plural,
  recoveryMessage,
  size,
  statusView,
} from '../../src/format';
import type { CodemodArgument, FileVersion, RecoveryReport } from '../../src/protocol';

test('time since reads like a person would say it', () => {
  assert.equal(ago(1000, 1030), 'just now');
  assert.equal(ago(1000, 1000 + 4 * 60 + 59), '4 min ago');
  assert.equal(ago(0, 3 * 3600 + 5), '3 h ago');
  assert.equal(ago(0, 86400 + 1), '1 day ago');
  assert.equal(ago(0, 5 * 86400), '5 days ago');
  assert.equal(ago(2000, 1000), 'just now', 'a clock a little ahead is not negative time');
});

test('counts read as a person writes them', () => {
  assert.equal(plural(1, 'file'), '1 file');
  assert.equal(plural(0, 'file'), '0 files');
  assert.equal(plural(2, 'unsaved buffer'), '2 unsaved buffers');
});

test('sizes', () => {
  assert.equal(size(512), '512 B');
  assert.equal(size(2048), '2.0 KB');
  assert.equal(size(3 * 1024 * 1024), '3.0 MB');
  assert.equal(size(null), 'deleted');
});

test('the status bar shows time since checkpoint and colours elevated and high risk', () => {
  const base = { lastCheckpointAt: 1000, dirtyDocuments: 2, storeError: null };
  const low = statusView({ ...base, riskLevel: 'low' }, 1000 + 120);
  assert.equal(low.text, '$(shield) 2 min ago');
  assert.equal(low.background, undefined);
  assert.match(low.tooltip, /Unsaved documents: 2/);
  const elevated = statusView({ ...base, riskLevel: 'elevated' }, 1000 + 120);
  assert.equal(elevated.text, '$(warning) 2 min ago · risk elevated');
  assert.equal(elevated.background, 'warning');
  assert.equal(statusView({ ...base, riskLevel: 'high' }, 1100).background, 'error');
  const none = statusView({ ...base, lastCheckpointAt: null, riskLevel: 'low' }, 1100);
  assert.equal(none.text, '$(shield) no checkpoint yet');
});

test('a store problem is shown before anything else', () => {
  const view = statusView({ lastCheckpointAt: 1000, dirtyDocuments: 0, storeError: 'disk full', riskLevel: 'low' }, 1010);
  assert.equal(view.background, 'error');
  assert.match(view.tooltip, /Store problem: disk full/);
});

function version(id: number, blob: string | null, label: string | null = null): FileVersion {
  return { id, createdAt: id, label, reason: 'auto', session: 's', files: 1, bytes: 1, kind: 'disk', deleted: blob === null, size: 1, blob };
}

test('browsing a file shows each distinct content once, preferring named checkpoints', () => {
  const versions = [version(5, 'c'), version(4, 'b'), version(3, 'b', 'before refactor'), version(2, 'b'), version(1, 'a')];
  assert.deepEqual(
    distinctVersions(versions).map((v) => [v.id, v.label]),
    [
      [5, null],
      [3, 'before refactor'],
      [1, null],
    ],
  );
});

const A_NEW = { uri: 'file:///w/a%20b.py', session: 'new', editedAt: 30, chars: 5, diskExists: true, diskChanged: false };
const A_OLD = { ...A_NEW, session: 'old', editedAt: 20, chars: 4 };
const C_OLD = { uri: 'file:///w/c.py', session: 'old', editedAt: 10, chars: 1, diskExists: false, diskChanged: false };
const REPORT: RecoveryReport = {
  files: 2,
  offered: [A_NEW, C_OLD],
  sessions: [
    { id: 'new', state: 'crashed', startedAt: 2, lastSeenAt: 3, files: [A_NEW] },
    { id: 'old', state: 'client-gone', startedAt: 1, lastSeenAt: 2, files: [A_OLD, C_OLD] },
  ],
};

test('the recovery message names the files offered, once each, and counts the sessions', () => {
  assert.equal(
    recoveryMessage(REPORT),
    'SHIM found unsaved work in 2 files from 2 editor sessions that ended before it was saved: a b.py, c.py',
  );
  assert.equal(fileName('file:///w/%C3%A9t%C3%A9.py'), 'été.py');
});

test('codemod arguments are checked as they are typed', () => {
  const arg = (type: string, required: boolean): CodemodArgument => ({ name: 'n', type, required, default: null, help: '' });
  assert.equal(codemodArgumentProblem(arg('str', true), ''), 'n is required');
  assert.equal(codemodArgumentProblem(arg('str', false), ''), undefined);
  assert.equal(codemodArgumentProblem(arg('int', true), '1.5'), 'n must be a whole number');
  assert.equal(codemodArgumentProblem(arg('int', true), '-3'), undefined);
  assert.equal(codemodArgumentProblem(arg('float', true), 'x'), 'n must be a number');
  assert.equal(codemodArgumentProblem(arg('bool', true), 'yes'), 'n must be true or false');
  assert.equal(codemodArgumentProblem(arg('bool', true), 'True'), undefined);
});
