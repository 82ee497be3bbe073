import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clearedMessage,
  ago,
  checkpointFileChanges,
  checkpointTitle,
  codemodArgumentProblem,
  codemodOutcome,
  codemodTitle,
  dayName,
  qualifiedName,
  distinctVersions,
  fileName,
  lineChanges,
  riskMessage,
  logLine,
  lineChangesText,
  openFilesText,
  plural,
  recoveryItemText,
  recoveryMessage,
  signalView,
  size,
  STATUS_LINKS,
  shortClock,
  groupText,
  statusView,
  unprotectedText,
  versionChanges,
} from '../../src/format';
import type { CodemodArgument, FileVersion, RecoveryReport } from '../../src/protocol';

test('time since reads like a person would say it', () => {
  assert.equal(ago(1000, 1003), 'just now');
  assert.equal(ago(1000, 1012), '12 s ago', 'seconds under a minute');
  assert.equal(ago(1000, 1000 + 4 * 60 + 59), '4 min ago');
  assert.equal(ago(0, 3 * 3600 + 5), '3 h ago');
  assert.equal(ago(0, 86400 + 1), '1 day ago');
  assert.equal(ago(0, 5 * 86400), '5 days ago');
  assert.equal(ago(2000, 1000), 'just now', 'a clock a little ahead is not negative time');
});

test('a time that is not re-rendered (a diff title) is a clock time, not an age that freezes', () => {
  const at = new Date(2026, 11, 2, 9, 5, 30).getTime() / 1000;
  assert.equal(shortClock(at, at + 12), '09:05', 'today: the time of day');
  assert.equal(shortClock(at, at + 86400), '2 Dec 09:05', 'another day: with its date');
  assert.doesNotMatch(shortClock(at, at + 12), /ago/);
});

test('counts read as a person writes them', () => {
  assert.equal(plural(1, 'file'), '1 file');
  assert.equal(plural(0, 'file'), '0 files');
  assert.equal(plural(2, 'unsaved buffer'), '2 unsaved buffers');
});

test('sizes', () => {
  assert.equal(size(512), '512 B');
  assert.equal(size(2048), '2 KB', 'no ".0" that says nothing');
  assert.equal(size(256 * 1024), '256 KB');
  assert.equal(size(1536), '1.5 KB');
  assert.equal(size(3 * 1024 * 1024), '3 MB');
  assert.equal(size(null), 'deleted');
});

test("the status bar item says it is SHIM's, and that typed work is protected before any checkpoint", () => {
  const base = { lastCheckpointAt: 1000, dirtyDocuments: 2, storeError: null, autoCheckpoint: true };
  const low = statusView({ ...base, riskLevel: 'low' }, 1000 + 120);
  assert.equal(low.text, '$(shield) SHIM: saved 2 min ago');
  assert.equal(low.background, undefined);
  assert.match(low.tooltip, /what you typed in 2 unsaved files/);
  assert.match(low.tooltip, /\[Checkpoint Now\]\(command:shim\.checkpointNow\)/);
  assert.match(low.tooltip, /\[Pause Automatic\]\(command:shim\.pauseAutoCheckpoints\)/);
  const none = statusView({ ...base, lastCheckpointAt: null, riskLevel: 'low' }, 1100);
  assert.equal(none.text, '$(shield) SHIM: protected');
  assert.doesNotMatch(none.text, /no checkpoint/);
});

test('the status bar item shows paused automatic checkpoints, with the action that resumes them', () => {
  const view = statusView({ lastCheckpointAt: 1000, dirtyDocuments: 0, storeError: null, autoCheckpoint: false, riskLevel: 'low' }, 1030);
  assert.equal(view.text, '$(debug-pause) SHIM: saved 30 s ago · paused');
  assert.match(view.tooltip, /Automatic checkpoints are paused/);
  assert.match(view.tooltip, /\[Resume Automatic\]\(command:shim\.resumeAutoCheckpoints\)/);
  const running = statusView({ lastCheckpointAt: 1000, dirtyDocuments: 0, storeError: null, autoCheckpoint: true, riskLevel: 'low' }, 1030);
  const mistyped = statusView({ lastCheckpointAt: 1000, dirtyDocuments: 0, storeError: null, riskLevel: 'low', settingsProblems: ['x'] }, 1030);
  const linked = [view, running, mistyped].flatMap((v) => [...v.tooltip.matchAll(/\(command:([\w.]+)/g)]).map((m) => m[1]);
  assert.deepEqual([...new Set(linked)].sort(), [...STATUS_LINKS].sort(), 'the tooltip trusts exactly the commands it links to');
});

test('a setting SHIM could not use stays on the status bar item, with the way to the settings, until it is mended', () => {
  const problem = 'setting \'maxFileSize\': "2*MB" cannot be used (it must be a whole number); using the default, 2097152';
  const view = statusView({ lastCheckpointAt: 1000, dirtyDocuments: 0, storeError: null, riskLevel: 'low', settingsProblems: [problem] }, 1030);
  assert.equal(view.text, '$(shield) SHIM: saved 30 s ago · $(gear) settings');
  assert.match(view.tooltip, /\*\*1 setting not applied\*\* \(SHIM uses the default instead\)/);
  assert.ok(view.tooltip.includes('- setting \'maxFileSize\': "2\\*MB" cannot be used \\(it must be a whole number\\); using the default, 2097152'), view.tooltip);
  assert.ok(view.tooltip.includes(`[Open Settings](command:workbench.action.openSettings?${encodeURIComponent('["@ext:shim-lsp.shim"]')})`));
  const mended = statusView({ lastCheckpointAt: 1000, dirtyDocuments: 0, storeError: null, riskLevel: 'low', settingsProblems: [] }, 1030);
  assert.equal(mended.text, '$(shield) SHIM: saved 30 s ago');
  assert.doesNotMatch(mended.tooltip, /not applied/);
});

test('an unsaved buffer over maxFileSize is said not protected, and not counted as protected', () => {
  const status = { lastCheckpointAt: 1000, dirtyDocuments: 2, unprotectedDocuments: 1, maxFileSize: 256 * 1024, storeError: null, riskLevel: 'low' as const };
  assert.equal(unprotectedText(status), '1 file not protected (over maxFileSize, 256 KB): save it');
  const view = statusView(status, 1030);
  assert.equal(view.text, '$(warning) SHIM: 1 file not protected');
  assert.equal(view.background, 'warning');
  assert.match(view.tooltip, /\*\*1 file not protected \(over maxFileSize, 256 KB\): save it\.\*\*/);
  assert.match(view.tooltip, /what you typed in 1 unsaved file:/, 'only the other file is protected');
  const both = statusView({ ...status, unprotectedDocuments: 2 }, 1030);
  assert.doesNotMatch(both.tooltip, /holds what you typed/);
  assert.match(both.tooltip, /2 files not protected \(over maxFileSize, 256 KB\): save them/);
  assert.equal(unprotectedText({ unprotectedDocuments: 0, maxFileSize: 1024 }), undefined);
});

test('a window with no folder open is not said to be protected', () => {
  const view = statusView({ lastCheckpointAt: null, dirtyDocuments: 1, storeError: null, riskLevel: 'low', workspaceFolders: 0 }, 1030);
  assert.equal(view.text, '$(circle-slash) SHIM: no folder open');
  assert.match(view.tooltip, /protects nothing in this window/);
  assert.doesNotMatch(view.tooltip, /journals every change you type|holds what you typed/);
  const open = statusView({ lastCheckpointAt: null, dirtyDocuments: 0, storeError: null, riskLevel: 'low', workspaceFolders: 1 }, 1030);
  assert.equal(open.text, '$(shield) SHIM: protected');
});

test('the error colour is for real danger; high risk of unsaved work is a warning', () => {
  const base = { lastCheckpointAt: 1000, dirtyDocuments: 2, storeError: null, autoCheckpoint: true };
  const elevated = statusView({ ...base, riskLevel: 'elevated' }, 1000 + 120);
  assert.equal(elevated.text, '$(warning) SHIM: saved 2 min ago');
  assert.equal(elevated.background, undefined);
  assert.equal(statusView({ ...base, riskLevel: 'high' }, 1100).background, 'warning');
  const disk = statusView({ ...base, riskLevel: 'high', danger: 'the disk under the store is nearly full' }, 1100);
  assert.equal(disk.background, 'error');
  assert.match(disk.tooltip, /nearly full/);
});

test('a store problem is shown before anything else', () => {
  const view = statusView({ lastCheckpointAt: 1000, dirtyDocuments: 0, storeError: 'disk full', riskLevel: 'low' }, 1010);
  assert.equal(view.background, 'error');
  assert.equal(view.text, '$(error) SHIM: work at risk');
  assert.match(view.tooltip, /cannot protect new work:\*\* disk full/);
});

test('counts of open files read right', () => {
  assert.equal(openFilesText(3, 1), '3 files open, 1 with unsaved changes');
  assert.equal(openFilesText(1, 0), '1 file open, none with unsaved changes');
  assert.equal(openFilesText(0, 0), '0 files open');
});

test('crash-risk signals have human names and units, and yes/no checks no percentages', () => {
  const signal = (name: string, value: number, threshold: number, severity = value / threshold) => ({ name, value, threshold, severity, explanation: '' });
  assert.deepEqual(signalView(signal('memoryMb', 62.3, 1024)), { label: 'Server memory', description: '62 MB, high at 1 GB' });
  assert.deepEqual(signalView(signal('clientAlive', 1, 1, 0)), { label: 'Editor process', description: 'running' });
  assert.deepEqual(signalView(signal('unsavedKb', 2, 256)), { label: 'Unsaved text not in a checkpoint', description: '2 KB, high at 256 KB' });
  assert.deepEqual(signalView(signal('diskFreeMb', 20480, 200, 0)), { label: 'Free disk space for the store', description: '20 GB free, high below 200 MB' });
  assert.deepEqual(signalView(signal('unsavedAgeMinutes', 0.4, 10)), { label: 'Oldest change not in a checkpoint', description: 'less than a minute old, high at 10 min' });
  // Everything in a checkpoint: no oldest change (not "less than a minute old" beside "0 B").
  assert.deepEqual(signalView(signal('unsavedAgeMinutes', 0, 30)), { label: 'Oldest change not in a checkpoint', description: 'none, high at 30 min' });
  assert.deepEqual(signalView(signal('unsavedAgeMinutes', 3.7, 10)).description, '3 min old, high at 10 min');
  assert.equal(signalView(signal('memoryGrowthMbPerMin', 0, 50)).description, '0 MB/min, high at 50 MB/min');
  assert.equal(signalView(signal('journalLagSeconds', 0.04, 5)).description, '0 s behind, high at 5 s');
  assert.equal(signalView(signal('journalLagSeconds', 1.25, 5)).description, '1.3 s behind, high at 5 s');
});

test('what recovery would bring back reads as lines added and removed', () => {
  assert.deepEqual(lineChanges('a\nb\nc\n', 'a\nB\nc\nd\n'), { added: 2, removed: 1 });
  assert.equal(lineChangesText({ added: 2, removed: 1 }), '+2 \u22121 lines');
  assert.equal(lineChangesText({ added: 1, removed: 0 }), '+1 line');
  assert.equal(lineChangesText(lineChanges('x\n', 'x\n')), 'no changed lines');
});

function version(id: number, blob: string | null, label: string | null = null): FileVersion {
  return { id, createdAt: id, label, reason: 'auto', session: 's', files: 1, bytes: 1, kind: 'disk', deleted: blob === null, size: 1, blob };
}

test('browsing a file shows each distinct content once, dated when it appeared, or by the first name it had', () => {
  const versions = [version(5, 'c'), version(4, 'b'), version(3, 'b', 'before refactor'), version(2, 'b'), version(1, 'a')];
  assert.deepEqual(
    distinctVersions(versions).map((v) => [v.id, v.label]),
    [
      [5, null],
      [3, 'before refactor'],
      [1, null],
    ],
  );
  // Unchanged since "first": listed under "first", not under the newest checkpoint holding it.
  const unchanged = [version(7, 'x', 'second'), version(6, 'x', 'first'), version(5, 'x')];
  assert.deepEqual(distinctVersions(unchanged).map((v) => v.label), ['first']);
  const automatic = [version(9, 'y'), version(8, 'y'), version(7, 'z')];
  assert.deepEqual(distinctVersions(automatic).map((v) => v.id), [8, 7], 'the checkpoint that first held it');
});

test('a version shows the lines it added and removed, as a file history does', () => {
  const counted = (added: number, removed: number) => ({ ...version(2, 'b'), linesAdded: added, linesRemoved: removed, lines: 10, linesUncounted: null });
  assert.equal(versionChanges(counted(12, 3)), '+12 \u22123');
  assert.equal(versionChanges(counted(2, 0)), '+2');
  assert.equal(versionChanges(counted(0, 1)), '\u22121');
  assert.equal(versionChanges(counted(0, 0)), 'no line changes', 'the same text in another encoding');
  assert.doesNotMatch(versionChanges(counted(12, 3)), /\bB\b|bytes/, 'lines, not bytes');
});

test('a version whose lines are not counted says why', () => {
  const uncounted = (why: FileVersion['linesUncounted'], lines: number | null = null) => ({
    ...version(1, 'a'),
    size: 3 * 1024 * 1024,
    linesAdded: null,
    linesRemoved: null,
    lines,
    linesUncounted: why,
  });
  assert.equal(versionChanges(uncounted('oldest', 12)), '12 lines, the oldest version');
  assert.equal(versionChanges(uncounted('oldest', 1)), '1 line, the oldest version');
  assert.equal(versionChanges(uncounted('tooLarge')), '3 MB, too large to count lines');
  assert.equal(versionChanges(uncounted('binary')), '3 MB, binary');
  assert.equal(versionChanges(uncounted('manyChanges', 4000)), 'many lines changed');
  assert.equal(versionChanges(uncounted('timeBudget')), 'lines not counted');
  assert.equal(versionChanges(version(1, 'a')), '1 B', 'a server that does not count lines: the size');
});

test("a workspace checkpoint shows what it holds of the file: its changes, unchanged, or none", () => {
  const versions = [
    { ...version(5, 'c'), linesAdded: 1, linesRemoved: 2 },
    { ...version(4, 'b'), linesAdded: 3, linesRemoved: 0 },
    { ...version(3, 'b'), linesAdded: 3, linesRemoved: 0 },
    version(2, null),
    { ...version(1, 'a'), linesAdded: null, linesRemoved: null, lines: 4, linesUncounted: 'oldest' as const },
  ];
  assert.equal(checkpointFileChanges(versions, 5, 'app.py'), 'app.py +1 \u22122');
  assert.equal(checkpointFileChanges(versions, 4, 'app.py'), 'app.py unchanged');
  assert.equal(checkpointFileChanges(versions, 3, 'app.py'), 'app.py +3');
  assert.equal(checkpointFileChanges(versions, 2, 'app.py'), 'app.py deleted');
  assert.equal(checkpointFileChanges(versions, 1, 'app.py'), 'app.py 4 lines, the oldest version');
  assert.equal(checkpointFileChanges(versions, 9, 'app.py'), 'no app.py');
});

test('history entries lead with the label, else why the checkpoint was taken, grouped by day', () => {
  assert.equal(checkpointTitle({ label: 'first draft', reason: 'manual' }), 'first draft');
  assert.equal(checkpointTitle({ label: null, reason: 'interval' }), 'Automatic');
  assert.equal(checkpointTitle({ label: null, reason: 'manual' }), 'Checkpoint');
  const noon = new Date(2026, 4, 14, 12).getTime() / 1000;
  assert.equal(dayName(noon - 3600, noon), 'Today');
  assert.equal(dayName(noon - 86400, noon), 'Yesterday');
  assert.match(dayName(noon - 3 * 86400, noon), /Monday.*11.*2026|11.*May.*2026/);
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
    recoveryMessage(REPORT, 3 + 180),
    "Unsaved changes to 2 files (a b.py, c.py) from 2 windows that closed unexpectedly 3 min ago. Dismiss keeps them in SHIM's history.",
  );
  assert.equal(recoveryItemText(2), '$(history) Recover 2 files');
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

test('codemods read as titles, and their outcome as a sentence without zero counters', () => {
  assert.equal(codemodTitle('rename_symbol'), 'Rename symbol');
  assert.equal(codemodOutcome('Rename symbol', 'rename_symbol', { old_name: 'app.greet', new_name: 'welcome' }, 2, 0), 'Renamed app.greet \u2192 welcome in 2 files');
  assert.equal(codemodOutcome('Move module', 'move_module', { old_module: 'a.b', new_module: 'c' }, 1, 1), 'Moved a.b \u2192 c in 1 file; 1 file failed');
  assert.equal(codemodOutcome('% and str.format() to f-strings', 'to_fstring', {}, 3, 0), '% and str.format() to f-strings: changed 3 files');
});

test('a symbol is qualified by its module path', () => {
  assert.equal(qualifiedName('app.py', 'greet'), 'app.greet');
  assert.equal(qualifiedName('pkg/sub/__init__.py', 'Thing'), 'pkg.sub.Thing');
  assert.equal(qualifiedName('src/pkg/mod.py', 'f'), 'pkg.mod.f');
});

test("the server's log lines: their level, without SHIM's module names but for debug lines", () => {
  assert.deepEqual(logLine('shim WARNING shim_lsp.server.session: disk nearly full'), { level: 'warn', message: 'disk nearly full' });
  assert.deepEqual(logLine('shim ERROR shim_lsp: boom'), { level: 'error', message: 'boom' });
  assert.deepEqual(logLine('shim WARNING pygls.protocol: odd'), { level: 'warn', message: 'pygls.protocol: odd' });
  assert.deepEqual(logLine('shim DEBUG shim_lsp.store: wrote 3'), { level: 'info', message: 'shim_lsp.store: wrote 3' });
  assert.equal(logLine('Traceback (most recent call last):'), undefined);
});

test('the risk warning speaks plainly', () => {
  const alarm = { level: 'high' as const, dirtyDocuments: 2, checkpoint: true, signals: [{ name: 'unsavedKb', value: 300, threshold: 256, severity: 1, explanation: '' }] };
  assert.equal(
    riskMessage(alarm),
    'Your unsaved work in 2 files was at risk (unsaved text not in a checkpoint 300 KB, high at 256 KB). SHIM took a checkpoint of it. Save your files to keep the changes for good.',
  );
  const failing = { level: 'high' as const, dirtyDocuments: 0, checkpoint: false, signals: [] };
  assert.equal(
    riskMessage(failing),
    'SHIM cannot protect what you type: its store cannot be written. Your files on disk are not affected.',
  );
  assert.equal(
    riskMessage({ ...failing, dirtyDocuments: 1 }),
    'Your unsaved work in 1 file is at risk: SHIM cannot write its store, so save your files.',
  );
});

test('Clear History says what it forgot in words', () => {
  assert.equal(clearedMessage({ sessions: 0, checkpoints: 1, journal: 37 }), 'SHIM forgot 1 checkpoint and the record of 37 edits. What is open now stays protected.');
  assert.equal(clearedMessage({ sessions: 2, checkpoints: 3, journal: 1 }), 'SHIM forgot 2 ended sessions, 3 checkpoints and the record of 1 edit. What is open now stays protected.');
  assert.equal(clearedMessage({ sessions: 0, checkpoints: 0, journal: 0 }), 'SHIM: there was no history to clear.');
});

test('the status bar item counts the windows of the group, or says coordination is degraded, and says nothing when off', () => {
  const base = { lastCheckpointAt: 1000, dirtyDocuments: 0, storeError: null, riskLevel: 'low' as const };
  const two = statusView({ ...base, coordination: { state: 'connected', members: 2 } }, 1030);
  assert.equal(two.text, '$(shield) SHIM: saved 30 s ago · $(multiple-windows) 2 windows');
  assert.match(two.tooltip, /open in 2 SHIM windows coordinated through Redis/);
  const away = statusView({ ...base, coordination: { state: 'degraded', members: 0, problem: 'Redis at redis://:***@h:1/0 cannot be reached' } }, 1030);
  assert.equal(away.text, '$(shield) SHIM: saved 30 s ago · $(debug-disconnect) coordination degraded');
  assert.match(away.tooltip, /Coordination degraded:\*\* Redis at redis:\/\/:\\\*\\\*\\\*@h:1\/0 cannot be reached/);
  assert.equal(statusView({ ...base, coordination: { state: 'off', members: 0 } }, 1030).text, '$(shield) SHIM: saved 30 s ago');
  assert.equal(groupText({ state: 'connected', members: 1 }), ' · $(multiple-windows) 1 window');
  const held = statusView({ ...base, coordination: { state: 'connected', members: 3, unsavedElsewhere: { count: 12, files: ['a_b.py', 'pkg/c.py'] } } }, 1030);
  assert.equal(held.text, '$(shield) SHIM: saved 30 s ago · $(multiple-windows) 3 windows · $(edit) 12 unsaved elsewhere');
  assert.match(held.tooltip, /\*\*12 files unsaved in another window:\*\* a\\_b\\.py, pkg\/c\\.py and 10 more\. Problems marks each of them\./);
  assert.doesNotMatch(two.tooltip, /unsaved in another window/);
  const led = statusView({ ...base, coordination: { state: 'connected', members: 2, leader: { this: true, host: 'h', pid: 7 }, epoch: 3 } }, 1030);
  assert.match(led.tooltip, /Show Windows lists them\)\. This window leads the group\./);
  const broke = { state: 'connected' as const, members: 1, leader: { this: true, host: 'h', pid: 7 }, epoch: 4, leaseBroken: "the lead's lease in Redis (k) had no expiry: this window took over the lead, under a new epoch" };
  assert.match(statusView({ ...base, coordination: broke }, 1030).tooltip, /This window leads the group\. The lead's lease in Redis \\\(k\\\) had no expiry: this window took over the lead, under a new epoch\./);
  const follows = { state: 'connected' as const, members: 2, leader: { this: false, host: 'box', pid: 7 }, leadLost: 'no longer the leader: the lease ran out before Redis renewed it' };
  assert.match(statusView({ ...base, coordination: follows }, 1030).tooltip, /The window of pid 7 on box leads the group\. This window is no longer the leader: the lease ran out/);
});
