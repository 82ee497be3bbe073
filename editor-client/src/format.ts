/** How SHIM's figures read in the status bar and pickers: pure, no `vscode` import. */

import { VsCommand } from './commands';
import type { CodemodArgument, Coordination, FileVersion, RecoveryReport, RiskAlarm, Signal, StatusNotification } from './protocol';

/** "1 file", "2 files": a count as a person writes it (`many` for irregular plurals). */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "just now", "12 s ago", "4 min ago", "3 h ago", "2 days ago". */
export function ago(thenSeconds: number, nowSeconds: number): string {
  const s = Math.max(0, nowSeconds - thenSeconds);
  if (s < 5) {
    return 'just now';
  }
  if (s < 60) {
    return `${Math.floor(s)} s ago`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ago`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)} h ago`;
  }
  const days = Math.floor(s / 86400);
  return `${plural(days, 'day')} ago`;
}

export function size(bytes: number | null): string {
  if (bytes === null) {
    return 'deleted';
  }
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${oneDecimal(bytes / 1024)} KB`;
  }
  return `${oneDecimal(bytes / (1024 * 1024))} MB`;
}

/** "256", "1.5": a figure with one decimal, without a ".0" that says nothing. */
function oneDecimal(value: number): string {
  return value.toFixed(1).replace(/\.0$/, '');
}

/** "less than a minute", "1 min", "12 min": an age in whole minutes, as people say it. */
export function minutes(value: number): string {
  return value < 1 ? 'less than a minute' : `${Math.floor(value)} min`;
}

/**
 * "1 file not protected (over maxFileSize, 256 KB): save it": unsaved buffers over the cap,
 * whose text SHIM does not keep (only saving does); undefined when there are none.
 */
export function unprotectedText(status: Pick<StatusNotification, 'unprotectedDocuments' | 'maxFileSize'>): string | undefined {
  const count = status.unprotectedDocuments ?? 0;
  if (count === 0) {
    return undefined;
  }
  const cap = status.maxFileSize === undefined ? '' : `, ${size(status.maxFileSize)}`;
  return `${plural(count, 'file')} not protected (over maxFileSize${cap}): ${count === 1 ? 'save it' : 'save them'}`;
}

export function clock(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * "14:02" today, "1 Dec 14:02" another day: a time that stays true where it is not re-rendered
 * (a diff tab's title), as VS Code's Local History titles its versions.
 */
export function shortClock(seconds: number, nowSeconds = Date.now() / 1000): string {
  const d = new Date(seconds * 1000);
  const time = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return d.toDateString() === new Date(nowSeconds * 1000).toDateString() ? time : `${d.getDate()} ${MONTHS[d.getMonth()]} ${time}`;
}

export interface StatusView {
  text: string;
  /** Markdown (theme icons and `command:` links allowed). */
  tooltip: string;
  /** The error background is for real danger only; high risk gets the warning one. */
  background?: 'warning' | 'error';
}

/** Markdown links to commands, as the status bar's tooltip offers them. */
function link(title: string, command: string, args?: unknown[]): string {
  return `[${title}](command:${command}${args === undefined ? '' : `?${encodeURIComponent(JSON.stringify(args))}`})`;
}

/** A status sentence from the server, begun as a sentence. */
function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Text shown as is in Markdown (a setting's value may hold `*` or `_`). */
function markdownText(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, '\\$&');
}

/** The Settings editor, filtered to SHIM's settings. */
export const OPEN_SETTINGS = 'workbench.action.openSettings';

/** The status bar item for a `shim/status` notification. */
export function statusView(status: StatusNotification, nowSeconds: number): StatusView {
  const paused = status.autoCheckpoint === false;
  const saved = status.lastCheckpointAt === null ? undefined : ago(status.lastCheckpointAt, nowSeconds);
  const unprotected = unprotectedText(status);
  // Buffers over maxFileSize are unsaved, yet SHIM keeps none of their text: not "protected".
  const unsaved = status.dirtyDocuments - (status.unprotectedDocuments ?? 0);
  const lines: string[] = [];
  let text: string;
  let background: StatusView['background'];
  const danger = status.storeError ?? status.danger ?? null;
  const settingsProblems = status.settingsProblems ?? [];
  if (status.workspaceFolders === 0) {
    // SHIM reads and writes only inside workspace folders: with none, nothing is protected.
    return {
      text: '$(circle-slash) SHIM: no folder open',
      tooltip: [
        '$(circle-slash) **SHIM protects nothing in this window:** it journals and checkpoints the files of workspace folders, and none is open.',
        'Open a folder (File > Open Folder…) to have SHIM protect its files.',
      ].join('\n\n'),
      background: undefined,
    };
  }
  if (danger) {
    text = '$(error) SHIM: work at risk';
    background = 'error';
    lines.push(`$(error) **SHIM cannot protect new work:** ${danger}`);
  } else {
    const icon = paused ? '$(debug-pause)' : status.riskLevel === 'low' && !unprotected ? '$(shield)' : '$(warning)';
    const state = unprotected ? `${plural(status.unprotectedDocuments ?? 0, 'file')} not protected` : saved === undefined ? 'protected' : `saved ${saved}`;
    text = `${icon} SHIM: ${state}${paused ? ' · paused' : ''}${settingsProblems.length ? ' · $(gear) settings' : ''}${groupText(status.coordination)}`;
    background = status.riskLevel === 'high' || unprotected ? 'warning' : undefined;
    if (unprotected) {
      lines.push(`$(warning) **${unprotected}.** SHIM does not journal or checkpoint a buffer larger than maxFileSize; only saving keeps its changes.`);
    }
    lines.push(
      unsaved === 0
        ? '$(shield) **SHIM** journals every change you type.'
        : `$(shield) **SHIM** holds what you typed in ${plural(unsaved, 'unsaved file')}: it can bring it back after a crash.`,
    );
  }
  lines.push(
    saved === undefined
      ? 'No checkpoint of this workspace yet.'
      : `Last checkpoint ${saved} (${clock(status.lastCheckpointAt as number)}).`,
  );
  if (paused) {
    lines.push('$(debug-pause) Automatic checkpoints are paused; the journal still records every change.');
  }
  if (!danger && status.riskLevel !== 'low') {
    lines.push(`$(warning) Risk of losing work: ${status.riskLevel}. A checkpoint, or saving, lowers it.`);
  }
  const group = groupLine(status.coordination);
  if (group) {
    lines.push(group);
  }
  if (settingsProblems.length > 0) {
    // The server's message about them goes by in a few seconds; this stays until they are mended.
    lines.push(
      `$(gear) **${plural(settingsProblems.length, 'setting')} not applied** (SHIM uses the default instead):\n\n` +
        settingsProblems.map((p) => `- ${markdownText(p)}`).join('\n') +
        `\n\n${link('Open Settings', OPEN_SETTINGS, ['@ext:shim-lsp.shim'])}`,
    );
  }
  lines.push(
    [
      link('Checkpoint Now', VsCommand.checkpointNow),
      link('Browse Checkpoints', VsCommand.browseCheckpoints),
      paused ? link('Resume Automatic', VsCommand.resumeAutoCheckpoints) : link('Pause Automatic', VsCommand.pauseAutoCheckpoints),
      link('Session Status', VsCommand.showSessionStatus),
    ].join(' · '),
  );
  return { text, tooltip: lines.join('\n\n'), background };
}

/** The group of windows on the status bar: how many, or that Redis is away; nothing when off. */
export function groupText(group: Coordination | undefined): string {
  if (group === undefined || group.state === 'off') {
    return '';
  }
  if (group.state !== 'connected') {
    return ' · $(debug-disconnect) coordination degraded';
  }
  const elsewhere = group.unsavedElsewhere?.count ?? 0;
  return ` · $(multiple-windows) ${plural(group.members, 'window')}${elsewhere > 0 ? ` · $(edit) ${elsewhere} unsaved elsewhere` : ''}`;
}

/** The files other windows hold unsaved, named (the first few) for the tooltip. */
function elsewhereLine(group: Coordination): string | undefined {
  const elsewhere = group.unsavedElsewhere;
  if (elsewhere === undefined || elsewhere.count === 0) {
    return undefined;
  }
  const more = elsewhere.count > elsewhere.files.length ? ` and ${elsewhere.count - elsewhere.files.length} more` : '';
  return (
    `$(edit) **${plural(elsewhere.count, 'file')} unsaved in another window:** ${elsewhere.files.map(markdownText).join(', ')}${more}. ` +
    'Problems marks each of them.'
  );
}

/** Who leads the group (its once-per-workspace work, such as the store's retention), and why this window stopped. */
function leaderText(group: Coordination): string {
  const lead = group.leader;
  const who = lead === undefined ? '' : lead.this ? ' This window leads the group.' : ` The window of pid ${lead.pid} on ${markdownText(lead.host)} leads the group.`;
  const broken = group.leaseBroken ? ` ${markdownText(capitalised(group.leaseBroken))}.` : '';
  return who + broken + (group.leadLost ? ` This window is ${markdownText(group.leadLost)}.` : '');
}

function groupLine(group: Coordination | undefined): string | undefined {
  if (group === undefined || group.state === 'off') {
    return undefined;
  }
  if (group.state === 'connected') {
    const line = `$(multiple-windows) This workspace is open in ${plural(group.members, 'SHIM window')} coordinated through Redis (SHIM: Show Windows lists them).${leaderText(group)}`;
    const elsewhere = elsewhereLine(group);
    return elsewhere ? `${line}\n\n${elsewhere}` : line;
  }
  return `$(debug-disconnect) **Coordination degraded:** ${markdownText(group.problem ?? 'Redis cannot be reached')}. Every local feature keeps working.`;
}

/** The commands the status bar's tooltip links to (trusted for its Markdown). */
export const STATUS_LINKS: readonly string[] = [
  OPEN_SETTINGS,
  VsCommand.checkpointNow,
  VsCommand.browseCheckpoints,
  VsCommand.pauseAutoCheckpoints,
  VsCommand.resumeAutoCheckpoints,
  VsCommand.showSessionStatus,
];

/** "3 files, 1 with unsaved changes". */
export function openFilesText(open: number, dirty: number): string {
  return `${plural(open, 'file')} open${open > 0 ? `, ${dirty === 0 ? 'none' : dirty} with unsaved changes` : ''}`;
}

export interface SignalView {
  label: string;
  /** The value with its unit, and where it counts as high. */
  description: string;
}

function mb(value: number): string {
  return value >= 1024 ? `${(value / 1024).toFixed(value % 1024 === 0 ? 0 : 1)} GB` : `${Math.round(value)} MB`;
}

/** A crash-risk signal in words and units: "Server memory 62 MB, high at 1 GB". */
export function signalView(s: Signal): SignalView {
  const n = (v: number, digits = 0) => v.toFixed(digits);
  switch (s.name) {
    case 'unsavedKb':
      return { label: 'Unsaved text not in a checkpoint', description: `${size(Math.round(s.value * 1024))}, high at ${size(Math.round(s.threshold * 1024))}` };
    case 'unsavedAgeMinutes':
      return { label: 'Oldest change not in a checkpoint', description: `${s.value > 0 ? `${minutes(s.value)} old` : 'none'}, high at ${minutes(s.threshold)}` };
    case 'editsSinceCheckpoint':
      return { label: 'Edits since the last checkpoint', description: `${n(s.value)}, high at ${n(s.threshold)}` };
    case 'memoryMb':
      return { label: 'Server memory', description: `${mb(s.value)}, high at ${mb(s.threshold)}` };
    case 'memoryGrowthMbPerMin':
      return { label: 'Server memory growth', description: `${oneDecimal(s.value)} MB/min, high at ${n(s.threshold)} MB/min` };
    case 'journalLagSeconds':
      return { label: 'Typing not yet written', description: `${oneDecimal(s.value)} s behind, high at ${n(s.threshold)} s` };
    case 'clientAlive':
      return { label: 'Editor process', description: s.severity >= 1 ? 'gone' : 'running' };
    case 'diskFreeMb':
      return { label: 'Free disk space for the store', description: `${mb(s.value)} free, high below ${mb(s.threshold)}` };
    case 'storeWritable':
      return { label: 'Store', description: s.severity >= 1 ? 'failing' : 'writable' };
    default:
      return { label: s.name, description: `${n(s.value, 1)}, high at ${n(s.threshold, 1)}` };
  }
}

/** Lines added and removed from `before` to `after` (a line diff's counts). */
export function lineChanges(before: string, after: string): { added: number; removed: number } {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) {
    start++;
  }
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  if (x.length * y.length > 4_000_000) {
    return { added: y.length, removed: x.length }; // too big to align: count as replaced
  }
  // Longest common subsequence, one row at a time.
  let previous = new Array<number>(y.length + 1).fill(0);
  for (let i = 1; i <= x.length; i++) {
    const row = new Array<number>(y.length + 1).fill(0);
    for (let j = 1; j <= y.length; j++) {
      row[j] = x[i - 1] === y[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], row[j - 1]);
    }
    previous = row;
  }
  const common = previous[y.length];
  return { added: y.length - common, removed: x.length - common };
}

/** "+3 −1 lines", "no changed lines". */
export function lineChangesText(changes: { added: number; removed: number }): string {
  if (changes.added === 0 && changes.removed === 0) {
    return 'no changed lines';
  }
  const parts = [];
  if (changes.added > 0) {
    parts.push(`+${changes.added}`);
  }
  if (changes.removed > 0) {
    parts.push(`\u2212${changes.removed}`);
  }
  return `${parts.join(' ')} ${changes.added + changes.removed === 1 ? 'line' : 'lines'}`;
}

/**
 * What a version of a file changed, as a file history shows it: "+12 −3" (lines added and
 * removed since the older version), or why it is not counted.
 */
export function versionChanges(v: FileVersion): string {
  if (typeof v.linesAdded === 'number' && typeof v.linesRemoved === 'number') {
    const parts = [...(v.linesAdded > 0 ? [`+${v.linesAdded}`] : []), ...(v.linesRemoved > 0 ? [`\u2212${v.linesRemoved}`] : [])];
    return parts.length > 0 ? parts.join(' ') : 'no line changes';
  }
  switch (v.linesUncounted) {
    case 'oldest':
      return typeof v.lines === 'number' ? `${plural(v.lines, 'line')}, the oldest version` : 'the oldest version';
    case 'tooLarge':
      return `${size(v.size)}, too large to count lines`;
    case 'binary':
      return `${size(v.size)}, binary`;
    case 'manyChanges':
      return 'many lines changed';
    case 'timeBudget':
    case 'unreadable':
      return 'lines not counted';
    default:
      return size(v.size); // a server that does not count lines
  }
}

/**
 * What a checkpoint holds of one file, for a list of the workspace's checkpoints: "app.py +2",
 * "app.py unchanged", "no app.py". `versions` is the file's history (newest first).
 */
export function checkpointFileChanges(versions: readonly FileVersion[], checkpoint: number, name: string): string {
  const at = versions.findIndex((v) => v.id === checkpoint);
  if (at < 0) {
    return `no ${name}`;
  }
  const version = versions[at];
  if (version.deleted) {
    return `${name} deleted`;
  }
  const older = versions[at + 1];
  return older !== undefined && older.blob === version.blob ? `${name} unchanged` : `${name} ${versionChanges(version)}`;
}

/**
 * A file's history as the user wants to browse it: newest first, one entry per distinct
 * content (the server lists the file at every checkpoint, changed or not), dated by the
 * checkpoint that first held it (as Local History and GitLens date a version by when it
 * appeared), or the first named one that held it, the name the user gave to find it.
 */
export function distinctVersions(versions: readonly FileVersion[]): FileVersion[] {
  const out: FileVersion[] = [];
  let runHasLabel = false;
  for (const v of versions) {
    const previous = out[out.length - 1];
    if (previous === undefined || previous.blob !== v.blob) {
      out.push(v);
      runHasLabel = Boolean(v.label);
    } else if (v.label || !runHasLabel) {
      // Older in the same run: nearer to when this content appeared.
      out[out.length - 1] = v;
      runHasLabel ||= Boolean(v.label);
    }
  }
  return out;
}

const REASONS: Record<string, string> = { manual: 'Checkpoint', cli: 'From the command line', codemod: 'Before a codemod' };

/** What a checkpoint is called: its label, else "Automatic" (or why else it was taken). */
export function checkpointTitle(c: { label: string | null; reason: string }): string {
  return c.label ? c.label : (REASONS[c.reason] ?? 'Automatic');
}

/** "Today", "Yesterday", else the date: the day groups of a history list. */
export function dayName(seconds: number, nowSeconds: number): string {
  const day = (t: number) => new Date(t * 1000).toDateString();
  if (day(seconds) === day(nowSeconds)) {
    return 'Today';
  }
  if (day(seconds) === day(nowSeconds - 86400)) {
    return 'Yesterday';
  }
  return new Date(seconds * 1000).toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

/** The last part of a file URI's path, decoded: what a user calls the file. */
export function fileName(uri: string): string {
  const path = uri.split('?')[0].split('#')[0];
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

/** When the windows that left the offered work were last seen. */
export function recoveryLastSeen(report: RecoveryReport): number {
  const sessions = new Set(report.offered.map((f) => f.session));
  return Math.max(...report.sessions.filter((s) => sessions.has(s.id)).map((s) => s.lastSeenAt));
}

/** The recovery notification's text: how much, how old, and what Dismiss does. */
export function recoveryMessage(report: RecoveryReport, nowSeconds: number): string {
  const files = report.offered;
  const names = files.slice(0, 5).map((f) => fileName(f.uri)).join(', ') + (files.length > 5 ? ', ...' : '');
  const windows = new Set(files.map((f) => f.session)).size;
  return (
    `Unsaved changes to ${plural(files.length, 'file')} (${names}) from ` +
    `${windows === 1 ? 'a window' : `${windows} windows`} that closed unexpectedly ${ago(recoveryLastSeen(report), nowSeconds)}. ` +
    "Dismiss keeps them in SHIM's history."
  );
}

/** The lasting status bar item while crashed work waits. */
export function recoveryItemText(files: number): string {
  return `$(history) Recover ${plural(files, 'file')}`;
}

/** Why an input box's text does not fit a codemod argument, or undefined when it does. */
export function codemodArgumentProblem(arg: CodemodArgument, text: string): string | undefined {
  const value = text.trim();
  if (value === '') {
    return arg.required ? `${arg.name} is required` : undefined;
  }
  if (arg.type === 'int' && !/^-?\d+$/.test(value)) {
    return `${arg.name} must be a whole number`;
  }
  if (arg.type === 'float' && !Number.isFinite(Number(value))) {
    return `${arg.name} must be a number`;
  }
  if (arg.type === 'bool' && !['true', 'false'].includes(value.toLowerCase())) {
    return `${arg.name} must be true or false`;
  }
  return undefined;
}


/** "rename_symbol" as a title: "Rename symbol". */
export function codemodTitle(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The dotted name of a symbol in a workspace file: ("pkg/app.py", "greet") -> "pkg.app.greet". */
export function qualifiedName(relativePath: string, symbol: string): string {
  const module = relativePath
    .replace(/\\/g, '/')
    .replace(/\.pyi?$/, '')
    .replace(/\/__init__$/, '')
    .split('/')
    .filter((part) => part !== '' && part !== 'src')
    .join('.');
  return module ? `${module}.${symbol}` : symbol;
}

/** A codemod run's outcome as a sentence: "Renamed app.greet → welcome in 2 files". */
export function codemodOutcome(title: string, name: string, args: Record<string, unknown>, changed: number, failed: number): string {
  const where = `in ${plural(changed, 'file')}`;
  const problems = failed > 0 ? `; ${plural(failed, 'file')} failed` : '';
  const from = args.old_name ?? args.old_module;
  const to = args.new_name ?? args.new_module;
  if (typeof from === 'string' && typeof to === 'string') {
    const verb = name.startsWith('move') ? 'Moved' : 'Renamed';
    return `${verb} ${from} \u2192 ${to} ${where}${problems}`;
  }
  return `${title}: changed ${plural(changed, 'file')}${problems}`;
}

export type LogLevel = 'info' | 'warn' | 'error';

// Debug lines are asked for by SHIM's own setting (shim.server.logLevel): they show as info,
// not hidden again by the channel's level.
const SERVER_LEVELS: Record<string, LogLevel> = { DEBUG: 'info', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'error' };

/**
 * A line of the server's stderr ("shim WARNING shim_lsp.server.x: text") for the SHIM output
 * channel, and its level: the channel stamps each line, and SHIM's own module names mean
 * nothing to a user (they stay in debug lines, which are asked for). Others: undefined (a
 * traceback's lines go on at the level of the entry they belong to).
 */
export function logLine(text: string): { level: LogLevel; message: string } | undefined {
  const server = text.match(/^shim (DEBUG|INFO|WARNING|ERROR|CRITICAL) ([\s\S]*)$/);
  if (!server) {
    return undefined;
  }
  const message = server[1] === 'DEBUG' ? server[2] : server[2].replace(/^shim_lsp(\.\w+)*: /, '');
  return { level: SERVER_LEVELS[server[1]], message };
}

/** The risk warning, plainly: what was at risk, that SHIM took a checkpoint, what keeps it. */
export function riskMessage(alarm: RiskAlarm): string {
  const why = alarm.signals.map((s) => {
    const view = signalView(s);
    return `${view.label.toLowerCase()} ${view.description}`;
  });
  const files = alarm.dirtyDocuments > 0 ? ` in ${plural(alarm.dirtyDocuments, 'file')}` : '';
  const causes = why.length ? ` (${why.join('; ')})` : '';
  if (!alarm.checkpoint) {
    // No checkpoint could be taken (the store cannot be written): the risk is now, not past.
    return alarm.dirtyDocuments > 0
      ? `Your unsaved work${files} is at risk${causes}: SHIM cannot write its store, so save your files.`
      : `SHIM cannot protect what you type${causes}: its store cannot be written. Your files on disk are not affected.`;
  }
  return `Your unsaved work${files} was at risk${causes}. SHIM took a checkpoint of it. Save your files to keep the changes for good.`;
}

/** What Clear History forgot, in words: this window's own session stays (it is running). */
export function clearedMessage(counts: { sessions: number; checkpoints: number; journal: number }): string {
  const parts = [
    ...(counts.sessions > 0 ? [plural(counts.sessions, 'ended session')] : []),
    ...(counts.checkpoints > 0 ? [plural(counts.checkpoints, 'checkpoint')] : []),
    ...(counts.journal > 0 ? [`the record of ${plural(counts.journal, 'edit')}`] : []),
  ];
  if (parts.length === 0) {
    return 'SHIM: there was no history to clear.';
  }
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0];
  return `SHIM forgot ${list}. What is open now stays protected.`;
}
