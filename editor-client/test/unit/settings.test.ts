import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  chooseInterpreter,
  clientSettingProblems,
  isEditorUserData,
  CLIENT_ONLY_KEYS,
  expandPath,
  explainStartFailure,
  importStrategy,
  installCommand,
  interpreterCandidates,
  isLaunch,
  planLaunch,
  probe,
  RESTART_SETTINGS,
  serverSettings,
  type Launch,
  type ProbeFailure,
  type StartProblem,
} from '../../src/settings';
import { EDITOR_CLIENT, pythonTruth, shimPython } from './truth';

test('the pythonPath setting wins over the Python extension and the default', () => {
  const choice = chooseInterpreter({ configured: '/opt/py/bin/python', fromPythonExtension: '/venv/bin/python', platform: 'linux' });
  assert.deepEqual(choice, { command: '/opt/py/bin/python', source: 'setting' });
});

test("without the setting, the Python extension's interpreter is used", () => {
  const choice = chooseInterpreter({ configured: '  ', fromPythonExtension: '/venv/bin/python', platform: 'linux' });
  assert.deepEqual(choice, { command: '/venv/bin/python', source: 'Python extension' });
});

test('with neither, python3 (python on Windows)', () => {
  assert.deepEqual(chooseInterpreter({ platform: 'linux' }), { command: 'python3', source: 'default' });
  assert.deepEqual(chooseInterpreter({ platform: 'win32' }), { command: 'python', source: 'default' });
});

test('${workspaceFolder}, ${userHome} and ~ are expanded in the setting', () => {
  const choice = chooseInterpreter({ configured: '${workspaceFolder}/.venv/bin/python', workspaceFolder: '/w', home: '/h', platform: 'linux' });
  assert.equal(choice.command, '/w/.venv/bin/python');
  assert.equal(expandPath('~/py/bin/python', '/w', '/h'), '/h/py/bin/python');
  assert.equal(expandPath('${userHome}/x', undefined, '/h'), '/h/x');
  assert.equal(expandPath('/a~b', '/w', '/h'), '/a~b', 'a ~ inside a path is not a home');
});

test("the server gets its own settings: no client-only keys, no unset values", () => {
  const section = { server: { pythonPath: '/p' }, trace: { server: 'verbose' }, flushInterval: 0.5, stateDir: null, excludeGlobs: [] };
  assert.deepEqual(serverSettings(section), { flushInterval: 0.5, excludeGlobs: [] });
  assert.deepEqual(serverSettings(undefined), {});
});

test('the install command quotes an interpreter path with spaces', () => {
  assert.equal(installCommand('python3'), 'python3 -m pip install shim-lsp');
  assert.equal(installCommand('/My Env/bin/python'), '"/My Env/bin/python" -m pip install shim-lsp');
});

test('a missing interpreter is named, with the setting that picks another', async () => {
  const choice = { command: '/no/such/python', source: 'setting' as const };
  const problem = await probe(choice);
  assert.ok(problem);
  assert.match(problem.message, /"\/no\/such\/python" \(shim\.server\.pythonPath\) was not found/);
  assert.equal(problem.install, undefined);
});

test('an interpreter without shim_lsp gets the command that installs it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shim-bare-venv-'));
  try {
    execFileSync(shimPython(), ['-m', 'venv', '--without-pip', dir]);
    const bare = path.join(dir, 'bin', 'python');
    const problem = await probe({ command: bare, source: 'default' });
    assert.ok(problem, 'a fresh venv has no shim_lsp');
    assert.equal(problem.install, `${bare} -m pip install shim-lsp`);
    assert.match(problem.message, /SHIM's server is not installed for/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the interpreter SHIM is installed in passes the check', async () => {
  assert.equal(await probe({ command: shimPython(), source: 'setting' }), undefined);
});

test('an old Python is told apart from a missing package', () => {
  const problem = explainStartFailure(
    { command: 'python3', source: 'default' },
    { code: 1, stderr: 'SHIM needs Python 3.11 or later, this is 3.9.2\n' },
  );
  assert.match(problem.message, /^SHIM needs Python 3\.11 or later, this is 3\.9\.2 \("python3"\)/);
  assert.equal(problem.install, undefined);
});

interface Property {
  type: unknown;
  default: unknown;
  description?: string;
  markdownDescription?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  enum?: string[];
}

const properties: Record<string, Property> = JSON.parse(readFileSync(path.join(EDITOR_CLIENT, 'package.json'), 'utf8')).contributes
  .configuration.properties;
const settingsTruth = pythonTruth().settings;

/** What package.json adds to a server setting's description: only that changing it restarts the server. */
const RESTARTS = ' Changing it restarts the server.';

test("contributes.configuration names the server's settings, and only those besides the client's own", () => {
  const serverKeys = Object.keys(properties)
    .map((k) => k.replace(/^shim\./, ''))
    .filter((k) => !CLIENT_ONLY_KEYS.includes(k.split('.')[0]));
  assert.deepEqual(serverKeys.sort(), Object.keys(settingsTruth).sort());
  for (const [key, property] of Object.entries(properties)) {
    assert.ok((property.description ?? property.markdownDescription ?? '').length > 20, `${key} is documented`);
  }
});

test("each server setting has the server's type and default", () => {
  for (const [name, truth] of Object.entries(settingsTruth)) {
    const property = properties[`shim.${name}`];
    assert.deepEqual(property.type, truth.type, `type of shim.${name}`);
    assert.deepEqual(property.default, truth.default, `default of shim.${name}`);
    assert.deepEqual(property.enum, truth.enum, `values of shim.${name}`);
  }
});

test("each server setting's description is its docstring in shim_lsp/settings.py, plus the restart note where it restarts", () => {
  for (const [name, truth] of Object.entries(settingsTruth)) {
    const key = `shim.${name}`;
    const property = properties[key];
    // Plain text, as the docstring is: in Markdown, "*.pem, id_rsa*" would turn italic.
    assert.equal(property.markdownDescription, undefined, `${key} has a plain description`);
    const restarts = RESTART_SETTINGS.some((s) => key === s || key.startsWith(`${s}.`));
    assert.equal(property.description, truth.description + (restarts ? RESTARTS : ''), `description of ${key}`);
  }
});

test("each server setting's minimum is its validator's: exclusive for greater than 0", () => {
  for (const [name, truth] of Object.entries(settingsTruth)) {
    const property = properties[`shim.${name}`];
    assert.equal(property.minimum, truth.minimum, `minimum of shim.${name}`);
    assert.equal(property.exclusiveMinimum, truth.exclusiveMinimum, `exclusiveMinimum of shim.${name}`);
  }
});

test("each number setting has its validator's maximum, so that the Settings editor refuses 1e308 too", () => {
  for (const [name, truth] of Object.entries(settingsTruth)) {
    const property = properties[`shim.${name}`];
    assert.equal(property.maximum, truth.maximum, `maximum of shim.${name}`);
    if (property.type === 'number' || property.type === 'integer') {
      assert.equal(typeof property.maximum, 'number', `shim.${name} has a maximum`);
    }
  }
});

// shim.importStrategy: which server runs, on which interpreter.

const BUNDLED = '/ext/bundled';

/** A prober that answers from a table: interpreter -> failure of the bundled check / of the environment check. */
function fakeProber(table: Record<string, { bundled?: ProbeFailure; env?: ProbeFailure }>) {
  const calls: string[] = [];
  const prober = async (command: string, args: readonly string[]) => {
    const kind = args.includes('--check') ? 'bundled' : 'env';
    calls.push(`${command} ${kind}`);
    const row = table[command] ?? { bundled: { code: 'ENOENT', stderr: '' }, env: { code: 'ENOENT', stderr: '' } };
    return row[kind];
  };
  return { prober, calls };
}

function launch(plan: Launch | StartProblem): Launch {
  assert.ok(isLaunch(plan), `a launch, not: ${'message' in plan ? plan.message : ''}`);
  return plan;
}

const MISSING = { code: 1, stderr: "Traceback...\nModuleNotFoundError: No module named 'shim_lsp'\n" };

test('importStrategy is useBundled unless fromEnvironment is asked for', () => {
  assert.equal(importStrategy(undefined), 'useBundled');
  assert.equal(importStrategy('nonsense'), 'useBundled');
  assert.equal(importStrategy('fromEnvironment'), 'fromEnvironment');
  assert.ok(RESTART_SETTINGS.includes('shim.importStrategy'));
  assert.deepEqual(serverSettings({ importStrategy: 'fromEnvironment', flushInterval: 1 }), { flushInterval: 1 });
  const property = properties['shim.importStrategy'] as Property & { enum: string[] };
  assert.deepEqual([property.default, property.enum], ['useBundled', ['useBundled', 'fromEnvironment']]);
});

test('the candidates: the setting alone, else the Python extension then python3, 3.13, 3.12, 3.11 on PATH', () => {
  assert.deepEqual(interpreterCandidates({ configured: '/p/python', fromPythonExtension: '/v/python', platform: 'linux' }), [
    { command: '/p/python', source: 'setting' },
  ]);
  assert.deepEqual(
    interpreterCandidates({ fromPythonExtension: '/v/python', platform: 'linux' }).map((c) => c.command),
    ['/v/python', 'python3', 'python3.13', 'python3.12', 'python3.11'],
  );
  assert.deepEqual(
    interpreterCandidates({ platform: 'linux' }).map((c) => c.command),
    ['python3', 'python3.13', 'python3.12', 'python3.11'],
  );
});

test('useBundled runs the bundled launcher isolated (-I) on the first candidate it runs on', async () => {
  const { prober, calls } = fakeProber({
    python3: { bundled: { code: 1, stderr: "SHIM's bundled server needs CPython 3.11, 3.12, 3.13; /usr/bin/python3 is cpython 3.10.4\n" } },
    'python3.12': {},
  });
  const plan = launch(await planLaunch('useBundled', interpreterCandidates({ platform: 'linux' }), BUNDLED, prober));
  assert.deepEqual(plan, { choice: { command: 'python3.12', source: 'default' }, args: ['-I', `${BUNDLED}/tool/shim_server.py`], bundled: true });
  assert.deepEqual(calls, ['python3 bundled', 'python3.13 bundled', 'python3.12 bundled'], 'never asks the environment');
});

test('useBundled with no suitable Python says which Python it needs and what it tried', async () => {
  const { prober } = fakeProber({});
  const plan = await planLaunch('useBundled', interpreterCandidates({ platform: 'linux' }), BUNDLED, prober);
  assert.ok(!isLaunch(plan));
  assert.equal(
    plan.message,
    'SHIM needs Python 3.11, 3.12 or 3.13 (CPython) to run its server, and found none (tried python3, python3.13, python3.12, python3.11). Install one, or set shim.server.pythonPath to one.',
  );
});

test('useBundled on a set interpreter of another version names the versions and the setting', async () => {
  const stderr = "SHIM's bundled server needs CPython 3.11, 3.12, 3.13; /opt/py314/bin/python is cpython 3.14.0\n";
  const { prober } = fakeProber({ '/opt/py314/bin/python': { bundled: { code: 1, stderr } } });
  const plan = await planLaunch('useBundled', [{ command: '/opt/py314/bin/python', source: 'setting' }], BUNDLED, prober);
  assert.ok(!isLaunch(plan));
  assert.match(plan.message, /^SHIM's bundled server needs CPython 3\.11, 3\.12, 3\.13; \/opt\/py314\/bin\/python is cpython 3\.14\.0 \(shim\.server\.pythonPath\)\. Set shim\.server\.pythonPath to a CPython 3\.11, 3\.12 or 3\.13\.$/);
});

test('fromEnvironment runs shim_lsp from the interpreter that has it', async () => {
  const { prober, calls } = fakeProber({ '/venv/bin/python': {} });
  const plan = launch(await planLaunch('fromEnvironment', [{ command: '/venv/bin/python', source: 'setting' }], BUNDLED, prober));
  assert.deepEqual(plan, { choice: { command: '/venv/bin/python', source: 'setting' }, args: ['-P', '-m', 'shim_lsp'], bundled: false });
  assert.deepEqual(calls, ['/venv/bin/python env']);
});

test('fromEnvironment without shim_lsp there falls back to the bundled server, and says so', async () => {
  const { prober } = fakeProber({ '/usr/bin/python3': { env: MISSING } });
  const plan = launch(await planLaunch('fromEnvironment', [{ command: '/usr/bin/python3', source: 'setting' }], BUNDLED, prober));
  assert.equal(plan.bundled, true);
  assert.deepEqual(plan.args, ['-I', `${BUNDLED}/tool/shim_server.py`]);
  assert.equal(
    plan.notice,
    'shim_lsp is not installed for "/usr/bin/python3": SHIM runs its bundled server instead (shim.importStrategy is fromEnvironment).',
  );
});

test('fromEnvironment names the other interpreter when the bundled server cannot run on the first', async () => {
  const { prober } = fakeProber({ '/v/python': { env: MISSING, bundled: { code: 1, stderr: "SHIM's bundled server needs CPython 3.11, 3.12, 3.13; /v/python is cpython 3.10.1\n" } }, python3: {} });
  const plan = launch(await planLaunch('fromEnvironment', interpreterCandidates({ fromPythonExtension: '/v/python', platform: 'linux' }), BUNDLED, prober));
  assert.equal(plan.choice.command, 'python3');
  assert.equal(plan.notice, 'shim_lsp is not installed for "/v/python": SHIM runs its bundled server on "python3" instead (shim.importStrategy is fromEnvironment).');
});

test('fromEnvironment with a missing interpreter is not papered over by the bundle', async () => {
  const { prober, calls } = fakeProber({});
  const plan = await planLaunch('fromEnvironment', [{ command: '/no/python', source: 'setting' }], BUNDLED, prober);
  assert.ok(!isLaunch(plan));
  assert.match(plan.message, /"\/no\/python" \(shim\.server\.pythonPath\) was not found/);
  assert.deepEqual(calls, ['/no/python env']);
});

// The same with real interpreters and the bundle `npm run package` built (bundle/build.py).

const REAL_BUNDLE = path.join(EDITOR_CLIENT, 'bundled');
const CLEAN_PYTHON = '/usr/bin/python3';
const realSkip = !existsSync(path.join(REAL_BUNDLE, 'manifest.json'))
  ? 'no editor-client/bundled: run npm run package first'
  : !existsSync(CLEAN_PYTHON)
    ? `no ${CLEAN_PYTHON}`
    : false;

test('the real bundle runs on a Python without SHIM, and fromEnvironment falls back to it there', { skip: realSkip }, async () => {
  const choice = { command: CLEAN_PYTHON, source: 'setting' as const };
  const bundled = launch(await planLaunch('useBundled', [choice], REAL_BUNDLE));
  assert.deepEqual(bundled.args, ['-I', `${REAL_BUNDLE}/tool/shim_server.py`]);
  const fallback = launch(await planLaunch('fromEnvironment', [choice], REAL_BUNDLE));
  assert.equal(fallback.bundled, true);
  assert.match(fallback.notice ?? '', /shim_lsp is not installed for "\/usr\/bin\/python3"/);
  const installed = launch(await planLaunch('fromEnvironment', [{ command: shimPython(), source: 'setting' }], REAL_BUNDLE));
  assert.deepEqual(installed.args, ['-P', '-m', 'shim_lsp']);
  // The server starts in the workspace folder: a workspace module named like the standard
  // library's (a json.py, Django's http/) must not be imported in its place, nor run.
  const folder = mkdtempSync(path.join(os.tmpdir(), 'shim-shadow-'));
  try {
    writeFileSync(path.join(folder, 'json.py'), 'raise SystemExit("the workspace\'s json.py ran")\n');
    const env = { ...process.env, SHIM_STATE_DIR: path.join(folder, 'state') };
    const ran = spawnSync(installed.choice.command, [...installed.args], { cwd: folder, env, input: '', encoding: 'utf8', timeout: 60_000 });
    assert.doesNotMatch(ran.stderr, /json\.py ran/);
    assert.equal(ran.status, 1, ran.stderr); // its client left before initialize
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('an importStrategy that is no strategy is a setting problem, listed with the server\'s', () => {
  assert.deepEqual(clientSettingProblems({ importStrategy: 'useBundled' }), []);
  assert.deepEqual(clientSettingProblems({}), []);
  assert.deepEqual(clientSettingProblems({ importStrategy: 'bundled' }), [
    'setting \'importStrategy\': "bundled" cannot be used (it must be "useBundled" or "fromEnvironment"); using the default, "useBundled"',
  ]);
});

test("the editor's own files (user settings) are not the user's work", () => {
  const userData = '/home/me/.local/share/code-server';
  assert.ok(isEditorUserData({ scheme: 'file', path: `${userData}/User/settings.json` }, userData));
  assert.ok(isEditorUserData({ scheme: 'file', path: `${userData}/Machine/settings.json` }, `${userData}/`));
  assert.ok(isEditorUserData({ scheme: 'vscode-userdata', path: '/User/settings.json' }, undefined));
  assert.ok(!isEditorUserData({ scheme: 'file', path: '/home/me/project/settings.json' }, userData));
  assert.ok(!isEditorUserData({ scheme: 'file', path: `${userData}-other/app.py` }, userData));
  assert.ok(!isEditorUserData({ scheme: 'file', path: '/home/me/app.py' }, '/'));
});
