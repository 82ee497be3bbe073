import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  chooseInterpreter,
  CLIENT_ONLY_KEYS,
  expandPath,
  explainStartFailure,
  installCommand,
  probe,
  RESTART_SETTINGS,
  serverSettings,
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
