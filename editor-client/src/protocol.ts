/** The JSON shapes of SHIM's command replies and notifications that the extension reads. */

export type RiskLevel = 'low' | 'elevated' | 'high';

export interface StatusNotification {
  lastCheckpointAt: number | null;
  riskLevel: RiskLevel;
  dirtyDocuments: number;
  /** Of those, buffers over maxFileSize: SHIM keeps none of their text (servers before it: absent). */
  unprotectedDocuments?: number;
  /** The maxFileSize those are over, in bytes. */
  maxFileSize?: number;
  storeError: string | null;
  /** False while automatic checkpoints are paused (servers before it: absent). */
  autoCheckpoint?: boolean;
  /** Real danger other than the store failing (disk nearly full), in words; else null. */
  danger?: string | null;
  /** What was wrong with the settings last received, each ignored for its default. */
  settingsProblems?: string[];
  /** How many workspace folders SHIM protects; none in a window with no folder open. */
  workspaceFolders?: number;
  /** The group of this workspace's windows through Redis (servers before it: absent). */
  coordination?: Coordination;
}

export interface Coordination {
  state: 'off' | 'connected' | 'degraded';
  /** Live members of the group, this window included. */
  members: number;
  /** Why it is degraded (the Redis URL without its password). */
  problem?: string;
  /** The member that leads the group, when one does. */
  leader?: { this: boolean; host: string; pid: number };
  /** This window's fencing epoch, while it leads. */
  epoch?: number;
  /** Why this window stopped leading (until it leads again). */
  leadLost?: string;
  /** While this window leads under a lease it broke (a key no member could have left in
   * Redis): what that key was. */
  leaseBroken?: string;
  /** The files other windows of the group hold unsaved (absent: none): how many, and the
   * first few by their path in the workspace. */
  unsavedElsewhere?: { count: number; files: string[] };
}

/** One member of the group, as `shim.windows` lists it. */
export interface GroupWindow {
  session: string;
  this: boolean;
  /** Whether this member leads the group. */
  leader: boolean;
  host: string;
  pid: number;
  editor: string;
  startedAt: number;
  heartbeatAt: number;
  open: string[];
  dirty: { path: string; since: number; textPublished: boolean }[];
}

export interface WindowsReport extends Coordination {
  workspace: string | null;
  windows: GroupWindow[];
  dropped?: Record<string, number>;
}

export interface SessionStatus extends StatusNotification {
  session: string;
  pid: number;
  store: string;
  storeReady: boolean;
  autoCheckpoint: boolean;
  openDocuments: number;
  unsavedBytes: number;
  oldestUnsavedAt: number | null;
  editsSinceCheckpoint: number;
  journal: { committed: number; pending: number; lagSeconds: number; lastCommitAt: number | null };
  lastCheckpoint: Checkpoint | null;
}

export interface Checkpoint {
  id: number;
  createdAt: number;
  label: string | null;
  reason: string;
  session: string;
  files: number;
  bytes: number;
}

export interface FileVersion extends Checkpoint {
  kind: 'buffer' | 'disk';
  deleted: boolean;
  size: number | null;
  blob: string | null;
  /** Lines added and removed since the next older version with other content; null when not
   * counted (`linesUncounted` says why). Servers before them leave these four out. */
  linesAdded?: number | null;
  linesRemoved?: number | null;
  /** Lines in this version; null when deleted or not read. */
  lines?: number | null;
  linesUncounted?: 'oldest' | 'tooLarge' | 'binary' | 'manyChanges' | 'timeBudget' | 'unreadable' | null;
}

export interface RecoverableFile {
  uri: string;
  session: string;
  editedAt: number;
  chars: number;
  diskExists: boolean;
  diskChanged: boolean;
}

export interface RecoveryReport {
  files: number;
  /** What restoring brings back: one entry per file, chosen by the server. */
  offered: RecoverableFile[];
  sessions: { id: string; state: string; startedAt: number; lastSeenAt: number; files: RecoverableFile[] }[];
}

export interface Signal {
  name: string;
  value: number;
  threshold: number;
  severity: number;
  explanation: string;
}

/** `shim/riskAlarm`: the signals at their threshold, and that a checkpoint was taken. */
export interface RiskAlarm {
  level: RiskLevel;
  signals: Signal[];
  dirtyDocuments: number;
  checkpoint: boolean;
}

export interface Assessment {
  score: number;
  level: RiskLevel;
  reasons: string[];
  signals: Signal[];
}

export interface CodemodArgument {
  name: string;
  type: string;
  required: boolean;
  default: unknown;
  help: string;
}

export interface CodemodInfo {
  /** What to list it as (the codemod's TITLE), when it says. */
  title?: string | null;
  name: string;
  description: string;
  arguments: CodemodArgument[];
}

export interface CodemodRun {
  summary: string;
  cancelled: boolean;
  failed: { path: string; reason: string }[];
  changed: string[];
  applied: boolean;
  batch?: string;
  checkpoint?: number;
  reason?: string;
}
