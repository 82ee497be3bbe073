import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CLIENT_CAPABILITY, CLIENT_ONLY, Notification, REACHED_BY, ServerCommand, VsCommand } from '../../src/commands';
import { EDITOR_CLIENT, pythonTruth } from './truth';

const truth = pythonTruth();
const manifest = JSON.parse(readFileSync(path.join(EDITOR_CLIENT, 'package.json'), 'utf8'));

test("the extension's server command IDs are exactly the server's", () => {
  assert.deepEqual([...Object.values(ServerCommand)].sort(), [...truth.commands].sort());
});

test('notification names and the capability key match the server', () => {
  assert.equal(Notification.status, truth.notifications.status);
  assert.equal(Notification.recoveryAvailable, truth.notifications.recovery);
  assert.equal(Notification.riskAlarm, truth.notifications.risk);
  assert.equal(CLIENT_CAPABILITY, truth.capability);
});

test('every VS Code command is contributed once, titled "SHIM: ...", and none is unknown', () => {
  const contributed: { command: string; category: string; title: string }[] = manifest.contributes.commands;
  const ids = contributed.map((c) => c.command);
  assert.deepEqual([...ids].sort(), [...Object.values(VsCommand)].sort());
  assert.equal(new Set(ids).size, ids.length, 'no command contributed twice');
  for (const c of contributed) {
    assert.equal(c.category, 'SHIM', `${c.command} shows as "SHIM: ${c.title}"`);
    assert.ok(c.title.length > 0);
  }
});

test("no VS Code command ID is a server command ID: vscode-languageclient registers those", () => {
  const server = new Set<string>(Object.values(ServerCommand));
  const named = [
    ...Object.values(VsCommand),
    ...manifest.contributes.commands.map((c: { command: string }) => c.command),
    ...Object.values(manifest.contributes.menus as Record<string, { command: string }[]>).flat().map((e) => e.command),
    ...((manifest.contributes.keybindings ?? []) as { command: string }[]).map((k) => k.command),
  ];
  for (const id of named) {
    assert.ok(!server.has(id), `${id} is a server command ID`);
  }
});

test('every server command the user can reach has its VS Code command, shown in the palette or a menu', () => {
  const contributed = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
  const menus = manifest.contributes.menus as Record<string, { command: string; when?: string }[]>;
  const hidden = new Set(menus.commandPalette.filter((e) => e.when === 'false').map((e) => e.command));
  const inOtherMenus = new Set(
    Object.entries(menus)
      .filter(([menu]) => menu !== 'commandPalette')
      .flatMap(([, entries]) => entries.map((e) => e.command)),
  );
  assert.deepEqual(Object.keys(REACHED_BY).sort(), [...Object.values(ServerCommand)].sort());
  for (const [server, faces] of Object.entries(REACHED_BY)) {
    assert.equal(faces.length > 0, !CLIENT_ONLY.has(server as never), `${server} has a VS Code command, unless VS Code never runs it`);
    for (const face of faces) {
      assert.ok(contributed.has(face), `${face} (for ${server}) is contributed`);
      assert.ok(!hidden.has(face) || inOtherMenus.has(face), `${face} (for ${server}) is shown somewhere`);
    }
  }
});

test('commands that ask for input end in an ellipsis; the others do not', () => {
  const asks = new Set<string>([
    VsCommand.checkpointNow,
    VsCommand.recoverUnsavedWork,
    VsCommand.browseCheckpoints,
    VsCommand.compareWithCheckpoint,
    VsCommand.restoreFromCheckpoint,
    VsCommand.clearHistory,
    VsCommand.applyCodemod,
    VsCommand.reviewRecovery,
  ]);
  for (const c of manifest.contributes.commands as { command: string; title: string }[]) {
    assert.equal(c.title.endsWith('\u2026'), asks.has(c.command), `${c.command}: "${c.title}"`);
  }
  const titles = Object.fromEntries(manifest.contributes.commands.map((c: { command: string; title: string }) => [c.command, c.title]));
  assert.equal(titles[VsCommand.recoverUnsavedWork], 'Recover Unsaved Work\u2026');
  assert.equal(titles[VsCommand.clearHistory], 'Clear History\u2026');
});

test('the automatic checkpoint toggle shows its state: Pause when on, Resume when paused', () => {
  const palette = Object.fromEntries(manifest.contributes.menus.commandPalette.map((e: { command: string; when: string }) => [e.command, e.when]));
  assert.equal(palette[VsCommand.pauseAutoCheckpoints], '!shim.autoCheckpointPaused');
  assert.equal(palette[VsCommand.resumeAutoCheckpoints], 'shim.autoCheckpointPaused');
  assert.ok(!manifest.contributes.commands.some((c: { title: string }) => /Toggle/.test(c.title)), 'no toggle beside them');
});

test('menus name only contributed commands', () => {
  const ids = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
  for (const [menu, entries] of Object.entries(manifest.contributes.menus as Record<string, { command: string }[]>)) {
    for (const entry of entries) {
      assert.ok(ids.has(entry.command), `${menu} names ${entry.command}`);
    }
  }
});
