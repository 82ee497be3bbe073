/**
 * Settings resolution and the choice of interpreter: pure functions, no `vscode` import.
 *
 * The server's settings are `shim.*` with the same camelCase names as its settings class;
 * `shim.server.*` and `shim.trace.*` belong to the extension alone and never reach it.
 */

import { execFile } from 'node:child_process';

export const SECTION = 'shim';

/** Keys under `shim` that the extension reads and the server must not see. */
export const CLIENT_ONLY_KEYS: readonly string[] = ['server', 'trace', 'importStrategy'];

/** Settings whose change needs a new server process (the server says so itself for stateDir). */
export const RESTART_SETTINGS: readonly string[] = ['shim.server', 'shim.stateDir', 'shim.importStrategy'];

/** `-P`: the server starts in the workspace folder, whose modules must not shadow the standard
 * library's (a json.py, Django's http/) nor run: Python puts the current folder first otherwise. */
export const SERVER_MODULE_ARGS: readonly string[] = ['-P', '-m', 'shim_lsp'];

/** The `shim` section as the server takes it: client-only keys out, unset (null) values out. */
export function serverSettings(section: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (section === null || typeof section !== 'object') {
    return out;
  }
  for (const [key, value] of Object.entries(section as Record<string, unknown>)) {
    if (!CLIENT_ONLY_KEYS.includes(key) && value !== null && value !== undefined) {
      out[key] = value;
    }
  }
  return out;
}

export type InterpreterSource = 'setting' | 'Python extension' | 'default';

export interface InterpreterChoice {
  command: string;
  source: InterpreterSource;
}

export interface InterpreterInputs {
  /** `shim.server.pythonPath`, as the user wrote it. */
  configured?: string;
  /** The Python extension's selected interpreter for this workspace, when it is installed. */
  fromPythonExtension?: string;
  workspaceFolder?: string;
  home?: string;
  platform: string;
}

/** Expand the variables VS Code users write in paths: ${workspaceFolder}, ${userHome}, ~. */
export function expandPath(raw: string, workspaceFolder?: string, home?: string): string {
  let path = raw.trim();
  if (home !== undefined) {
    path = path.replace(/\$\{userHome\}/g, home);
    if (path === '~' || path.startsWith('~/')) {
      path = home + path.slice(1);
    }
  }
  if (workspaceFolder !== undefined) {
    path = path.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  return path;
}

/**
 * The interpreters worth trying, best first: the setting alone when it is set (the user chose
 * it); else the Python extension's, then the usual names on PATH, newest first.
 */
export function interpreterCandidates(inputs: InterpreterInputs): InterpreterChoice[] {
  const first = chooseInterpreter(inputs);
  if (first.source === 'setting') {
    return [first];
  }
  const names = inputs.platform === 'win32' ? ['python', 'py'] : ['python3', 'python3.13', 'python3.12', 'python3.11'];
  const found = names.map((command): InterpreterChoice => ({ command, source: 'default' }));
  return [first, ...found.filter((c) => c.command !== first.command)];
}

/** `shim.server.pythonPath`, else the Python extension's interpreter, else python3. */
export function chooseInterpreter(inputs: InterpreterInputs): InterpreterChoice {
  const configured = inputs.configured?.trim();
  if (configured) {
    return { command: expandPath(configured, inputs.workspaceFolder, inputs.home), source: 'setting' };
  }
  if (inputs.fromPythonExtension) {
    return { command: inputs.fromPythonExtension, source: 'Python extension' };
  }
  return { command: inputs.platform === 'win32' ? 'python' : 'python3', source: 'default' };
}

/** A shell command line that installs SHIM's server into an interpreter. */
export function installCommand(python: string): string {
  const quoted = /[\s"'$`\\]/.test(python) ? `"${python.replace(/(["$`\\])/g, '\\$1')}"` : python;
  return `${quoted} -m pip install shim-lsp`;
}

/** The check run before starting the server: the right Python, with SHIM importable. */
export const PROBE_SCRIPT =
  'import sys\n' +
  'if sys.version_info < (3, 11): sys.exit("SHIM needs Python 3.11 or later, this is " + sys.version.split()[0])\n' +
  'import shim_lsp\n' +
  'print(shim_lsp.__version__)\n';

export interface ProbeFailure {
  /** errno-style code of a process that could not start (ENOENT, EACCES), or its exit code. */
  code?: string | number;
  stderr: string;
}

export interface StartProblem {
  message: string;
  /** The command that mends it, when one does. */
  install?: string;
}

/** What the user is told when the server cannot start, and what to run about it. */
export function explainStartFailure(choice: InterpreterChoice, failure: ProbeFailure): StartProblem {
  const where = sourceNote(choice);
  if (failure.code === 'ENOENT') {
    return {
      message: `SHIM could not start its server: the Python interpreter "${choice.command}"${where} was not found. Set shim.server.pythonPath to a Python 3.11+ interpreter.`,
    };
  }
  if (failure.code === 'EACCES') {
    return { message: `SHIM could not start its server: "${choice.command}"${where} is not executable.` };
  }
  if (/No module named '?shim_lsp'?/.test(failure.stderr)) {
    return {
      message: `SHIM's server is not installed for "${choice.command}"${where}. Install it with: ${installCommand(choice.command)}`,
      install: installCommand(choice.command),
    };
  }
  const tooOld = /SHIM needs Python 3\.11 or later[^\n]*/.exec(failure.stderr);
  if (tooOld) {
    return { message: `${tooOld[0]} ("${choice.command}"${where}). Set shim.server.pythonPath to a newer interpreter.` };
  }
  const lastLine = failure.stderr.trim().split('\n').pop() ?? '';
  return {
    message: `SHIM could not start its server with "${choice.command}"${where}: ${lastLine || `exit code ${failure.code}`}. See "SHIM: Show Output".`,
  };
}

const PROBE_TIMEOUT_MS = 20_000;

/** Run the interpreter once before starting the server: it must exist, be 3.11+, and import shim_lsp. */
export async function probe(choice: InterpreterChoice): Promise<StartProblem | undefined> {
  const failure = await runProbe(choice.command, ['-c', PROBE_SCRIPT]);
  return failure && explainStartFailure(choice, failure);
}

/** Run `command args` and say how it failed, or undefined when it exits 0. */
export function runProbe(command: string, args: readonly string[]): Promise<ProbeFailure | undefined> {
  return new Promise((resolve) => {
    execFile(command, [...args], { timeout: PROBE_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (!error) {
        resolve(undefined);
        return;
      }
      resolve({ code: (error as NodeJS.ErrnoException).code ?? undefined, stderr: String(stderr) });
    });
  });
}

/**
 * `useBundled`: the server shipped in the .vsix, run by the interpreter; `fromEnvironment`:
 * `shim_lsp` as installed in that interpreter, else the bundled one (with a notice).
 */
export type ImportStrategy = 'useBundled' | 'fromEnvironment';

export function importStrategy(value: unknown): ImportStrategy {
  return value === 'fromEnvironment' ? 'fromEnvironment' : 'useBundled';
}

/**
 * The settings the extension itself reads that it cannot use, worded as the server words its
 * own (they join its list on the status bar): undefined entries left out.
 */
export function clientSettingProblems(given: { importStrategy?: unknown }): string[] {
  const strategy = given.importStrategy;
  if (strategy === undefined || strategy === importStrategy(strategy)) {
    return [];
  }
  return [`setting 'importStrategy': ${JSON.stringify(strategy)} cannot be used (it must be "useBundled" or "fromEnvironment"); using the default, "useBundled"`];
}

/**
 * Whether a document is the editor's own (user or machine settings, keybindings, snippets, in
 * VS Code's user data folder): not the user's work, so it is not handed to the server, which
 * would warn that it is outside the workspace.
 */
export function isEditorUserData(uri: { scheme: string; path: string }, userData: string | undefined): boolean {
  if (uri.scheme === 'vscode-userdata') {
    return true;
  }
  return uri.scheme === 'file' && userData !== undefined && userData !== '/' && uri.path.startsWith(`${userData.replace(/\/+$/, '')}/`);
}

/** The CPythons the bundle has libraries for, as the launcher words them. */
export const BUNDLED_PYTHONS = '3.11, 3.12 or 3.13';

/**
 * The bundled launcher, run isolated: `-I` leaves out the user's site-packages, PYTHON*
 * variables and the current folder; the launcher puts the bundle first on sys.path.
 */
export function bundledArgs(bundledDir: string, check = false): string[] {
  return ['-I', `${bundledDir}/tool/shim_server.py`, ...(check ? ['--check'] : [])];
}

/** How the server is started: the interpreter, its arguments, and what the user is told. */
export interface Launch {
  choice: InterpreterChoice;
  args: string[];
  bundled: boolean;
  /** Said once when the server starts in another way than the setting asks. */
  notice?: string;
}

export type Prober = (command: string, args: readonly string[]) => Promise<ProbeFailure | undefined>;

/** What the user is told when the bundled server cannot run on an interpreter. */
export function explainBundledFailure(choice: InterpreterChoice, failure: ProbeFailure): StartProblem {
  const needs = /SHIM's bundled server needs CPython[^\n]*/.exec(failure.stderr);
  if (needs) {
    return { message: `${needs[0]}${sourceNote(choice)}. Set shim.server.pythonPath to a CPython ${BUNDLED_PYTHONS}.` };
  }
  return explainStartFailure(choice, failure);
}

function sourceNote(choice: InterpreterChoice): string {
  return choice.source === 'setting' ? ' (shim.server.pythonPath)' : choice.source === 'Python extension' ? " (the Python extension's interpreter)" : '';
}

/** The first candidate the bundled server runs on, or why none does. */
async function findBundled(candidates: InterpreterChoice[], bundledDir: string, check: Prober): Promise<Launch | StartProblem> {
  const failures: [InterpreterChoice, ProbeFailure][] = [];
  for (const choice of candidates) {
    const failure = await check(choice.command, bundledArgs(bundledDir, true));
    if (failure === undefined) {
      return { choice, args: bundledArgs(bundledDir), bundled: true };
    }
    failures.push([choice, failure]);
  }
  if (failures.length === 1) {
    return explainBundledFailure(...failures[0]);
  }
  const tried = failures.map(([c]) => c.command).join(', ');
  return {
    message: `SHIM needs Python ${BUNDLED_PYTHONS} (CPython) to run its server, and found none (tried ${tried}). Install one, or set shim.server.pythonPath to one.`,
  };
}

/** Choose how to start the server, probing the candidates; never throws. */
export async function planLaunch(
  strategy: ImportStrategy,
  candidates: InterpreterChoice[],
  bundledDir: string,
  check: Prober = runProbe,
): Promise<Launch | StartProblem> {
  if (strategy === 'useBundled') {
    return findBundled(candidates, bundledDir, check);
  }
  const choice = candidates[0];
  const failure = await check(choice.command, ['-c', PROBE_SCRIPT]);
  if (failure === undefined) {
    return { choice, args: [...SERVER_MODULE_ARGS], bundled: false };
  }
  const problem = explainStartFailure(choice, failure);
  if (problem.install === undefined) {
    return problem;
  }
  const bundled = await findBundled(candidates, bundledDir, check);
  if (!('choice' in bundled)) {
    return bundled;
  }
  const on = bundled.choice.command === choice.command ? '' : ` on "${bundled.choice.command}"`;
  return {
    ...bundled,
    notice: `shim_lsp is not installed for "${choice.command}": SHIM runs its bundled server${on} instead (shim.importStrategy is fromEnvironment).`,
  };
}

export function isLaunch(plan: Launch | StartProblem): plan is Launch {
  return 'choice' in plan;
}
