import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CLIENT_CAPABILITY, ClientCommand, Notification, ServerCommand } from '../../src/commands';
import { CLIENT_ONLY_KEYS } from '../../src/settings';
import { EDITOR_CLIENT, pythonTruth } from './truth';

const truth = pythonTruth();
const manifest = JSON.parse(readFileSync(path.join(EDITOR_CLIENT, 'package.json'), 'utf8'));

test("the extension's server command IDs are exactly the server's", () => {
  assert.deepEqual([...Object.values(ServerCommand)].sort(), [...truth.commands].sort());
});

test('notification names and the capability key match the server', () => {
  assert.equal(Notification.status, truth.notifications.status);
  assert.equal(Notification.recoveryAvailable, truth.notifications.recovery);
  assert.equal(CLIENT_CAPABILITY, truth.capability);
});

test('every command is contributed once, titled "SHIM: ...", and none is unknown', () => {
  const contributed: { command: string; category: string; title: string }[] = manifest.contributes.commands;
  const ids = contributed.map((c) => c.command);
  assert.deepEqual([...ids].sort(), [...Object.values(ServerCommand), ...Object.values(ClientCommand)].sort());
  assert.equal(new Set(ids).size, ids.length, 'no command contributed twice');
  for (const c of contributed) {
    assert.equal(c.category, 'SHIM', `${c.command} shows as "SHIM: ${c.title}"`);
    assert.ok(c.title.length > 0);
  }
});

test('menus name only contributed commands', () => {
  const ids = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
  for (const [menu, entries] of Object.entries(manifest.contributes.menus as Record<string, { command: string }[]>)) {
    for (const entry of entries) {
      assert.ok(ids.has(entry.command), `${menu} names ${entry.command}`);
    }
  }
});

const JSON_TYPE: Record<string, unknown> = {
  "<class 'bool'>": 'boolean',
  "<class 'int'>": 'integer',
  "<class 'float'>": 'number',
  'list[str]': 'array',
  'str | None': ['string', 'null'],
};

test("contributes.configuration has the server's settings: names, types and defaults", () => {
  const properties: Record<string, { type: unknown; default: unknown; description?: string; markdownDescription?: string }> =
    manifest.contributes.configuration.properties;
  const serverKeys = Object.keys(properties)
    .map((k) => k.replace(/^shim\./, ''))
    .filter((k) => !CLIENT_ONLY_KEYS.includes(k.split('.')[0]));
  assert.deepEqual(serverKeys.sort(), Object.keys(truth.settings).sort());
  for (const [name, { default: value, type }] of Object.entries(truth.settings)) {
    const property = properties[`shim.${name}`];
    assert.deepEqual(property.default, value, `default of shim.${name}`);
    assert.deepEqual(property.type, JSON_TYPE[type], `type of shim.${name}`);
  }
  for (const [key, property] of Object.entries(properties)) {
    assert.ok((property.description ?? property.markdownDescription ?? '').length > 20, `${key} is documented`);
  }
});
