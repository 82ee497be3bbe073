/** How SHIM's figures read in the status bar and pickers: pure, no `vscode` import. */

import type { CodemodArgument, FileVersion, RecoveryReport, RiskLevel, StatusNotification } from './protocol';

/** "1 file", "2 files": a count as a person writes it (`many` for irregular plurals). */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "just now", "4 min ago", "3 h ago", "2 days ago". */
export function ago(thenSeconds: number, nowSeconds: number): string {
  const s = Math.max(0, nowSeconds - thenSeconds);
  if (s < 60) {
    return 'just now';
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
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function clock(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString();
}

export interface StatusView {
  text: string;
  tooltip: string;
  /** The status bar's warning or error background, for elevated and high risk. */
  background?: 'warning' | 'error';
}

const RISK_ICON: Record<RiskLevel, string> = { low: '$(shield)', elevated: '$(warning)', high: '$(error)' };

/** The status bar item for a `shim/status` notification. */
export function statusView(status: StatusNotification, nowSeconds: number): StatusView {
  const when = status.lastCheckpointAt === null ? 'no checkpoint yet' : ago(status.lastCheckpointAt, nowSeconds);
  const lines = [
    `SHIM: last checkpoint ${status.lastCheckpointAt === null ? 'not taken yet' : `${when} (${clock(status.lastCheckpointAt)})`}`,
    `Risk of losing work: ${status.riskLevel}`,
    `Unsaved documents: ${status.dirtyDocuments}`,
  ];
  if (status.storeError) {
    lines.push(`Store problem: ${status.storeError}`);
    return { text: `$(error) SHIM ${when}`, tooltip: lines.join('\n'), background: 'error' };
  }
  lines.push('Click for the session status');
  const risk = status.riskLevel === 'low' ? '' : ` · risk ${status.riskLevel}`;
  return {
    text: `${RISK_ICON[status.riskLevel] ?? RISK_ICON.low} ${when}${risk}`,
    tooltip: lines.join('\n'),
    background: status.riskLevel === 'high' ? 'error' : status.riskLevel === 'elevated' ? 'warning' : undefined,
  };
}

/**
 * A file's history as the user wants to browse it: newest first, one entry per distinct
 * content (the server lists the file at every checkpoint, changed or not).
 */
export function distinctVersions(versions: readonly FileVersion[]): FileVersion[] {
  const out: FileVersion[] = [];
  for (const v of versions) {
    const previous = out[out.length - 1];
    if (previous === undefined || previous.blob !== v.blob) {
      out.push(v);
    } else if (v.label && !previous.label) {
      // The same content: show the named checkpoint rather than an automatic one.
      out[out.length - 1] = v;
    }
  }
  return out;
}

/** One line for a checkpoint in a picker: its label or why it was taken. */
export function checkpointTitle(c: { id: number; label: string | null; reason: string }): string {
  return c.label ? `${c.label}` : `checkpoint ${c.id} (${c.reason})`;
}

/** The last part of a file URI's path, decoded: what a user calls the file. */
export function fileName(uri: string): string {
  const path = uri.split('?')[0].split('#')[0];
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

/** The recovery notification's text. */
export function recoveryMessage(report: RecoveryReport): string {
  const files = report.offered;
  const names = files.slice(0, 5).map((f) => fileName(f.uri)).join(', ') + (files.length > 5 ? ', ...' : '');
  return (
    `SHIM found unsaved work in ${plural(files.length, 'file')} from ` +
    `${plural(report.sessions.length, 'editor session')} that ended before it was saved: ${names}`
  );
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

