// shim.importStrategy in real VS Code: the server bundled in the .vsix on a Python that has
// nothing of SHIM, and fromEnvironment with SHIM installed in a venv and without it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as rig from './rig.mjs';

const shared = rig.useBrowser();
const ORIGINAL = 'a = 1\n';

/** The one SHIM server of this code-server, once it runs. */
async function theServer(codeServer) {
  return rig.waitFor('one SHIM server', async () => {
    const servers = await rig.shimServers(codeServer);
    return servers.length === 1 ? servers[0] : undefined;
  });
}

function importsShim(python, module = 'shim_lsp') {
  try {
    execFileSync(python, ['-I', '-c', `import ${module}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

rig.e2e('the bundled server runs on a Python without SHIM or its dependencies: status bar up, a checkpoint taken', async () => {
  // (Debian's python3-yaml may be there: the bundle's PyYAML goes first on sys.path, and the
  // unit test tests/unit/test_bundle.py imports the bundle with no site-packages at all.)
  for (const module of ['shim_lsp', 'pygls', 'lsprotocol', 'cattrs', 'libcst', 'zstandard', 'psutil', 'pebble']) {
    assert.equal(importsShim(rig.SERVER_PYTHON, module), false, `${rig.SERVER_PYTHON} has no ${module}`);
  }
  const { dirs, codeServer, page } = await rig.openShim(shared, { 'app.py': ORIGINAL }, { open: 'app.py' });
  const server = await theServer(codeServer);
  assert.match(server.args, new RegExp(`^${rig.SERVER_PYTHON} -I \\S+/extensions/shim-lsp\\.shim-[^/]+/bundled/tool/shim_server\\.py --stdio$`));

  await rig.typeAtEnd(page, "b = 'typed'\n");
  await rig.runCommand(page, 'SHIM: Force Checkpoint…');
  await rig.answer(page, 'SHIM: Force Checkpoint', 'bundled');
  await rig.toast(page, 'SHIM saved a checkpoint').filter({ hasText: '"bundled"' }).waitFor();
  await rig.waitFor('the status bar to show the checkpoint', async () => /SHIM: saved/.test(await rig.statusItem(page).innerText()));
  const checkpoints = await rig.shimCli(dirs, 'checkpoints');
  assert.ok(JSON.stringify(checkpoints).includes('bundled'), 'the store holds the named checkpoint');
  await rig.shot(page, 'bundled-server-checkpoint');

  // Isolated: nothing went into the user's site-packages (HOME is this test's own folder).
  assert.equal(existsSync(rig.path.join(dirs.home, '.local', 'lib')), false, 'no user site-packages written');
  assert.match(rig.vscodeLogs(dirs), /Starting SHIM: the bundled server, with \/usr\/bin\/python3 \(from setting; shim\.importStrategy useBundled\)/);
});

rig.e2e('fromEnvironment runs shim_lsp installed in a venv', async () => {
  assert.ok(importsShim(rig.PYTHON), `${rig.PYTHON} has SHIM installed`);
  const { codeServer, page } = await rig.openShim(shared, { 'app.py': ORIGINAL }, {
    open: 'app.py',
    machineSettings: { 'shim.server.pythonPath': rig.PYTHON, 'shim.importStrategy': 'fromEnvironment' },
  });
  const server = await theServer(codeServer);
  assert.equal(server.args, `${rig.PYTHON} -P -m shim_lsp --stdio`);
  assert.equal(await rig.toast(page, 'shim_lsp is not installed').count(), 0, 'no fallback message');
  await rig.typeAtEnd(page, "b = 'typed'\n");
  await rig.runCommand(page, 'SHIM: Force Checkpoint…');
  await rig.answer(page, 'SHIM: Force Checkpoint', 'from the venv');
  await rig.toast(page, 'SHIM saved a checkpoint').filter({ hasText: '"from the venv"' }).waitFor();
});

rig.e2e('fromEnvironment without shim_lsp in that Python falls back to the bundled server, and says so', async () => {
  assert.equal(importsShim(rig.SERVER_PYTHON), false);
  const { codeServer, page } = await rig.openShim(shared, { 'app.py': ORIGINAL }, {
    open: 'app.py',
    machineSettings: { 'shim.importStrategy': 'fromEnvironment' },
  });
  const notice = rig.toast(page, 'shim_lsp is not installed for');
  await notice.waitFor({ timeout: 60_000 });
  assert.match(
    await notice.innerText(),
    /shim_lsp is not installed for "\/usr\/bin\/python3": SHIM runs its bundled server instead \(shim\.importStrategy is fromEnvironment\)\./,
  );
  await rig.shot(page, 'bundled-fallback-message');
  const server = await theServer(codeServer);
  assert.match(server.args, /^\/usr\/bin\/python3 -I \S+\/bundled\/tool\/shim_server\.py --stdio$/);
  assert.match(await rig.statusItem(page).innerText(), /SHIM: (protected|saved)/);
});

rig.e2e('the .vsix holds the bundle for its target and every CPython it names', async () => {
  const dirs = await rig.makeHome({ 'app.py': ORIGINAL });
  const [installed] = readdirSync(dirs.extensions).filter((d) => d.startsWith('shim-lsp.shim-'));
  const bundled = rig.path.join(dirs.extensions, installed, 'bundled');
  const manifest = rig.readJson(rig.path.join(bundled, 'manifest.json'));
  assert.equal(manifest.target, 'linux-x64');
  assert.deepEqual(readdirSync(rig.path.join(bundled, 'libs')).sort(), ['common', ...manifest.abis].sort());
  assert.deepEqual(manifest.abis, ['cp311', 'cp312', 'cp313']);
});
