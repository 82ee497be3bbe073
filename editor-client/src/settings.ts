/**
 * Settings resolution and the choice of interpreter: pure functions, no `vscode` import.
 *
 * The server's settings are `shim.*` with the same camelCase names as its settings class;
 * `shim.server.*` and `shim.trace.*` belong to the extension alone and never reach it.
 */

import { execFile } from 'node:child_process';

export const SECTION = 'shim';

/** Keys under `shim` that the extension reads and the server must not see. */
export const CLIENT_ONLY_KEYS: readonly string[] = ['server', 'trace'];

/** Settings whose change needs a new server process (the server says so itself for stateDir). */
export const RESTART_SETTINGS: readonly string[] = ['shim.server', 'shim.stateDir'];

export const SERVER_MODULE_ARGS: readonly string[] = ['-m', 'shim_lsp'];

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
  const where = choice.source === 'setting' ? ' (shim.server.pythonPath)' : choice.source === 'Python extension' ? " (the Python extension's interpreter)" : '';
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
export function probe(choice: InterpreterChoice): Promise<StartProblem | undefined> {
  return new Promise((resolve) => {
    execFile(choice.command, ['-c', PROBE_SCRIPT], { timeout: PROBE_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (!error) {
        resolve(undefined);
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      resolve(explainStartFailure(choice, { code: code ?? undefined, stderr: String(stderr) }));
    });
  });
}
