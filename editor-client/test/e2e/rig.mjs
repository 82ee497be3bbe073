// Real VS Code for the end-to-end tests: code-server (VS Code 1.100.3) on loopback, driven by
// Playwright in Debian's Chromium. Facts behind each choice: README.md beside this file
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const EDITOR_CLIENT = path.resolve(here, '..', '..');
export const REPO = path.resolve(EDITOR_CLIENT, '..');
const CODE_SERVER = path.join(here, 'node_modules', '.bin', 'code-server');
export const VSIX = path.join(EDITOR_CLIENT, 'shim.vsix');
const CHROMIUM = process.env.SHIM_E2E_CHROMIUM ?? '/usr/bin/chromium';
export const PYTHON = process.env.SHIM_PYTHON ?? path.join(REPO, '.venv', 'bin', 'python');
/**
 * The interpreter that runs SHIM's server in VS Code: Debian's Python, which has neither SHIM
 * nor any of its dependencies, so the server that runs is the one bundled in the .vsix
 * (shim.importStrategy useBundled, the default). PYTHON, with SHIM installed, runs the CLI
 * that reads the store, and the server in the fromEnvironment tests.
 */
export const SERVER_PYTHON = process.env.SHIM_E2E_SERVER_PYTHON ?? '/usr/bin/python3';

/** Wait for a condition, polling; fails with `what` when it is not met in time. */
export async function waitFor(what, check, timeoutMs = 30_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) {
        return value;
      }
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * A fresh VS Code home: workspace folder, SHIM state, user data, extensions with SHIM installed.
 * `editorBackups: false` leaves VS Code no place for its own copies of unsaved editors (hot
 * exit), as when a crash takes them: what comes back then comes from SHIM.
 */
export async function makeHome(files, settings = {}, { editorBackups = true, keybindings = [] } = {}) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'shim-e2e-'));
  homes.push(root);
  const dirs = {
    root,
    workspace: path.join(root, 'ws'),
    state: path.join(root, 'state'),
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    home: path.join(root, 'home'),
    tmp: path.join(root, 'tmp'),
  };
  for (const dir of Object.values(dirs)) {
    mkdirSync(dir, { recursive: true });
  }
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(path.join(dirs.workspace, name), text);
  }
  mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  if (!editorBackups) {
    writeFileSync(path.join(dirs.userData, 'User', 'Backups'), 'VS Code keeps no backups in this test\n');
  }
  writeUserSettings(dirs, settings);
  writeFileSync(path.join(dirs.userData, 'User', 'keybindings.json'), JSON.stringify(keybindings, null, 2));
  writeMachineSettings(dirs);
  installExtension(await installedOnce(), dirs.extensions);
  return dirs;
}

let installed;

/** The homes made by the running test: removed when it passes, kept (with screenshots) when not. */
const homes = [];

/**
 * The .vsix installed by code-server (`--install-extension`, as a user installs it) once per
 * build of it, for every test file of the run: a folder named after the .vsix's hash, which
 * each home gets a copy of. Installing costs seconds, and so does the bundled server's first
 * start, which compiles its modules: they are compiled here once, as a user's second start
 * finds them (a first start's import from sources is tests/unit/test_bundle.py's).
 */
function installedOnce() {
  installed ??= (async () => {
    const key = createHash('sha256').update(readFileSync(VSIX)).digest('hex').slice(0, 16);
    const ready = path.join(os.tmpdir(), `shim-e2e-vsix-${key}`);
    if (!existsSync(path.join(ready, 'ready'))) {
      const dirs = { root: mkdtempSync(path.join(os.tmpdir(), 'shim-e2e-install-')) };
      for (const name of ['extensions', 'userData', 'home', 'tmp', 'state']) {
        dirs[name] = path.join(dirs.root, name);
        mkdirSync(dirs[name], { recursive: true });
      }
      await run(CODE_SERVER, ['--extensions-dir', dirs.extensions, '--user-data-dir', dirs.userData, '--install-extension', VSIX], {
        env: envFor(dirs),
      });
      await run(SERVER_PYTHON, ['-I', '-c', COMPILE_BUNDLE, bundledDir(dirs.extensions)]);
      writeFileSync(path.join(dirs.root, 'ready'), `${VSIX}\n`);
      forgetOldInstalls();
      try {
        renameSync(dirs.root, ready);
      } catch {
        rmSync(dirs.root, { recursive: true, force: true }); // another run's install came first
      }
    }
    return path.join(ready, 'extensions');
  })();
  return installed;
}

/** The bundled server's modules compiled by the Python that runs it: its ABI's and the shared ones. */
const COMPILE_BUNDLE = `
import compileall, pathlib, sys
root = pathlib.Path(sys.argv[1])
abi = f"cp{sys.version_info[0]}{sys.version_info[1]}"
for part in ("libs/common", f"libs/{abi}", "tool"):
    if (root / part).is_dir():
        compileall.compile_dir(str(root / part), quiet=2, workers=0)
`;

function bundledDir(extensions) {
  const [shim] = readdirSync(extensions).filter((d) => d.startsWith('shim-lsp.shim-'));
  return path.join(extensions, shim, 'bundled');
}

/** Installs of earlier builds of the .vsix, a day old: the runs that used them are over. */
function forgetOldInstalls() {
  for (const name of readdirSync(os.tmpdir()).filter((n) => n.startsWith('shim-e2e-vsix-'))) {
    const dir = path.join(os.tmpdir(), name);
    if (Date.now() - statSync(dir).mtimeMs > 86_400_000) {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/**
 * A copy of the installed extensions, with code-server's list of them pointing at it. The
 * bundled server (70 MB, read only) is hard-linked, not copied: what a server writes there
 * (compiled modules) is new files in the home's own folders.
 */
function installExtension(from, to) {
  const bundled = bundledDir(from);
  cpSync(from, to, { recursive: true, filter: (source) => source !== bundled });
  execFileSync('cp', ['-al', bundled, path.join(to, path.relative(from, bundled))]);
  const list = path.join(to, 'extensions.json');
  writeFileSync(list, readFileSync(list, 'utf8').split(from).join(to));
}

/** VS Code's user settings for this home: quiet, offline, deterministic, plus `settings`. */
export function writeUserSettings(dirs, settings = {}) {
  writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify(userSettings(settings), null, 2));
}

/** Change the user settings as a user does: in VS Code's settings.json editor, then save. */
export async function editUserSettings(page, settings) {
  await runCommand(page, 'Preferences: Open User Settings (JSON)');
  await page.locator('.tab.active', { hasText: 'settings.json' }).waitFor();
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(JSON.stringify(userSettings(settings)));
  await page.keyboard.press('Control+S');
  await page.locator('.tab.active:not(.dirty)', { hasText: 'settings.json' }).waitFor();
  await page.keyboard.press('Control+W');
}

function userSettings(settings) {
  return (
      {
        'security.workspace.trust.enabled': false,
        'workbench.startupEditor': 'none',
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        // Unsaved stays unsaved: VS Code neither saves nor keeps its own copy on the way out.
        'files.autoSave': 'off',
        'files.hotExit': 'off',
        'editor.autoClosingBrackets': 'never',
        'editor.autoClosingQuotes': 'never',
        'editor.autoIndent': 'none',
        'editor.acceptSuggestionOnEnter': 'off',
        'editor.quickSuggestions': { other: false, comments: false, strings: false },
        // Nothing repaints on its own: a blinking cursor and animations keep headless
        // Chromium's software rendering busy on two cores shared with the servers under test.
        'editor.cursorBlinking': 'solid',
        'workbench.reduceMotion': 'on',
        ...settings,
      }
  );
}

/**
 * The remote machine's settings (code-server's "Remote" settings): where a remote window takes
 * machine-scoped settings from, such as the interpreter that runs SHIM's server.
 */
export function writeMachineSettings(dirs, settings = {}) {
  mkdirSync(path.join(dirs.userData, 'Machine'), { recursive: true });
  writeFileSync(
    path.join(dirs.userData, 'Machine', 'settings.json'),
    JSON.stringify({ 'shim.server.pythonPath': SERVER_PYTHON, ...settings }, null, 2),
  );
}

function envFor(dirs) {
  return {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: path.join(dirs.home, '.config'),
    XDG_DATA_HOME: path.join(dirs.home, '.local', 'share'),
    TMPDIR: dirs.tmp,
    SHIM_STATE_DIR: dirs.state,
  };
}

const started = [];

/**
 * Ctrl+. as a user presses it, until the menu offers `title`; returns that row. VS Code asks
 * for the line's actions when the cursor or the diagnostics change: pressed before SHIM's
 * answer arrives, it says "No code actions available", and on a loaded machine the light bulb
 * was once not drawn at all although the actions were there. So: wait a little for the light
 * bulb, then press, and press again (after Escape) while the row is not offered.
 */
export async function quickFix(page, title, timeoutMs = 30_000) {
  // In the gutter (codicon-light-bulb, or codicon-lightbulb-autofix with a preferred fix) or
  // beside the text (.lightBulbWidget).
  const bulb = '.editor-instance [class*="codicon-light-bulb"], .editor-instance [class*="codicon-lightbulb"], .editor-instance .lightBulbWidget';
  await page.locator(`${bulb} >> visible=true`).first().waitFor({ timeout: 5_000 }).catch(() => undefined);
  const row = page.locator('.action-widget .monaco-list-row', { hasText: title }).first();
  return waitFor(`"${title}" among the quick fixes`, async () => {
    await page.keyboard.press('Control+.');
    try {
      await row.waitFor({ timeout: 3_000 });
      return row;
    } catch (error) {
      await page.keyboard.press('Escape');
      throw error;
    }
  }, timeoutMs, 200);
}

/** Choose the quick fix `title` from the menu, as a user does with the arrow keys and Enter. */
export async function chooseQuickFix(page, title) {
  await quickFix(page, title);
  const focused = page.locator('.action-widget .monaco-list-row.focused');
  for (let i = 0; i < 10 && !(await focused.innerText()).includes(title); i++) {
    await page.keyboard.press('ArrowDown');
  }
  assert.ok((await focused.innerText()).includes(title), `"${title}" is chosen`);
  await page.keyboard.press('Enter');
}

/** Stop every code-server this test file started (and the SHIM servers under them). */
export function stopAll() {
  for (const codeServer of started.splice(0)) {
    codeServer.stop();
  }
}

/** code-server in its own process group, so that stopping it stops the servers it started. */
export async function startCodeServer(dirs, { folder = true } = {}) {
  const port = await freePort();
  const log = [];
  const child = spawn(
    CODE_SERVER,
    [
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--extensions-dir',
      dirs.extensions,
      '--user-data-dir',
      dirs.userData,
      ...(folder ? [dirs.workspace] : []),
    ],
    { env: envFor(dirs), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  const url = `http://127.0.0.1:${port}`;
  const handle = {
    url,
    pid: child.pid,
    log,
    stop() {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
  started.push(handle);
  await waitFor('code-server to answer /healthz', async () => (await fetch(`${url}/healthz`)).ok, 60_000, 200);
  return handle;
}

/**
 * A redis-server of the test's own on a free loopback port, saving nothing (as
 * tests/e2e/redis_rig.py starts them); stopped by its pid with the test's code-servers, passed
 * or not. Ready when it says so on its log.
 */
export async function startRedis() {
  const port = await freePort();
  const log = [];
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', os.tmpdir(), '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  let exited = null;
  child.on('exit', (code, signal) => (exited = signal ?? code));
  child.on('error', (error) => (exited = error.message));
  started.push({
    stop() {
      if (exited === null) {
        child.kill('SIGKILL');
      }
    },
  });
  await waitFor(`redis-server on port ${port} to accept connections`, () => {
    if (exited !== null) {
      throw new Error(`redis-server ended (${exited}): ${log.join('').slice(-500)}`);
    }
    return /Ready to accept connections/.test(log.join(''));
  }, 10_000, 50);
  return { url: `redis://127.0.0.1:${port}/0`, port, pid: child.pid };
}

/** Processes of code-server's group whose command line runs SHIM's server (bundled or not). */
export async function shimServerPids(codeServer) {
  return (await shimServers(codeServer)).map((s) => s.pid);
}

/** SHIM's servers in code-server's group, with their command lines. */
export async function shimServers(codeServer) {
  // -ww: the whole command line, however long the bundle's path (ps may cut it otherwise).
  const { stdout } = await run('ps', ['-ww', '-eo', 'pid=,pgid=,args=']);
  return stdout
    .split('\n')
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((m) => m && Number(m[2]) === codeServer.pid && /-m shim_lsp\b|shim_server\.py\b/.test(m[3]))
    .map((m) => ({ pid: Number(m[1]), args: m[3] }));
}

/** SHIM's own CLI on this home's store, as JSON (what the store holds, not what is shown). */
export async function shimCli(dirs, ...args) {
  const { stdout } = await run(PYTHON, ['-m', 'shim_lsp.cli', ...args, '--json', '--workspace', dirs.workspace, '--state-dir', dirs.state]);
  return JSON.parse(stdout);
}

/** The newest text SHIM's journal holds for a workspace file (what it could bring back). */
export async function journaledText(dirs, name) {
  const file = path.join(dirs.workspace, name);
  const instants = await shimCli(dirs, 'history', file);
  if (instants.length === 0) {
    return undefined;
  }
  const newest = instants.reduce((a, b) => (b.at > a.at ? b : a));
  return (await shimCli(dirs, 'history', file, '--at', `${newest.session}:${newest.instant}`)).text;
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Open the workbench on the workspace and wait until the explorer shows its files. */
/** Every workbench page opened, for screenshots when a test fails. */
export const pages = [];

export async function openWorkbench(browser, codeServer, dirs, { folder = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  pages.push({ page, dirs });
  if (!folder) {
    // A window with no folder: ready when the status bar is.
    await page.goto(`${codeServer.url}/?ew=true`);
    await page.locator('.statusbar').waitFor({ timeout: 60_000 });
    return page;
  }
  await page.goto(`${codeServer.url}/?folder=${encodeURIComponent(dirs.workspace)}`);
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
  return page;
}

/**
 * Run a command from the command palette by its title. A quick pick that opened late (a
 * status bar click's answer) can take F1's place and filter the title away: then Escape and
 * press F1 again, as a user would.
 */
export async function runCommand(page, title) {
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await waitFor(`"${title}" in the command palette`, async () => {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ timeout: 5_000 });
      await input.fill(`>${title}`);
      await row.waitFor({ timeout: 5_000 });
      return true;
    } catch (error) {
      await page.keyboard.press('Escape');
      throw error;
    }
  }, 30_000, 200);
  await page.keyboard.press('Enter');
}

/** The rows of the open quick pick, as shown. */
export async function quickPickRows(page) {
  return page.locator('.quick-input-widget .monaco-list-row').allInnerTexts();
}

/** Choose the quick pick row showing `text` (typed to filter, then Enter). */
export async function pick(page, text) {
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first().waitFor();
  await page.locator('.quick-input-widget input').fill(text);
  await page.keyboard.press('Enter');
}

/** Answer the input box titled `title`: wait for that very box, then type and confirm. */
export async function answer(page, title, value) {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor();
  await page.locator('.quick-input-widget input').fill(value);
  await page.keyboard.press('Enter');
}

export async function openFile(page, name) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(name);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator(`.tab.active:has-text("${name}")`).waitFor();
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
}

/** The text of the active editor as VS Code shows it (lines joined by \n); in a diff
 * editor, `side` picks 'original' (left) or 'modified' (right). */
export async function editorText(page, side) {
  return page.evaluate((side) => {
    const scope = side ? `.editor-instance .monaco-diff-editor .editor.${side}` : '.editor-instance .monaco-editor';
    const lines = [...document.querySelectorAll(`${scope} .view-lines .view-line`)];
    return lines
      .map((l) => ({ top: parseFloat(l.style.top), text: l.textContent.replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text)
      .join('\n');
  }, side);
}

/** Type at the end of the active editor, as a user would. */
export async function typeAtEnd(page, text) {
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text);
}

/** A notification toast containing `text`. */
export function toast(page, text) {
  return page.locator('.notification-toast', { hasText: text });
}

/** Close a toast with its X, shown only under the pointer; one already hidden is left alone. */
export async function dismissToast(toast) {
  if (!(await toast.isVisible())) return;
  await toast.hover();
  await toast.locator('.codicon-notifications-clear').click({ timeout: 5_000 });
}

/** Close the window the way a user does; SHIM's server goes with its extension host. */
export async function closeWindow(page, codeServer) {
  await page.context().close();
  await waitFor("the window's SHIM server to end", async () => (await shimServerPids(codeServer)).length === 0);
}


export function statusItem(page) {
  return page.locator('.statusbar-item[id*="shim.status"]');
}

/** The lasting "Recover 2 files" item, there while crashed work waits. */
export function recoveryItem(page) {
  return page.locator('.statusbar-item[id*="shim.recovery"]');
}

/** Every log VS Code wrote for this home (extension host, SHIM's output channel, ...), joined. */
export function vscodeLogs(dirs) {
  const logs = path.join(dirs.userData, 'logs');
  if (!existsSync(logs)) {
    return '';
  }
  return readdirSync(logs, { recursive: true })
    .map((name) => path.join(logs, String(name)))
    .filter((file) => file.endsWith('.log') && statSync(file).isFile())
    .map((file) => `== ${path.relative(logs, file)}\n${readFileSync(file, 'utf8')}`)
    .join('\n');
}

export function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

export { existsSync, path };

/** Screenshots of the pages still open, beside the test's files; returns their paths. */
export async function screenshots(label) {
  const taken = [];
  for (const [i, { page, dirs }] of pages.entries()) {
    if (!page.isClosed()) {
      const file = path.join(dirs.root, `${label.replace(/\W+/g, '-').slice(0, 60)}-${i}.png`);
      await page.screenshot({ path: file }).then(() => taken.push(file), () => undefined);
    }
  }
  return taken;
}

/**
 * Where the screenshot of each screen is kept (test artefacts, not in git); `off` takes none
 * (scripts/test: nobody looks at a passing run's, and each costs the two cores most of a
 * second). A failing test's windows are kept either way.
 */
export const SHOTS = process.env.SHIM_E2E_SHOTS ?? path.join(here, 'screenshots');

/** Keep a screenshot of what the user sees now, as `<name>.png` in SHOTS; returns its path. */
export async function shot(page, name) {
  if (SHOTS === 'off') {
    return undefined;
  }
  mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.waitForTimeout(300); // let the workbench finish painting (hover, animations)
  await page.screenshot({ path: file });
  return file;
}

const TEST_TIMEOUT = 240_000;

/**
 * A test in real VS Code: on failure, screenshots of its windows are kept and named. Its
 * windows and code-servers (with the SHIM servers under them) end with it: idle workbenches
 * left open still paint and poll, and slowed the tests after them. Its homes go when it passes.
 */
export function e2e(name, body, skip = undefined) {
  test(name, { timeout: TEST_TIMEOUT, skip }, async () => {
    let passed = false;
    try {
      await body();
      passed = true;
    } catch (error) {
      const shots = await screenshots(name);
      error.message += `\nscreenshots: ${shots.join(', ')}`;
      throw error;
    } finally {
      await Promise.all(pages.splice(0).map(({ page }) => page.context().close().catch(() => undefined)));
      stopAll();
      for (const root of homes.splice(0)) {
        if (passed) {
          rmSync(root, { recursive: true, force: true, maxRetries: 3 });
        }
      }
    }
  });
}

/** One headless Chromium for a test file, closed with every code-server it started. */
export function useBrowser() {
  const shared = {};
  before(async () => {
    shared.browser = await launchBrowser();
  });
  after(async () => {
    await shared.browser?.close();
    stopAll();
  });
  return shared;
}

/**
 * A workspace open in VS Code with SHIM running in it: files written, code-server started,
 * the workbench shown (with `open` in an editor) and SHIM's status bar item up.
 * `machineSettings` go with the machine's defaults (see writeMachineSettings).
 */
export async function openShim(shared, files, { settings, machineSettings, editorBackups, keybindings, open } = {}) {
  const dirs = await makeHome(files, settings, { editorBackups, keybindings });
  if (machineSettings) {
    writeMachineSettings(dirs, machineSettings);
  }
  const codeServer = await startCodeServer(dirs);
  const page = await openWorkbench(shared.browser, codeServer, dirs);
  if (open) {
    await openFile(page, open);
  }
  await waitFor('the SHIM status bar item', async () => /SHIM: (protected|saved)/.test(await statusItem(page).innerText()), 60_000);
  return { dirs, codeServer, page };
}
